"""One of the collector processes of a scan over several cores (``--workers N``).

The scan process (run/processes.py) starts N of these, each a clean interpreter with its own
event loop, ScanContext and DNS cache, deals them the domains in input order and gets each
domain's evidence back. What must stay scan-wide stays in exactly one place:

- **SMTP probes.** Every (host, IP, port) probe is *owned* by one process: ``owner_of(ip)``
  (a stable hash of the IP, so all ports of one address have the same owner). A process
  runs the probes it owns, memoised as in a one-process scan; a probe it does not own it
  asks of the owner (``ProbeRouter``) over a socket between the two, once per key (its
  own probe cache holds the answer for its other domains). The owner runs it once for
  every asker. So a shared MX host is probed once per scan, and the per-IP connection
  limit and the backoff of an IP that throttles the scan live in one process.
- **The scan's environment** (scanner/collect/environment.py). Each port-25 decision and
  each new piece of evidence of a port-25 filter goes to the scan process, which decides
  for the scan and tells every collector; at the end each sends what it counted and the
  scan process adds it up (``NetworkEnvironment.absorb``). The resolver check runs in the
  first collector only.
- **A domain's budget** (scanner/collect/budget.py). A probe asked of another process runs
  there under one budget per asking domain, and the asking domain's deadline travels with
  the request; when the asking domain gives up (its deadline), the request is cancelled at
  the owner too, as a probe nobody waits for is in one process.

Messages are lines (JSON never holds a raw newline). Scan process -> collector: ``S`` start
(base64 pickle: options, index, count, peer sockets), ``T position target``, ``P [state,
why]`` (the port-25 verdict), ``X`` (no more domains), ``Q`` (quit). Collector -> scan
process: ``E evidence``, ``V ip`` (port-25 filter evidence), ``P [state, why]``, ``D`` (all
its domains done), ``Z {environment}`` (last). Between collectors: ``Q [id, budget, deadline,
host, ip, port, role]``, ``C id`` (cancel), ``R id probe``, ``X id error``.

A collector ignores SIGINT/SIGTERM (the scan process decides, and ends it), and exits at once
(status 70) when a peer it may still need goes away: the scan process then ends the scan as
an internal error, never with evidence that depends on a lost peer.
"""
from __future__ import annotations

import asyncio
import base64
import math
import os
import pickle
import signal
import socket
import sys
import zlib
from collections.abc import AsyncIterator
from dataclasses import replace

import msgspec

from scanner.collect.budget import DomainBudget
from scanner.collect.context import DOMAIN_DEADLINE, ScanContext
from scanner.collect.domain import collect_domain
from scanner.collect.smtp import probe_endpoint
from scanner.evidence import PortSpec
from scanner.evidence.environment import ScanEnvironment
from scanner.evidence.smtp import SmtpProbe
from scanner.inputs import Target
from scanner.serde import dumps, loads

LINE_LIMIT = 1 << 26       # one domain's evidence is bounded well below this (budget.py)
READ_CHUNK = 1 << 16
LOST_PEER = 70


def owner_of(ip: str, n: int) -> int:
    """The collector that owns every probe of ``ip`` (stable across processes, unlike
    ``hash``)."""
    return zlib.crc32(ip.encode()) % n


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


