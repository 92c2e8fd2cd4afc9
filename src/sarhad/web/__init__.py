"""Layout, templates, static files and the access-control dependencies shared by all pages and APIs."""
