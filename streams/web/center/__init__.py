"""The privacy center: where a person exercises their rights, confirms, follows and withdraws a request, and sends a
requested document."""
