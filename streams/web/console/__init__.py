"""The DPO console on the admin listener: personal logins, cases and decisions, parked mail, dead letters, systems."""
