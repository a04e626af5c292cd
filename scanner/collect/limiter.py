"""Connections per IP: a limit, and a backoff for the IPs that throttle the scan.

Every connection the scan opens (SMTP probes, MTA-STS fetches) takes a slot of its IP here,
so politeness is decided in one place for every domain that shares a host. Hosted providers
rate-limit scanners: at most ``limit`` simultaneous connections per IP (and ``total``
overall), and when an IP answers with a transient refusal (a 4yz greeting, a 421) it is
throttled for the rest of the scan: one connection at a time, the next one only after a
jittered pause (doubling with each further refusal, capped), and later ones spaced by a
quarter of the base pause so the server has registered the previous disconnect. What that
cost is recorded per IP (refusals, seconds waited) for the scan's report.
"""
from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from scanner.bounded import Bounded
from scanner.evidence.environment import ThrottledIp

MAX_BACKOFF_STEPS = 3      # pause, 2x, 4x, 8x the base: then it stays at 8x
JITTER = (0.75, 1.25)      # the pause is multiplied by a random factor in this range
MAX_PEAKS = 10_000         # IPs whose peak is remembered (beyond, it starts again empty)


@dataclass
class _Throttle:
    hosts: set[str] = field(default_factory=set)
    refusals: int = 0
    waited: float = 0.0
    reply: str = ""
    peak_after: int = 0        # most simultaneous connections opened after the first refusal
    steps: int = 0             # backoff doublings so far (the pause is base x 2^(steps-1))
    escalated_at: float | None = None


class _Gate:
    """One IP: its open connections, the askers waiting (FIFO), when the next may start."""

    __slots__ = ("limit", "open", "waiters", "not_before", "throttle")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0
        self.waiters: deque[asyncio.Future] = deque()
        self.not_before = 0.0
        self.throttle: _Throttle | None = None


class PerIpLimiter:
    """At most ``limit`` simultaneous connections per IP, and ``total`` overall; a throttled
    IP one at a time, paced (see the module docstring)."""

    def __init__(self, limit: int, total: int, *, pause: float = 3.0,
                 rng: random.Random | None = None) -> None:
        self._limit = max(limit, 1)
        self._gates: dict[str, _Gate] = {}
        self._total = asyncio.Semaphore(max(total, 1))
        self.pause = pause
        self._rng = rng or random.Random()
        # most simultaneous connections per IP (tests, diagnostics): bounded, since a list
        # has as many distinct MX addresses as it has domains with their own MX host
        self.peak: Bounded = Bounded(MAX_PEAKS)

    @asynccontextmanager
    async def slot(self, ip: str) -> AsyncIterator[None]:
        gate = self._gates.get(ip)
        if gate is None:
            gate = self._gates[ip] = _Gate(self._limit)
        await self._acquire(gate)
        try:
            await self._pace(gate)
            async with self._total:
                self.peak.keep(ip, max(self.peak.get(ip, 0), gate.open))
                if gate.throttle is not None:
                    gate.throttle.peak_after = max(gate.throttle.peak_after, gate.open)
                yield
        finally:
            self._release(ip, gate)

    def throttle(self, ip: str, host: str, reply: str, started: float | None = None) -> float:
        """``ip`` answered a transient refusal to a connection opened at loop time
        ``started``: one connection at a time from now on, and none before the returned
        pause (seconds) has passed. The pause doubles with each refusal of a connection
        opened after the previous doubling (connections already in flight when the IP
        first refused belong to the same burst and do not escalate it)."""
        loop = asyncio.get_running_loop()
        gate = self._gates.get(ip)
        if gate is None:
            gate = self._gates[ip] = _Gate(self._limit)
        t = gate.throttle
        if t is None:
            t = gate.throttle = _Throttle(reply=reply[:160])
        t.hosts.add(host)
        t.refusals += 1
        gate.limit = 1
        if t.escalated_at is None or started is None or started >= t.escalated_at:
            t.steps = min(t.steps + 1, MAX_BACKOFF_STEPS + 1)
            t.escalated_at = loop.time()
        pause = self.pause * (2 ** (t.steps - 1)) * self._rng.uniform(*JITTER)
        gate.not_before = max(gate.not_before, loop.time() + pause)
        return max(pause, gate.not_before - loop.time())

    def is_throttled(self, ip: str) -> bool:
        gate = self._gates.get(ip)
        return gate is not None and gate.throttle is not None

    def throttled(self) -> tuple[ThrottledIp, ...]:
        """The IPs that throttled the scan, the costliest first."""
        out = [ThrottledIp(ip, tuple(sorted(g.throttle.hosts)), g.throttle.refusals,
                           round(g.throttle.waited, 1), g.throttle.reply)
               for ip, g in self._gates.items() if g.throttle is not None]
        return tuple(sorted(out, key=lambda t: (-t.waited, t.ip)))

    def peak_after_throttle(self, ip: str) -> int:
        gate = self._gates.get(ip)
        return gate.throttle.peak_after if gate is not None and gate.throttle else 0

    # ------------------------------------------------------------------ internals
    async def _acquire(self, gate: _Gate) -> None:
        if gate.open < gate.limit and not gate.waiters:
            gate.open += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        gate.waiters.append(waiter)
        try:
            await waiter            # _release hands the slot over: ``open`` already counts it
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._hand_on(gate, 1)          # handed to us as we were cancelled: pass it on
            elif waiter in gate.waiters:
                gate.waiters.remove(waiter)
            raise

    async def _pace(self, gate: _Gate) -> None:
        """Holding the IP's slot (not a global one), wait out its backoff."""
        loop = asyncio.get_running_loop()
        while (delay := gate.not_before - loop.time()) > 0:
            started = loop.time()
            await asyncio.sleep(delay)
            if gate.throttle is not None:
                gate.throttle.waited += loop.time() - started

    def _release(self, ip: str, gate: _Gate) -> None:
        if gate.throttle is not None:     # space the next connection to a throttled IP
            loop = asyncio.get_running_loop()
            gate.not_before = max(gate.not_before, loop.time() + self.pause / 4)
        self._hand_on(gate, 1)
        if not gate.open and not gate.waiters and gate.throttle is None:
            self._gates.pop(ip, None)     # idle and unremarkable: memory stays flat

    @staticmethod
    def _hand_on(gate: _Gate, freed: int) -> None:
        gate.open -= freed
        while gate.waiters and gate.open < gate.limit:
            waiter = gate.waiters.popleft()
            if not waiter.done():
                gate.open += 1
                waiter.set_result(None)
