"""Border line, sections, posts, crossings, markets and fence segments."""
