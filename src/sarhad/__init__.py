"""sarhad: a federated platform for cross-border security cooperation between neighbouring states."""

__version__ = "0.1.0"