class Link:
    """Lines over one stream socket."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, sock: socket.socket) -> "Link":
        # a small read buffer, so the other end waits (its drain) while this one is busy: a
        # StreamReader reads ahead up to twice its limit, and readline's limit would have to
        # be a whole domain's evidence (lines are split in ``lines`` instead)
        reader, writer = await asyncio.open_connection(sock=sock, limit=READ_CHUNK)
        return cls(reader, writer)

    def send(self, kind: bytes, payload: bytes = b"") -> None:
        if not self.writer.is_closing():
            self.writer.write(kind + b" " + payload + b"\n" if payload else kind + b"\n")

    async def drain(self) -> None:
        try:
            await self.writer.drain()
        except (ConnectionError, RuntimeError):   # the other end is gone: its reader says so
            pass

    async def lines(self) -> AsyncIterator[bytes]:
        """Each line without its newline, until the other end closes (or sends a line
        longer than ``LINE_LIMIT``: a broken peer)."""
        buf = bytearray()
        while True:
            try:
                data = await self.reader.read(READ_CHUNK)
            except ConnectionError:
                return
            if not data:
                return
            start = len(buf)
            buf += data
            end = buf.find(b"\n", start)
            if end < 0:
                if len(buf) > LINE_LIMIT:
                    return
                continue
            first = 0
            while end >= 0:
                yield bytes(buf[first:end])
                first = end + 1
                end = buf.find(b"\n", first)
            del buf[:first]

    def close(self) -> None:
        self.writer.close()


class ProbeRouter:
    """The probes this process owns run here; the others are asked of their owner."""

    def __init__(self, index: int, n: int, peers: dict[int, Link]) -> None:
        self.index, self.n, self.peers = index, n, peers
        self.ctx: ScanContext | None = None
        self.quitting = False
        self._ids = 0
        self._asked: dict[int, asyncio.Future] = {}
        self._serving: dict[tuple[int, int], asyncio.Task] = {}
        self._budgets: dict[tuple[int, int], list] = {}   # (peer, domain token) -> [budget, uses]

    def owns(self, ip: str) -> bool:
        return owner_of(ip, self.n) == self.index

    def factory(self, ctx: ScanContext, host: str, ip: str, spec: PortSpec):
        return lambda: self._ask(ctx, host, ip, spec)

    async def _ask(self, ctx: ScanContext, host: str, ip: str, spec: PortSpec) -> SmtpProbe:
        peer = self.peers[owner_of(ip, self.n)]
        self._ids += 1
        rid = self._ids
        future = asyncio.get_running_loop().create_future()
        self._asked[rid] = future
        deadline = DOMAIN_DEADLINE.get()
        peer.send(b"Q", msgspec.json.encode([rid, id(ctx.budget), None if math.isinf(deadline)
                                             else deadline, host, ip, spec.port, spec.role]))
        try:
            return await future
        except asyncio.CancelledError:
            if not future.done():
                peer.send(b"C", b"%d" % rid)
            raise
        finally:
            self._asked.pop(rid, None)

    async def serve(self, peer: int, link: Link) -> None:
        """Requests from and answers to one peer, until it closes."""
        async for line in link.lines():
            kind, _, rest = line.partition(b" ")
            if kind == b"Q":
                rid, token, deadline, host, ip, port, role = msgspec.json.decode(rest)
                self._serving[(peer, rid)] = asyncio.ensure_future(self._run(
                    peer, rid, token, math.inf if deadline is None else deadline, host, ip,
                    PortSpec(port, role)))
            elif kind == b"C":
                task = self._serving.pop((peer, int(rest)), None)
                if task is not None:
                    task.cancel()
            elif kind in (b"R", b"X"):
                rid, _, body = rest.partition(b" ")
                future = self._asked.get(int(rid))
                if future is not None and not future.done():
                    if kind == b"R":
                        future.set_result(loads(SmtpProbe, decode(body), complete=False))
                    else:
                        future.set_exception(RuntimeError(decode(body)))
        if not self.quitting:
            _lost(f"collector {peer} went away during the scan")

    async def _run(self, peer: int, rid: int, token: int, deadline: float, host: str, ip: str,
                   spec: PortSpec) -> None:
        DOMAIN_DEADLINE.set(deadline)    # the asking domain's: decides whether a probe is redone
        held = self._budgets.setdefault((peer, token), [DomainBudget(), 0])
        held[1] += 1
        ctx = self.ctx.for_domain(held[0])
        try:
            probe = await self.ctx.probes.get((host, ip, spec.port, spec.role),
                                              lambda: probe_endpoint(ctx, host, ip, spec))
            reply = (b"R", b"%d " % rid + encode(dumps(probe)))
        except asyncio.CancelledError:
            return                       # the asker gave up: nobody to answer
        except Exception as exc:         # noqa: BLE001 - the asker's domain records it
            reply = (b"X", b"%d " % rid + encode(f"{type(exc).__name__}: {exc}"[:300]))
        finally:
            self._serving.pop((peer, rid), None)
            held[1] -= 1
            if not held[1]:
                self._budgets.pop((peer, token), None)
        self.peers[peer].send(*reply)


def _lost(why: str) -> None:
    """A peer or the scan process is gone mid-scan: stop now (see the module docstring)."""
    sys.stderr.write(f"mxaudit collector: {why}\n")
    sys.stderr.flush()
    os._exit(LOST_PEER)


async def _collect(parent_fd: int) -> int:
    parent = await Link.open(socket.socket(fileno=parent_fd))
    lines = parent.lines()
    first = await anext(lines, None)
    if first is None or not first.startswith(b"S "):
        return 3
    start = pickle.loads(base64.b64decode(first[2:]))
    index, n = start["index"], start["n"]
    peers = {j: await Link.open(socket.socket(fileno=fd)) for j, fd in start["peers"].items()}
    options = replace(start["options"], concurrency=start["concurrency"])
    ctx = ScanContext.create(options)
    router = ProbeRouter(index, n, peers)
    router.ctx = ctx
    ctx.router = router
    env = ctx.env
    env.on_port25 = lambda state, why: parent.send(b"P", msgspec.json.encode([state, why]))
    env.on_evidence = lambda ip: parent.send(b"V", ip.encode())
    serving = [asyncio.ensure_future(router.serve(j, link)) for j, link in peers.items()]
    env.start(ctx, resolver=index == 0)
    queue: asyncio.Queue[tuple[int, Target] | None] = asyncio.Queue()

    async def worker() -> None:
        while (item := await queue.get()) is not None:
            ev = await collect_domain(ctx, item[1], item[0])
            parent.send(b"E", encode(dumps(ev)))
            await parent.drain()

    workers = [asyncio.ensure_future(worker()) for _ in range(options.concurrency)]

    async def finish() -> None:
        try:
            await asyncio.gather(*workers)
            await env.settle()
        except Exception as exc:  # noqa: BLE001 - a bug: the scan process reports it (exit 70)
            _lost(f"internal error: {type(exc).__name__}: {exc}")
        router.quitting = True            # no domain of ours needs a peer any more
        parent.send(b"D")

    finishing = None
    try:
        async for line in lines:
            kind, _, rest = line.partition(b" ")
            if kind == b"T":
                position, _, target = rest.partition(b" ")
                queue.put_nowait((int(position), loads(Target, decode(target))))
            elif kind == b"P":
                env.decide(*msgspec.json.decode(rest))
            elif kind == b"X":
                for _ in workers:
                    queue.put_nowait(None)
                finishing = asyncio.ensure_future(finish())
            elif kind == b"Q":
                env.stop()
                state = env.state()
                state["throttled"] = dumps(ScanEnvironment((), ctx.limiter.throttled()))
                parent.send(b"Z", msgspec.json.encode(state))
                await parent.drain()
                return 0
        return 3                          # the scan process went away (or gave up)
    finally:
        router.quitting = True
        for task in [*workers, *serving, *([finishing] if finishing else [])]:
            task.cancel()


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    return asyncio.run(_collect(int(sys.argv[3])))


if __name__ == "__main__":
    sys.exit(main())
