"""A tiny shared record kind that only the tests register: a note, written against ``exchange.records``.

It shows what a new kind is: a table, a content schema, its declaration and its own rules; the lifecycle
(release, versions, withdrawal, what peers send) is the exchange's. Call ``install(node)`` on each node.
"""
