"""What a running node holds beside its settings and database, keyed by type.

A package puts one object of its own class here (the identity store, the live hub, a worker's wake-up) and
reads it back typed, with no string keys and no ``isinstance`` asserts: ``node.components.get(Hub)`` is a
``Hub | None``. One object per class; the class is the key.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Components:
    """A registry of one object per class, safe to use from several threads."""

    def __init__(self) -> None:
        self._items: dict[type[Any], Any] = {}
        self._lock = threading.Lock()

    def get(self, kind: type[T]) -> T | None:
        """The object registered for ``kind``, or None."""
        found = self._items.get(kind)
        return found if found is None or isinstance(found, kind) else None

    def put(self, item: T, kind: type[T] | None = None) -> T:
        """Register ``item`` under its own class (or ``kind``), replacing what was there; returns it."""
        with self._lock:
            self._items[kind or type(item)] = item
        return item

    def setdefault(self, kind: type[T], factory: Callable[[], T]) -> T:
        """The object registered for ``kind``; made by ``factory`` and registered if there is none yet."""
        with self._lock:
            found = self._items.get(kind)
            if found is None:
                found = self._items[kind] = factory()
            return found

    def pop(self, kind: type[T]) -> T | None:
        """Remove and return the object registered for ``kind`` (None if there was none)."""
        with self._lock:
            found = self._items.pop(kind, None)
        return found if found is None or isinstance(found, kind) else None
