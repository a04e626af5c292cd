"""Run each keyed coroutine once per scan and share its result: the DNS cache and the probe
cache are both this. Bounded LRU (finished entries age out; in-flight ones stay), so memory
stays flat however many domains a scan has, while shared keys (hosted MX, provider SPF
includes) stay hot. A caller cancelled mid-flight does not poison the key for others.

How the result reaches the askers: each waits on its own future, which the shared work
completes in its last step (the work runs in a Task of its own, or, with ``inline=True``, in
the first asker's task). Cancelling an asker cancels only its future, never the shared
work (what ``asyncio.shield`` gave, at one event-loop round trip and two callbacks more per
lookup; that showed in the DNS client profile). An entry already finished is answered
without waiting at all.
"""
from __future__ import annotations

import asyncio
import functools
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")

# (True, result) or (False, exception): the shared work never fails itself, so an error
# nobody asks for again is not logged as "Task exception was never retrieved"
_Outcome = tuple[bool, Any]


class _Entry:
    """One key: its outcome once finished; meanwhile the futures of the askers who joined,
    and the Task doing the work when it runs in one."""

    __slots__ = ("outcome", "waiters", "task")

    def __init__(self) -> None:
        self.outcome: _Outcome | None = None
        # a list while the key is in flight; the empty tuple once finished (nobody joins a
        # finished entry), so the cache's finished entries hold no list each (~56 B)
        self.waiters: list[asyncio.Future] | tuple[()] = []
        self.task: asyncio.Future | None = None

    def finish(self, outcome: _Outcome) -> None:
        self.outcome = outcome
        ok, value = outcome
        for waiter in self.waiters:
            if not waiter.done():
                if ok:
                    waiter.set_result(value)
                else:
                    waiter.set_exception(value)
        self.waiters = ()


