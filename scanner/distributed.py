"""Scaling out: shard the domain list over a Dask distributed cluster (``--dask ADDRESS``).

Each shard is a contiguous run of the (deduplicated) input with its first position; a Dask
worker runs the ordinary asyncio pipeline on it (``scan_stream``: the collection ``run_scan``
uses, each domain judged as it completes), with its own ScanContext, and sends back every
domain's result in the store's own serialised form (``serde``: the project's contract for
evidence, so nothing a worker sends depends on pickle details). The client decodes them and
hands each to ``on_result`` - the same callback a local scan uses - so the results land in
one scan of one store and one set of reports.

Memory stays flat on the client: the input is read lazily and at most ``max_in_flight``
shards are outstanding. A shard whose task fails (a worker died twice, an internal error)
does not abort the scan: its domains are recorded as ``error`` rows naming the failure.

Trade-offs worth knowing: the DNS cache, the probe cache and the per-IP connection limit
are per shard, so an MX host shared by domains of several shards is probed once per shard
(bigger shards share more), and a provider may see up to ``per_ip_limit`` connections from
each shard running at once. Workers need the same ``--ca-file`` path and must reach the
configured nameservers and MX hosts themselves.

``dask[distributed]`` is an optional extra: ``pip install mxaudit[dask]``.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

from .context import ScanContext
from .errors import UsageError
from .evidence import DomainEvidence
from .findings import Finding
from .inputs import Target
from .options import ScanOptions
from .pipeline import DomainResult, ScanStats, judge, now_iso, scan_stream
from .profiles import Profile
from .serde import dumps, from_jsonable
from .verdict import Verdict

DEFAULT_SHARD_SIZE = 500
CONNECT_TIMEOUT = 30.0  # seconds to reach the scheduler


@dataclass(frozen=True)
class Shard:
    first_position: int
    targets: tuple[Target, ...]
    options: ScanOptions
    profile: Profile


@dataclass(frozen=True)
class ShardOutcome:
    first_position: int
    results: tuple[str, ...]   # one JSON document per domain (see encode_result)


def encode_result(r: DomainResult) -> str:
    # = json.dumps([to_jsonable(...) x 3], ensure_ascii=False, separators=(",", ":"))
    return f"[{dumps(r.evidence)},{dumps(r.findings)},{dumps(r.verdict)}]"


def decode_result(text: str) -> DomainResult:
    ev, findings, verdict = json.loads(text)
    return DomainResult(from_jsonable(DomainEvidence, ev),
                        from_jsonable(tuple[Finding, ...], findings),
                        from_jsonable(Verdict, verdict))


def scan_shard(shard: Shard) -> ShardOutcome:
    """Runs on a Dask worker (in one of its threads): the ordinary pipeline over one shard."""
    async def main() -> list[str]:
        ctx = ScanContext.create(shard.options)
        return [encode_result(r) async for r in scan_stream(
            ctx, shard.targets, shard.profile, first_position=shard.first_position)]

    results = asyncio.run(main())
    return ShardOutcome(shard.first_position, tuple(results))


def make_shards(targets: Iterable[Target], options: ScanOptions, profile: Profile,
                size: int = DEFAULT_SHARD_SIZE) -> Iterator[Shard]:
    """Contiguous shards, lazily: positions match a local scan of the same input."""
    it = iter(targets)
    position = 0
    while chunk := tuple(itertools.islice(it, max(size, 1))):
        yield Shard(position, chunk, options, profile)
        position += len(chunk)


def failed_shard_results(shard: Shard, reason: str) -> Iterator[DomainResult]:
    """Every domain of a shard that could not run, as an `error` row (never silently lost)."""
    o = shard.options
    for offset, t in enumerate(shard.targets):
        ev = DomainEvidence(position=shard.first_position + offset, input=t.input, domain=t.domain,
                            invalid_reason=t.invalid_reason,
                            dkim_selectors=tuple(dict.fromkeys(t.dkim_selectors + o.dkim_selectors)),
                            scanned_at=now_iso(), allow_private=o.allow_private, ports=o.ports)
        if ev.valid:
            ev = replace(ev, error=f"distributed shard failed: {reason}")
        yield judge(ev, shard.profile)


def run_scan_dask(targets: Iterable[Target], options: ScanOptions, profile: Profile,
                  on_result: Callable[[DomainResult], None], scheduler: str | object,
                  stats: ScanStats | None = None, *, shard_size: int = DEFAULT_SHARD_SIZE,
                  max_in_flight: int | None = None) -> ScanStats:
    """Scan ``targets`` on a Dask cluster; ``on_result`` is called (in this thread) per domain.

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
        _drive(client, as_completed, make_shards(targets, options, profile, shard_size),
               limit, on_result, stats)
    finally:
        if own_client:
            client.close()
    return stats


def _drive(client, as_completed, shards: Iterator[Shard], limit: int,
           on_result: Callable[[DomainResult], None], stats: ScanStats) -> None:
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
            results: Iterable[DomainResult] = map(decode_result, outcome.results)
        except Exception as exc:   # the worker's error, re-raised here; keep the scan going
            results = failed_shard_results(shard, f"{type(exc).__name__}: {exc}")
        for r in results:
            stats.completed += 1
            stats.errors += r.status == "error"
            on_result(r)
        future.release()
        nxt = submit_next()
        if nxt is not None:
            queue.add(nxt)
    stats.finished = time.time()
