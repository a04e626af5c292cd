"""The collection of a scan: targets in, each domain's evidence out to a sink, as it completes.

A fixed pool of asyncio workers pulls targets from the (streamed) input, so memory holds
only the domains in flight, never the whole list (``collect_stream``); run/cluster.py runs
the same collection on a Dask cluster, shard by shard. Either way every domain's evidence
goes to one *sink*: ``judging`` judges it here and hands the result on; the scan command's
sink sends it to the report worker (run/worker.py), which judges it there and falls back to
``judging`` for what it cannot take.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Container, Iterable
from dataclasses import dataclass, field

from scanner.collect.context import ScanContext
from scanner.collect.domain import collect_domain
from scanner.evidence import DomainEvidence
from scanner.evidence.environment import ScanEnvironment
from scanner.inputs import Target
from scanner.options import ScanOptions
from scanner.profiles import Profile
from scanner.result import DomainResult, judge

Sink = Callable[[DomainEvidence], None]


@dataclass
class ScanStats:
    domains: int = 0
    completed: int = 0
    errors: int = 0
    started: float = field(default_factory=time.time)
    finished: float = 0.0
    # what the scan learnt about its own network (notes, throttling MX hosts); with Dask
    # the shards' views merged
    environment: ScanEnvironment = field(default_factory=ScanEnvironment)


def judging(profile: Profile, on_result: Callable[[DomainResult], None]) -> Sink:
    """The sink that judges each domain in this process."""
    return lambda ev: on_result(judge(ev, profile))


class _Crashed:
    """A collection worker's exception, passed to the consumer (which re-raises it)."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


async def collect_stream(ctx: ScanContext, targets: Iterable[Target],
                         *, stats: ScanStats | None = None, first_position: int = 0,
                         skip: Container[int] = ()) -> AsyncIterator[DomainEvidence]:
    """Yield each domain's evidence as soon as it is collected (not in input order).
    Positions in ``skip`` (already finished by an interrupted run) are not scanned again.
    An exception in a worker (from the input stream, say) ends the stream with it, never
    with a consumer left waiting."""
    stats = stats if stats is not None else ScanStats()
    queue: asyncio.Queue[DomainEvidence | _Crashed | None] = asyncio.Queue(
        maxsize=max(ctx.options.concurrency, 1) * 2)
    source = ((i, t) for i, t in enumerate(targets, first_position) if i not in skip)

    async def worker() -> None:
        try:
            for position, target in source:
                stats.domains += 1
                await queue.put(await collect_domain(ctx, target, position))
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, re-raised there
            await queue.put(_Crashed(exc))
            return
        await queue.put(None)

    n_workers = max(ctx.options.concurrency, 1)
    ctx.env.start(ctx)
    workers = [asyncio.create_task(worker()) for _ in range(n_workers)]
    try:
        done = 0
        while done < n_workers:
            item = await queue.get()
            if item is None:
                done += 1
                continue
            if isinstance(item, _Crashed):
                raise item.exc
            stats.completed += 1
            stats.errors += bool(item.error)
            yield item
        await ctx.env.settle()
    finally:
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        ctx.env.stop()
        stats.environment = stats.environment.merged(ctx.env.summary(ctx.limiter.throttled()))
        stats.finished = time.time()


async def collect_all(targets: Iterable[Target], options: ScanOptions, sink: Sink,
                      stats: ScanStats | None = None, *, first_position: int = 0,
                      skip: Container[int] = ()) -> ScanStats:
    """Collect every target in this process's event loop, each domain to ``sink``."""
    stats = stats if stats is not None else ScanStats()
    ctx = ScanContext.create(options)
    async for ev in collect_stream(ctx, targets, stats=stats, first_position=first_position,
                                   skip=skip):
        sink(ev)
    return stats
