"""The privacy center: where a person exercises their rights, follows a request and sends a requested document."""
