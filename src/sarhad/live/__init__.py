"""Live events for signed-in users: a per-node event bus, persisted for replay, streamed as Server-Sent Events."""
