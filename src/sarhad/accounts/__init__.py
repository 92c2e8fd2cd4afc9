"""Users, roles, positions (duty posts), sessions and tokens."""
