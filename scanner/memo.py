"""Run each keyed coroutine once per scan and share its result: the DNS cache and the probe
cache are both this. Bounded LRU (finished entries age out; in-flight ones stay), so memory
stays flat however many domains a scan has, while shared keys (hosted MX, provider SPF
includes) stay hot. A caller cancelled mid-flight does not poison the key for others.

How the result reaches the askers: each waits on its own future, which the shared task
completes in its last step. Cancelling an asker cancels only its future, never the shared
work (what ``asyncio.shield`` gave, at one event-loop round trip and two callbacks more per
lookup; that showed in the DNS client profile). An entry already finished is answered
without waiting at all.
"""
from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")

# (True, result) or (False, exception): the shared task never fails itself, so an error
# nobody asks for again is not logged as "Task exception was never retrieved"
_Outcome = tuple[bool, Any]


class SharedOnce(Generic[T]):
    def __init__(self, max_entries: int = 100_000) -> None:
        self._entries: OrderedDict[Hashable, tuple[asyncio.Task[_Outcome], list[asyncio.Future]]] = \
            OrderedDict()
        self._max = max_entries
        self.runs = 0   # how many times a factory actually ran
        self.hits = 0   # how many askers got a shared result

    async def get(self, key: Hashable, factory: Callable[[], Awaitable[T]]) -> T:
        entry = self._entries.get(key)
        if entry is not None and not entry[0].cancelled():
            self._entries.move_to_end(key)
            self.hits += 1
            task, waiters = entry
            if task.done():
                return _unwrap(task.result())
        else:
            self.runs += 1
            waiters = []
            task = asyncio.ensure_future(_run(factory, waiters))
            self._entries[key] = (task, waiters)
            self._evict()
        waiter = task.get_loop().create_future()
        waiters.append(waiter)
        return await waiter

    def __len__(self) -> int:
        return len(self._entries)

    def peek(self, key: Hashable) -> T | None:
        """The finished result for ``key`` without waiting, or None (not asked yet, in
        flight, failed or cancelled). Read-only (no LRU touch): safe from a worker thread."""
        entry = self._entries.get(key)
        if entry is None or not entry[0].done() or entry[0].cancelled():
            return None
        ok, value = entry[0].result()
        if not ok:
            return None
        self.hits += 1
        return value

    def _evict(self) -> None:
        """Drop the oldest finished entries. Walks from the old end only as far as needed
        (copying all keys here made every insert O(cache size) once the cache was full)."""
        excess = len(self._entries) - self._max
        if excess <= 0:
            return
        victims = []
        for key, (task, _) in self._entries.items():
            if task.done():
                victims.append(key)
                if len(victims) >= excess:
                    break
        for key in victims:
            del self._entries[key]


async def _run(factory: Callable[[], Awaitable[Any]], waiters: list[asyncio.Future]) -> _Outcome:
    """The shared work: runs ``factory`` and hands the outcome to every asker still waiting."""
    try:
        outcome = (True, await factory())
    except Exception as exc:
        outcome = (False, exc)
    except BaseException:           # cancelled (loop shutdown): so are the askers
        for waiter in waiters:
            waiter.cancel()
        waiters.clear()
        raise
    for waiter in waiters:
        if not waiter.done():
            if outcome[0]:
                waiter.set_result(outcome[1])
            else:
                waiter.set_exception(outcome[1])
    waiters.clear()
    return outcome


def _unwrap(outcome: _Outcome):
    ok, value = outcome
    if ok:
        return value
    raise value
