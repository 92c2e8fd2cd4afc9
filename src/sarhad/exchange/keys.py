"""This node's signing identity: the Ed25519 key file in the data directory, and its rotation."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sarhad.core.settings import Settings
from sarhad.exchange import protocol


@dataclass(frozen=True)
class Identity:
    party: str
    private_key: Ed25519PrivateKey
    public_key: Ed25519PublicKey
    public_key_b64: str
    fingerprint: str


def write_key_file(path: Path, key: Ed25519PrivateKey) -> None:
    """Write a private key atomically, readable by the owner only."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(protocol.private_key_to_pem(key))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def create_node_key(settings: Settings) -> str:
    """Create the node's first signing key (``sarhad init``); return its fingerprint."""
    if settings.key_path.exists():
        raise FileExistsError(f"{settings.key_path} exists; a node's key is replaced only by rotation")
    key = protocol.generate_private_key()
    write_key_file(settings.key_path, key)
    return protocol.fingerprint(key.public_key())


class IdentityStore:
    """Loads the signing key and reloads it when the file changes (after ``sarhad keys rotate``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._identity: Identity | None = None

    def current(self) -> Identity:
        path = self.settings.key_path
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError as exc:
            raise RuntimeError(f"signing key {path} is missing; a node cannot sign without it") from exc
        with self._lock:
            if self._identity is None or mtime != self._mtime:
                key = protocol.private_key_from_pem(path.read_bytes())
                public = key.public_key()
                self._identity = Identity(
                    party=self.settings.party,
                    private_key=key,
                    public_key=public,
                    public_key_b64=protocol.public_key_b64(public),
                    fingerprint=protocol.fingerprint(public),
                )
                self._mtime = mtime
            return self._identity

    def archive_dir(self) -> Path:
        folder = self.settings.data_dir / "retired-keys"
        folder.mkdir(exist_ok=True, mode=0o700)
        return folder
