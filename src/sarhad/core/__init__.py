"""Cross-cutting infrastructure: settings, database, errors, ids, clock, calendars, i18n, security."""
