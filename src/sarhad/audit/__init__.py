"""The append-only audit log: every login, sensitive read, change and release."""
