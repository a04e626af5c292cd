"""Scaling out: shard the domain list over a Dask distributed cluster (``--dask ADDRESS``).

Each shard is a contiguous run of the (deduplicated) input with its first position; a Dask
worker runs the ordinary collection on it (``collect_stream``, with its own ScanContext) and
sends back every domain's evidence in the store's own serialised form (``serde``: the
project's contract for evidence, so nothing a worker sends depends on pickle details). The
client decodes it and hands each domain to the scan's sink - the same one a local scan uses,
so it is judged, stored and reported by the same code, into one scan of one store and one
set of reports.

Memory stays flat on the client: the input is read lazily and at most ``max_in_flight``
shards are outstanding. A shard whose task fails (a worker died twice, an internal error)
does not abort the scan: its domains are recorded as ``error`` rows naming the failure.

Trade-offs worth knowing: the DNS cache, the probe cache, the per-IP connection limit
(and its backoff of throttling IPs) and what the scan learns about its own network (the
environment notes, merged on the client) are per shard, so an MX host shared by domains of several shards is probed once per shard
(bigger shards share more), and a provider may see up to ``per_ip_limit`` connections from
each shard running at once. Workers need the same ``--ca-file`` path and must reach the
configured nameservers and MX hosts themselves.

``dask[distributed]`` is an optional extra: ``pip install mxaudit[dask]``.
"""
from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from scanner.collect.context import ScanContext
from scanner.collect.domain import blank_evidence
from scanner.errors import UsageError
from scanner.evidence import DomainEvidence
from scanner.evidence.environment import ScanEnvironment
from scanner.inputs import Target
from scanner.options import ScanOptions
from scanner.run.stream import ScanStats, Sink, collect_stream
from scanner.serde import dumps, loads

DEFAULT_SHARD_SIZE = 500
CONNECT_TIMEOUT = 30.0  # seconds to reach the scheduler


@dataclass(frozen=True)
class Shard:
    first_position: int
    targets: tuple[Target, ...]
    options: ScanOptions


@dataclass(frozen=True)
class ShardOutcome:
    first_position: int
    evidence: tuple[str, ...]   # one serde JSON document per domain
    environment: str = ""       # the shard's ScanEnvironment (serde JSON): merged by the client


def scan_shard(shard: Shard) -> ShardOutcome:
    """Runs on a Dask worker (in one of its threads): the ordinary collection of one shard."""
    stats = ScanStats()

    async def main() -> list[str]:
        ctx = ScanContext.create(shard.options)
        return [dumps(ev) async for ev in collect_stream(
            ctx, shard.targets, stats=stats, first_position=shard.first_position)]

    evidence = tuple(asyncio.run(main()))
    return ShardOutcome(shard.first_position, evidence, dumps(stats.environment))


def make_shards(targets: Iterable[Target], options: ScanOptions,
                size: int = DEFAULT_SHARD_SIZE) -> Iterator[Shard]:
    """Contiguous shards, lazily: positions match a local scan of the same input."""
    it = iter(targets)
    position = 0
    while chunk := tuple(itertools.islice(it, max(size, 1))):
        yield Shard(position, chunk, options)
        position += len(chunk)


def failed_shard(shard: Shard, reason: str) -> Iterator[DomainEvidence]:
    """Every domain of a shard that could not run, as an `error` row (never silently lost)."""
    for offset, t in enumerate(shard.targets):
        ev = blank_evidence(t, shard.first_position + offset, shard.options)
        yield replace(ev, error=f"distributed shard failed: {reason}") if ev.valid else ev


def decode_evidence(text: str) -> DomainEvidence:
    return loads(DomainEvidence, text)


def collect_on_cluster(targets: Iterable[Target], options: ScanOptions, sink: Sink,
                       scheduler: str | object, stats: ScanStats | None = None, *,
                       shard_size: int = DEFAULT_SHARD_SIZE,
                       max_in_flight: int | None = None) -> ScanStats:
    """Collect ``targets`` on a Dask cluster; ``sink`` gets (in this thread) each domain.

    ``scheduler`` is an address (``tcp://host:8786``) or an existing ``distributed.Client``.
    """
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise UsageError("--dask needs Dask distributed: pip install 'mxaudit[dask]'") from None
    stats = stats if stats is not None else ScanStats()
    own_client = isinstance(scheduler, str)
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT) if own_client else scheduler
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"--dask {scheduler}: cannot reach the scheduler ({exc})") from None
    try:
        limit = max_in_flight or 2 * max(sum(client.nthreads().values()), 1)
        _drive(client, as_completed, make_shards(targets, options, shard_size), limit, sink,
               stats)
    finally:
        if own_client:
            client.close()
    return stats


def _drive(client, as_completed, shards: Iterator[Shard], limit: int, sink: Sink,
           stats: ScanStats) -> None:
    pending: dict[object, Shard] = {}

    def submit_next() -> object | None:
        shard = next(shards, None)
        if shard is None:
            return None
        stats.domains += len(shard.targets)
        future = client.submit(scan_shard, shard, pure=False, retries=1)
        pending[future] = shard
        return future

    futures = [f for f in (submit_next() for _ in range(limit)) if f is not None]
    queue = as_completed(futures)
    for future in queue:
        shard = pending.pop(future)
        try:
            outcome: ShardOutcome = future.result()
            evidence: Iterable[DomainEvidence] = map(decode_evidence, outcome.evidence)
            if outcome.environment:
                stats.environment = stats.environment.merged(
                    loads(ScanEnvironment, outcome.environment))
        except Exception as exc:   # the worker's error, re-raised here; keep the scan going
            evidence = failed_shard(shard, f"{type(exc).__name__}: {exc}")
        for ev in evidence:
            stats.completed += 1
            stats.errors += bool(ev.error)
            sink(ev)
        future.release()
        nxt = submit_next()
        if nxt is not None:
            queue.add(nxt)
    stats.finished = time.time()
