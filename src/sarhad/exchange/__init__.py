"""The exchange between nodes: envelopes, links, receipts, delivery and the verifiable ledger.

``protocol`` is the pure, I/O-free cryptographic core (formats, hashing, signing, verification);
``ledger`` verifies an exported ledger file offline. Everything that touches a database or the network is
built on top of these two modules. The wire formats are specified in ``docs/exchange-protocol.md``.
"""