class SharedOnce(Generic[T]):
    """``inline=True``: the first asker runs the work in its own task instead of a new Task
    per key (creating Tasks was the largest single cost left in the DNS client's profile:
    ~65,000 per bench run). If that asker is cancelled (its domain's deadline) while others
    wait, the work is started again in a Task for them: nobody is poisoned, at the price of
    running that key's work twice. Meant for work that is safe to repeat (DNS questions);
    the default runs each key's work in a Task of its own, exactly once."""

    def __init__(self, max_entries: int = 100_000, *, inline: bool = False) -> None:
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._max = max_entries
        self._inline = inline
        self.runs = 0   # how many times a factory actually ran
        self.hits = 0   # how many askers got a shared result

    async def get(self, key: Hashable, factory: Callable[[], Awaitable[T]]) -> T:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            self.hits += 1
            if entry.outcome is not None:
                return _unwrap(entry.outcome)
            return await self._join(entry)
        self.runs += 1
        entry = self._entries[key] = _Entry()
        self._evict()
        if not self._inline:
            entry.task = asyncio.ensure_future(self._run(key, entry, factory))
            return await self._join(entry)
        try:
            value = await factory()
        except asyncio.CancelledError:
            self._hand_over(key, entry, factory)
            raise
        except Exception as exc:
            entry.finish((False, exc))
            raise
        entry.finish((True, value))
        return value

    async def get_many(self, keys: Sequence[Hashable],
                       run: Callable[[list[Hashable], Callable[[int, T], None]], Awaitable[None]],
                       factory: Callable[[Hashable], Awaitable[T]]) -> list[T]:
        """``get`` for several keys at once, in the asker's task, with no Task per key: the
        results in the order of ``keys``, counted in ``runs``/``hits`` as that many ``get``
        calls in that order would be (a repeated key joins its first occurrence).

        ``run(new_keys, settle)`` does the work of the keys nobody had asked yet, calling
        ``settle(i, value)`` for ``new_keys[i]`` as soon as it is known (from a callback if
        it likes: askers waiting on that key get it at once), every one before it returns.
        ``factory(key)`` is one key's work: if this asker is cancelled while others wait on
        a key it had not settled yet, that key is started again in a Task for them, as
        ``get(inline=True)`` does; a key nobody else waits for is forgotten."""
        loop = asyncio.get_running_loop()
        outcomes: list[_Outcome | None] = [None] * len(keys)
        joined: list[tuple[int, asyncio.Future]] = []
        new: list[tuple[Hashable, _Entry]] = []
        new_at: list[int] = []
        entries = self._entries
        for i, key in enumerate(keys):
            entry = entries.get(key)
            if entry is not None:
                entries.move_to_end(key)
                self.hits += 1
                if entry.outcome is not None:
                    outcomes[i] = entry.outcome
                else:
                    waiter = loop.create_future()
                    entry.waiters.append(waiter)
                    joined.append((i, waiter))
                continue
            self.runs += 1
            entry = entries[key] = _Entry()
            new.append((key, entry))
            new_at.append(i)
        self._evict()
        given_up = False     # then a late settle() must not finish a key handed to a Task

        def settle(j: int, value: T) -> None:
            entry = new[j][1]
            if not given_up and entry.outcome is None:
                entry.finish((True, value))

        try:
            if new:
                await run([key for key, _ in new], settle)
            for i, waiter in joined:
                try:
                    outcomes[i] = (True, await waiter)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    outcomes[i] = (False, exc)
        except BaseException as exc:
            given_up = True
            for _, waiter in joined:    # ours: none may keep an exception nobody reads
                if waiter.done() and not waiter.cancelled():
                    waiter.exception()
                else:
                    waiter.cancel()
            cancelled = isinstance(exc, asyncio.CancelledError)
            for key, entry in new:
                if entry.outcome is not None:
                    continue
                if not cancelled and isinstance(exc, Exception):
                    entry.finish((False, exc))
                else:
                    self._hand_over(key, entry, functools.partial(factory, key))
            raise
        for i, (key, entry) in zip(new_at, new):
            if entry.outcome is None:       # ``run`` broke its promise: say so, never hang
                entry.finish((False, RuntimeError(f"{key!r} was never settled")))
            outcomes[i] = entry.outcome
        return [_unwrap(outcome) for outcome in outcomes]

    @staticmethod
    async def _join(entry: _Entry):
        """Wait for the entry's outcome. The last asker to give up (its domain's deadline)
        cancels work running in a Task for nobody else: a probe does not outlive every
        domain that wanted it, holding connections (issue 14); shared work goes on as long
        as someone waits."""
        waiter = asyncio.get_running_loop().create_future()
        entry.waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if (entry.outcome is None and entry.task is not None
                    and not any(not w.done() for w in entry.waiters)):
                entry.task.cancel()
            raise

    async def _run(self, key: Hashable, entry: _Entry,
                   factory: Callable[[], Awaitable[Any]]) -> None:
        """The shared work in a Task: hands the outcome to every asker still waiting."""
        try:
            outcome = (True, await factory())
        except Exception as exc:
            outcome = (False, exc)
        except BaseException:           # cancelled (loop shutdown): so are the askers
            for waiter in entry.waiters:
                waiter.cancel()
            entry.waiters = []
            self._forget(key, entry)
            raise
        entry.finish(outcome)
        # the finished Task is not kept: it holds its coroutine and the Context it was
        # started in (the first asker's: its domain's DNS view and budget), so an entry
        # that kept it kept a domain's objects alive for as long as the cache remembers
        # the key (2-3 KB a domain on the bench without SMTP; tests/perf/test_memo.py)
        entry.task = None

    def _hand_over(self, key: Hashable, entry: _Entry,
                   factory: Callable[[], Awaitable[Any]]) -> None:
        """The asker doing ``key``'s work inline was cancelled: start the work again in a
        Task for those still waiting, or forget the key if nobody is."""
        if any(not w.done() for w in entry.waiters):
            entry.task = asyncio.ensure_future(self._run(key, entry, factory))
        else:
            self._forget(key, entry)

    def _forget(self, key: Hashable, entry: _Entry) -> None:
        if self._entries.get(key) is entry:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)

    def peek(self, key: Hashable) -> T | None:
        """The finished result for ``key`` without waiting, or None (not asked yet, in
        flight or failed). Read-only (no LRU touch): safe from a worker thread."""
        entry = self._entries.get(key)
        if entry is None or entry.outcome is None or not entry.outcome[0]:
            return None
        self.hits += 1
        return entry.outcome[1]

    def _evict(self) -> None:
        """Drop the oldest finished entries. Walks from the old end only as far as needed
        (copying all keys here made every insert O(cache size) once the cache was full)."""
        excess = len(self._entries) - self._max
        if excess <= 0:
            return
        victims = []
        for key, entry in self._entries.items():
            if entry.outcome is not None:
                victims.append(key)
                if len(victims) >= excess:
                    break
        for key in victims:
            del self._entries[key]


def _unwrap(outcome: _Outcome):
    ok, value = outcome
    if ok:
        return value
    raise value
