"""Run each keyed coroutine once per scan and share its result: the DNS cache and the probe
cache are both this. Bounded LRU (finished entries age out; in-flight ones stay), so memory
stays flat however many domains a scan has, while shared keys (hosted MX, provider SPF
includes) stay hot. A caller cancelled mid-flight does not poison the key for others.
"""
from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class SharedOnce(Generic[T]):
    def __init__(self, max_entries: int = 100_000) -> None:
        self._entries: OrderedDict[Hashable, asyncio.Task[T]] = OrderedDict()
        self._max = max_entries
        self.runs = 0   # how many times a factory actually ran
        self.hits = 0   # how many askers got a shared result

    async def get(self, key: Hashable, factory: Callable[[], Awaitable[T]]) -> T:
        task = self._entries.get(key)
        if task is not None and not task.cancelled():
            self._entries.move_to_end(key)
            self.hits += 1
            if task.done():     # nothing to wait for, nothing to protect: no shield needed
                return task.result()
        else:
            self.runs += 1
            task = asyncio.ensure_future(factory())
            self._entries[key] = task
            self._evict()
        # shield: one asker's cancellation (its domain deadline) must not cancel the shared work
        return await asyncio.shield(task)

    def __len__(self) -> int:
        return len(self._entries)

    def peek(self, key: Hashable) -> T | None:
        """The finished result for ``key`` without waiting, or None (not asked yet, in
        flight, failed or cancelled). Read-only (no LRU touch): safe from a worker thread."""
        task = self._entries.get(key)
        if task is None or not task.done() or task.cancelled() or task.exception() is not None:
            return None
        self.hits += 1
        return task.result()

    def _evict(self) -> None:
        """Drop the oldest finished entries. Walks from the old end only as far as needed
        (copying all keys here made every insert O(cache size) once the cache was full)."""
        excess = len(self._entries) - self._max
        if excess <= 0:
            return
        victims = []
        for key, task in self._entries.items():
            if task.done():
                victims.append(key)
                if len(victims) >= excess:
                    break
        for key in victims:
            del self._entries[key]
