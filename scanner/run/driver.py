"""The scan driver: targets in, each domain's evidence out to a sink, as it completes.

Locally a fixed pool of asyncio workers pulls targets from the (streamed) input, so memory
holds only the domains in flight, never the whole list (``collect_stream``); with ``dask``
the same collection runs on a cluster, shard by shard (run/cluster.py). Either way every
domain's evidence goes to one *sink*: ``judging`` judges it here and hands the result on;
the scan command's sink sends it to the report worker (run/worker.py), which judges it
there and falls back to ``judging`` for what it cannot take.

``run_job`` is a whole command-line scan around that: the store, the report worker, stop
signals, the reports and the exit status.
"""
from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Container, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from scanner.collect.context import ScanContext
from scanner.collect.domain import collect_domain, now_iso
from scanner.evidence import DomainEvidence
from scanner.inputs import Target
from scanner.options import ScanOptions
from scanner.profiles import Profile
from scanner.result import DomainResult, judge

Sink = Callable[[DomainEvidence], None]
EXIT_INTERRUPTED = 3


@dataclass
class ScanStats:
    domains: int = 0
    completed: int = 0
    errors: int = 0
    started: float = field(default_factory=time.time)
    finished: float = 0.0


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
    finally:
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
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


# ----------------------------------------------------------------- a command-line scan
@dataclass
class Job:
    """One scan as the command line runs it."""
    store: object                # scanner.store.Store
    record: object               # its ScanRecord
    options: ScanOptions
    profile: Profile
    out: Path
    progress: object             # scanner.run.progress.Progress
    fail_on: str | None = None
    total: int | None = None     # domains expected (None: unknown, e.g. stdin)
    done: set[int] = field(default_factory=set)   # positions finished before (resume)
    dask: str | None = None      # a Dask scheduler address
    gzip_jsonl: bool = False     # results.jsonl.gz instead of results.jsonl (--out-compress)


class StopSignals:
    """SIGINT/SIGTERM: the first one stops the scan (in-flight domains are abandoned, finished
    ones are kept, the reports are still written, exit 3); a second one kills at once."""

    def __init__(self) -> None:
        self.received: str | None = None
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._saved = {}

    def __enter__(self) -> "StopSignals":
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)

    def watch(self, task: asyncio.Task) -> None:
        self._task, self._loop = task, asyncio.get_running_loop()
        if self.received:
            task.cancel()

    def _handle(self, signum: int, frame: object) -> None:
        if self.received is not None:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        self.received = signal.Signals(signum).name
        if self._task is not None and self._loop is not None and not self._task.done():
            self._loop.call_soon_threadsafe(self._task.cancel)


def run_job(job: Job, targets: Iterable[Target]) -> int:
    """Scan, store, report; the exit status (0, 1 for --fail-on, 3 interrupted)."""
    from scanner.run.worker import ReportWorker, wanted
    from scanner.store import COMPLETE, INTERRUPTED
    from scanner.verdict import fail_on_matches

    store, scan_id, profile, progress = job.store, job.record.id, job.profile, job.progress
    progress.event("start", scan=scan_id, resumed=bool(job.done) or None, total=job.total,
                   already_done=len(job.done) or None, profile=profile.name, out=str(job.out))
    matched = False

    def stored(r: DomainResult) -> None:      # judged in this process
        nonlocal matched
        store.add_result(scan_id, r)
        matched = matched or fail_on_matches(r, profile, job.fail_on)
        progress.tick(r)

    def acknowledged(ev: DomainEvidence, compliant: bool, score: int, failed: bool) -> None:
        nonlocal matched                        # judged and stored by the report worker
        matched = matched or failed
        progress.domain_done(ev.domain or ev.input, "error" if ev.error else "ok",
                             compliant, score)

    here = judging(profile, stored)
    worker = (ReportWorker.start(store.path, scan_id, job.out, profile, job.total, job.fail_on,
                                 gzip_jsonl=job.gzip_jsonl)
              if wanted(job.total) else None)
    sink = here if worker is None else worker.sink(here, acknowledged)
    stats = ScanStats()
    try:
        with store.lock(scan_id), StopSignals() as stop:
            _collect(job, targets, sink, stats, stop, worker)
            if worker is not None:
                worker.drain()                  # every domain stored before the counts
            progress.close()
            interrupted = stop.received
            store.end_scan(scan_id, now_iso())
            summary = _reports(job, worker, progress)
            store.set_state(scan_id, INTERRUPTED if interrupted else COMPLETE)
            interrupted = interrupted or stop.received
    finally:
        if worker is not None:
            worker.abandon()
    status = EXIT_INTERRUPTED if interrupted else (1 if matched else 0)
    if interrupted:
        progress.event("interrupted", level="warning", scan=scan_id, signal=interrupted,
                       finished=summary["domains"], hint="mxaudit scan --resume continues it")
    progress.event("summary", scan=scan_id, state=INTERRUPTED if interrupted else COMPLETE,
                   domains=summary["domains"], compliant=summary["compliant"],
                   incomplete=summary["errors"], profile=profile.name,
                   seconds=round(max(stats.finished - stats.started, 0.0), 1),
                   report_seconds=summary["report_seconds"], reports_by=summary["reports_by"],
                   out=str(job.out), exit=status)
    return status


def _collect(job: Job, targets: Iterable[Target], sink: Sink, stats: ScanStats,
             stop: StopSignals, worker) -> None:
    """The collection, on a Dask cluster or in this process's event loop."""
    if job.dask:
        from scanner.run.cluster import collect_on_cluster
        collect_on_cluster(targets, job.options, sink, job.dask, stats)
        return

    async def main() -> None:
        stop.watch(asyncio.current_task())
        if worker is not None:
            worker.attach(asyncio.get_running_loop())
        try:
            await collect_all(targets, job.options, sink, stats, skip=job.done)
        except asyncio.CancelledError:
            if stop.received is None:
                raise
        finally:
            if worker is not None:
                worker.detach()

    asyncio.run(main())


def _reports(job: Job, worker, progress) -> dict:
    """Wait for the report worker's files (written alongside the scan), else render them
    here. The summary's counts, who wrote the reports and how long the scan waited for them."""
    from reports.stored import render_scan

    started = time.monotonic()
    counts = worker.finish() if worker is not None else None
    if worker is not None and counts is None:
        progress.event("report-worker", level="warning", error=worker.error,
                       hint="reports written by the scan process instead")
    by = "scan" if counts is None else "worker"
    if counts is None:
        counts = render_scan(job.store, job.record.id, job.out, job.profile,
                             gzip_jsonl=job.gzip_jsonl).counts()
    return {**counts, "reports_by": by, "report_seconds": round(time.monotonic() - started, 1)}
