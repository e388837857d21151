"""Subsystem adapters (CRM, recruitment, newsletter), the adapter protocol and the task runtime."""
