"""Liaison bulletins: short notices between liaison desks, the first record kind shared over the exchange."""
