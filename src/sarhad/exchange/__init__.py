"""The exchange between nodes: envelopes, links, receipts, delivery and the verifiable ledger.

``protocol`` is the pure, I/O-free cryptographic core (formats, hashing, signing, verification);
``ledger`` verifies an exported ledger file offline. Everything that touches a database or the network is
built on top of these two, one module per concern:

- ``peers``: pairing with a peer, its keys, the state of each link;
- ``identity`` and ``rotation``: this node's signing key, and announcing a new one (or taking in a peer's);
- ``release`` and ``outbox``: the originator's releases, later versions and withdrawals, signed into the
  outbox in the caller's transaction;
- ``receive`` and ``inbox``: a peer's batch checked, verified and accepted in order, each record applied by
  its kind or quarantined; ``receipts``: issuing and accepting signed receipts;
- ``alerts``: alerts and the quarantine; ``refusals``: the protocol's refusals by status;
- ``delivery`` (the worker), ``transport`` (HTTP), ``api``, ``pages``, ``cli``, ``joint`` (joint records).

The wire formats are specified in ``docs/exchange-protocol.md``.
"""
