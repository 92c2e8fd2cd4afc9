"""The officer's screen beyond the feature pages: the alert banner on every page, the home dashboard."""
