"""Requests to the other side: for information or for action on an incident, with a deadline and an answer."""
