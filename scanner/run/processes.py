"""Collection on every core of this machine (``--workers N``): N collector processes
(run/collector.py) fed by the scan process, which keeps the sinks, the report worker and the
stop signals exactly as a one-process scan does.

The scan process reads the input lazily and deals domains in input order, each to the
collector with the most room (at most ``WINDOW`` x its concurrency outstanding), so memory
stays flat and a slow collector is not given more; evidence comes back as each domain
finishes and goes to the scan's sink (which does not need input order: run/ordered.py and the
report worker restore it). An invalid input needs no collection: its row is made here. ``--concurrency`` stays the whole scan's: each collector gets its
share. Collectors are clean interpreters started like the report worker (``python -P``), so
nothing of this process's state is inherited.

Probes and the environment stay scan-wide (see run/collector.py): a shared MX host is probed
once, by the collector that owns its address. What is per collector: the DNS cache (a name
several collectors need is asked by each) and the MTA-STS policy cache.

A collector that dies (or a bug in one) ends the scan as an internal error (exit 70) naming
it; an interrupted scan (SIGINT/SIGTERM) ends the collectors, keeping what finished.
"""
from __future__ import annotations

import asyncio
import base64
import math
import os
import pickle
import socket
import subprocess
import tempfile
import time
from collections.abc import Container, Iterable

import msgspec

from scanner.collect.domain import blank_evidence
from scanner.collect.environment import NetworkEnvironment
from scanner.evidence import DomainEvidence
from scanner.evidence.environment import ScanEnvironment
from scanner.inputs import Target
from scanner.options import ScanOptions
from scanner.run.collector import Link, decode, encode
from scanner.run.stream import ScanStats, Sink
from scanner.serde import dumps, loads

WINDOW = 2            # domains dealt to a collector ahead, in multiples of its concurrency
STOP_WAIT = 5.0       # seconds a collector gets to exit before it is killed
MIN_PER_WORKER = 25   # fewer domains than this per collector: not worth a process's start-up


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_workers(total: int | None) -> int:
    """One collector per core; a short list (known length) fewer, down to one (this process:
    no collector to start at all)."""
    n = cores()
    if total is not None:
        n = min(n, max(total // MIN_PER_WORKER, 1))
    return max(n, 1)


class CollectorLost(RuntimeError):
    """A collector process ended before its work was done: an internal error (exit 70)."""


class _Collector:
    def __init__(self, index: int, proc: subprocess.Popen, stderr, link: Link,
                 window: int) -> None:
        self.index, self.proc, self.stderr, self.link = index, proc, stderr, link
        self.room = window
        self.done = False
        self.state: dict | None = None

    def last_words(self) -> str:
        try:
            status = self.proc.wait(STOP_WAIT)
        except subprocess.TimeoutExpired:
            status = None
        self.stderr.seek(0)
        lines = self.stderr.read()[-4096:].decode("utf-8", "replace").strip().splitlines()
        return f"exit status {status}" + (f": {lines[-1][:200]}" if lines else "")


async def collect_in_processes(targets: Iterable[Target], options: ScanOptions, sink: Sink,
                               workers: int, stats: ScanStats | None = None, *,
                               first_position: int = 0,
                               skip: Container[int] = ()) -> ScanStats:
    """Collect every target in ``workers`` collector processes, each domain to ``sink`` (in
    this process, in this event loop)."""
    from scanner.run.worker import worker_command

    stats = stats if stats is not None else ScanStats()
    n = max(workers, 1)
    share = max(math.ceil(options.concurrency / n), 1)
    ends = [socket.socketpair() for _ in range(n)]
    mesh = {(i, j): socket.socketpair() for i in range(n) for j in range(i + 1, n)}
    collectors: list[_Collector] = []
    agg = NetworkEnvironment(options)   # the scan's port-25 verdict, then everyone's counts
    room = asyncio.Event()
    try:
        for i in range(n):
            peers = {j: (pair[0] if a == i else pair[1]).fileno()
                     for (a, b), pair in mesh.items() if i in (a, b) for j in (a, b) if j != i}
            child = ends[i][1]
            stderr = tempfile.TemporaryFile()
            proc = subprocess.Popen(worker_command("scanner.run.collector") + [str(child.fileno())],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=stderr, pass_fds=[child.fileno(), *peers.values()])
            link = await Link.open(ends[i][0])
            collectors.append(_Collector(i, proc, stderr, link, share * WINDOW))
            start = {"options": options, "index": i, "n": n, "peers": peers,
                     "concurrency": share}
            link.send(b"S", base64.b64encode(pickle.dumps(start)))
        for pair in (*(e[1] for e in ends), *(s for p in mesh.values() for s in p)):
            pair.close()                 # the collectors hold their ends now

        def broadcast(state: str, why: str) -> None:
            for c in collectors:
                c.link.send(b"P", msgspec.json.encode([state, why]))
        agg.on_port25 = broadcast

        async def read(c: _Collector) -> None:
            async for line in c.link.lines():
                kind, _, rest = line.partition(b" ")
                if kind == b"E":
                    ev = loads(DomainEvidence, decode(rest), complete=False)
                    c.room += 1
                    room.set()
                    stats.completed += 1
                    stats.errors += bool(ev.error)
                    sink(ev)
                elif kind == b"V":
                    agg.add_evidence(rest.decode())
                elif kind == b"P":
                    agg.decide(*msgspec.json.decode(rest))
                elif kind == b"D":
                    c.done = True
                    room.set()
                elif kind == b"Z":
                    c.state = msgspec.json.decode(rest)
                    return
            raise CollectorLost(f"collector process {c.index} ended during the scan "
                                f"({c.last_words()})")

        async def deal() -> None:
            source = ((i, t) for i, t in enumerate(targets, first_position) if i not in skip)
            for position, target in source:
                if not target.domain or target.invalid_reason:   # nothing to collect
                    ev = blank_evidence(target, position, options)
                    stats.domains += 1
                    stats.completed += 1
                    sink(ev)
                    continue
                c = max(collectors, key=lambda c: c.room)
                while c.room <= 0:
                    room.clear()
                    await room.wait()
                    c = max(collectors, key=lambda c: c.room)
                c.room -= 1
                stats.domains += 1
                c.link.send(b"T", b"%d " % position + encode(dumps(target)))
                await c.link.drain()
            for c in collectors:
                c.link.send(b"X")
            while not all(c.done for c in collectors):
                room.clear()
                await room.wait()
            for c in collectors:          # every domain is in: nobody asks a peer any more
                c.link.send(b"Q")

        tasks = [asyncio.ensure_future(deal()), *(asyncio.ensure_future(read(c))
                                                  for c in collectors)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        stats.finished = time.time()
        for c in collectors:
            c.link.close()
        for c in collectors:
            try:
                c.proc.wait(STOP_WAIT if c.state is not None else 0)
            except subprocess.TimeoutExpired:
                c.proc.kill()
                c.proc.wait()
            c.stderr.close()
        for pair in (*ends, *mesh.values()):
            for s in pair:
                s.close()
    throttled = ScanEnvironment()
    for c in collectors:
        agg.absorb(c.state)
        throttled = throttled.merged(loads(ScanEnvironment, c.state["throttled"]))
    stats.environment = stats.environment.merged(agg.summary(throttled.throttled))
    return stats
