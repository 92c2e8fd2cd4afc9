"""Helpers shared by the tests (importable as ``support``: tests/ is on sys.path through tests/conftest.py)."""
