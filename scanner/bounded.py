"""Bounded memos: the few shapes in which stages remember what they made, so as not to make it
again, each with a bound, so memory stays flat however long the list.

- ``Bounded``: a dict emptied when full. For memos whose values are cheap to make again:
  a hit costs a plain dict lookup, nothing is kept per entry for the order of use.
- ``Lru``: the least recently used entry dropped first. For values that are costly to make
  again (a shared object fetched from the store) or that hot keys must keep.
- ``HeldById``: a value per live object, by identity, the object held while remembered so its
  ``id`` cannot be reused meanwhile (a probe shared by many domains is one object: its view or
  its judgement is found without hashing its content).
- ``WeakById``: the same with weak references, for objects the memo must not keep alive.
- ``SecondSight``: whether a key is met a second time. Memos of report pieces remember only
  those: the first time only the key's hash is noted (an int, which holds nothing), so the
  many pieces that belong to one domain are not held for the garbage collector to track.

Forgetting is always safe: a forgotten value is made again, equal to the first.
"""
from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

_MISSING = object()


class Bounded(dict):
    """A dict of at most ``limit`` entries (through ``keep``), emptied when full."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def keep(self, key: Hashable, value: Any) -> Any:
        """Remember ``value`` under ``key`` (emptying the memo first if it is full and ``key``
        is new); returns ``value``."""
        if len(self) >= self.limit and key not in self:
            self.clear()
        self[key] = value
        return value


class Lru(OrderedDict):
    """At most ``limit`` entries (through ``keep``), the least recently used dropped first;
    ``hit`` is a lookup that counts as a use."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def hit(self, key: Hashable, default: Any = None) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            return default
        self.move_to_end(key)
        return value

    def keep(self, key: Hashable, value: Any) -> Any:
        self[key] = value
        self.move_to_end(key)
        if len(self) > self.limit:
            self.popitem(last=False)
        return value


class HeldById:
    """A value per live object, by identity; the object is held while remembered, so its id
    stays its own. At most ``limit`` objects, emptied when full. Two maps rather than one of
    (object, value) pairs: remembering allocates no container for the garbage collector."""

    __slots__ = ("limit", "_held", "_values")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held: dict[int, Any] = {}
        self._values: dict[int, Any] = {}

    def get(self, obj: Any, default: Any = None) -> Any:
        key = id(obj)
        return self._values[key] if self._held.get(key, _MISSING) is obj else default

    def put(self, obj: Any, value: Any) -> Any:
        """Remember ``value`` for ``obj``; returns ``value``."""
        key = id(obj)
        if len(self._held) >= self.limit and key not in self._held:
            self.clear()
        self._held[key] = obj
        self._values[key] = value
        return value

    def __len__(self) -> int:
        return len(self._held)

    def clear(self) -> None:
        self._held.clear()
        self._values.clear()

    def held(self) -> list[Any]:
        """The objects remembered (tests)."""
        return list(self._held.values())


class WeakById:
    """A value per live object, by identity, with a weak reference that drops the entry when
    the object dies (so an id cannot be reused under it). At most ``limit`` entries, emptied
    when full. Objects without weak references are not remembered."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._entries: dict[int, tuple[weakref.ref, Any]] = {}

    def get(self, obj: Any, default: Any = None) -> Any:
        hit = self._entries.get(id(obj))
        return hit[1] if hit is not None and hit[0]() is obj else default

    def put(self, obj: Any, value: Any) -> Any:
        entries, key = self._entries, id(obj)
        if len(entries) >= self.limit:
            entries.clear()

        def gone(ref: weakref.ref) -> None:
            entry = entries.get(key)
            if entry is not None and entry[0] is ref:
                del entries[key]
        try:
            entries[key] = (weakref.ref(obj, gone), value)
        except TypeError:     # a class without weak references
            pass
        return value

    def __len__(self) -> int:
        return len(self._entries)


class SecondSight:
    """``seen(h)``: whether the int ``h`` (a key's hash, an object's id) was noted before;
    notes it if not. At most ``limit`` notes, emptied when full. A hash shared by two keys
    only means a piece is remembered sooner."""

    __slots__ = ("limit", "_met")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._met: set[int] = set()

    def seen(self, h: int) -> bool:
        met = self._met
        if h in met:
            return True
        if len(met) >= self.limit:
            met.clear()
        met.add(h)
        return False

    def __len__(self) -> int:
        return len(self._met)

    def __contains__(self, h: int) -> bool:
        return h in self._met
