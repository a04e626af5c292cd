"""A command-line scan: the collection (run/stream.py, or run/cluster.py with ``--dask``) with
the history store, the report worker, stop signals, the reports and the exit status around it.
"""
from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from scanner.collect.domain import now_iso
from scanner.evidence import DomainEvidence
from scanner.evidence.environment import ScanEnvironment
from scanner.inputs import Target
from scanner.options import ScanOptions
from scanner.errors import OutputError
from scanner.profiles import Profile
from scanner.rating import distribution_text
from scanner.result import DomainResult
from scanner.run.stream import ScanStats, Sink, collect_all, judging

EXIT_INTERRUPTED = 3


@dataclass
class Job:
    """One scan as the command line runs it."""
    store: object                # scanner.store.Store
    record: object               # its ScanRecord
    options: ScanOptions
    profile: Profile
    out: Path | None             # the report folder; None: store only (mxaudit check --db)
    progress: object             # scanner.run.progress.Progress
    fail_on: str | None = None
    total: int | None = None     # domains expected (None: unknown, e.g. stdin)
    done: set[int] = field(default_factory=set)   # positions finished before (resume)
    dask: str | None = None      # a Dask scheduler address
    # each result as it is judged, in this process (mxaudit check shows them): the report
    # worker, which judges elsewhere, is then not used
    on_result: Callable[[DomainResult], None] | None = None
    pdf: bool = False            # report.pdf with the reports
    metrics: Path | None = None  # the Prometheus text file written at the end
    metrics_domains: bool = False   # per-domain series in it
    gzip_jsonl: bool = False     # results.jsonl.gz instead of results.jsonl (--out-compress)
    workers: int | None = None   # collector processes (None: one per core, fewer for short lists)


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
    began = time.monotonic()
    progress.event("start", scan=scan_id, resumed=bool(job.done) or None, total=job.total,
                   already_done=len(job.done) or None, profile=profile.name,
                   out=None if job.out is None else str(job.out))
    matched = False
    counts = {"domains": 0, "compliant": 0, "errors": 0}   # the summary's, without reports
    grades: Counter[str] = Counter()

    def count(ev: DomainEvidence, compliant: bool, grade: str) -> None:
        counts["domains"] += 1
        counts["compliant"] += compliant
        counts["errors"] += bool(ev.error)
        grades[grade] += 1

    def stored(r: DomainResult) -> None:      # judged in this process
        nonlocal matched
        store.add_result(scan_id, r)
        matched = matched or fail_on_matches(r, profile, job.fail_on)
        count(r.evidence, r.verdict.compliant, r.verdict.grade)
        progress.tick(r)
        if job.on_result is not None:
            job.on_result(r)

    def acknowledged(ev: DomainEvidence, compliant: bool, score: int, failed: bool,
                     grade: str) -> None:
        nonlocal matched                        # judged and stored by the report worker
        matched = matched or failed
        count(ev, compliant, grade)
        progress.domain_done(ev.domain or ev.input, "error" if ev.error else "ok",
                             compliant, score, grade)

    here = judging(profile, stored)
    worker = (ReportWorker.start(store.path, scan_id, job.out, profile, job.total, job.fail_on,
                                 pdf=job.pdf, gzip_jsonl=job.gzip_jsonl)
              if wanted(job.total) and job.out is not None and job.on_result is None else None)
    sink = here if worker is None else worker.sink(here, acknowledged)
    stats = ScanStats()
    try:
        with store.lock(scan_id), StopSignals() as stop:
            _collect(targets, job.options, sink, stats, stop, worker=worker, dask=job.dask,
                     skip=job.done, workers=job.workers, total=job.total)
            if worker is not None:
                worker.drain()                  # every domain stored before the counts
            progress.close()
            interrupted = stop.received
            store.end_scan(scan_id, now_iso())
            store.set_environment(scan_id, stats.environment)
            summary = (_reports(job, worker, progress) if job.out is not None else
                       {**counts, "grades": distribution_text(grades), "reports_by": None,
                        "report_seconds": 0.0})
            # a signal while the reports were written counts too: the state and the exit
            # status must agree (an interrupted scan is resumable, a complete one is not)
            interrupted = interrupted or stop.received
            store.set_state(scan_id, INTERRUPTED if interrupted else COMPLETE)
            if job.metrics is not None:
                _metrics(job, not interrupted, time.monotonic() - began, progress)
    finally:
        if worker is not None:
            worker.abandon()
    status = EXIT_INTERRUPTED if interrupted else (1 if matched else 0)
    if interrupted:
        progress.event("interrupted", level="warning", scan=scan_id, signal=interrupted,
                       finished=summary["domains"], hint="mxaudit scan --resume continues it")
    progress.event("summary", scan=scan_id, state=INTERRUPTED if interrupted else COMPLETE,
                   domains=summary["domains"], compliant=summary["compliant"],
                   grades=summary.get("grades"), incomplete=summary["errors"],
                   profile=profile.name,
                   seconds=round(max(stats.finished - stats.started, 0.0), 1),
                   report_seconds=summary["report_seconds"], reports_by=summary["reports_by"],
                   out=None if job.out is None else str(job.out), exit=status,
                   **environment_fields(stats.environment))
    return status


def environment_fields(env: ScanEnvironment) -> dict:
    """The summary event's ``environment`` (every note) and ``throttled`` (the MX hosts that
    throttled the scan, and what they cost) fields."""
    return {"environment": [{"id": n.id, "status": n.status, "message": n.message,
                             "domains": n.domains, "endpoints": n.endpoints} for n in env.notes],
            "throttled": [{"ip": t.ip, "hosts": list(t.hosts), "refusals": t.refusals,
                           "waited_s": t.waited, "reply": t.reply} for t in env.throttled]}


def run_unstored(targets: Iterable[Target], options: ScanOptions, profile: Profile,
                 on_result: Callable[[DomainResult], None], *, fail_on: str | None = None,
                 dask: str | None = None, progress=None, workers: int | None = None,
                 total: int | None = None) -> int:
    """A scan that keeps nothing (``mxaudit check`` without --out/--db): each result to
    ``on_result`` as it is judged; the exit status as ``run_job``'s (0, 1 for --fail-on,
    3 interrupted: what finished was handed over)."""
    from scanner.verdict import fail_on_matches

    matched, finished = False, 0

    def judged(r: DomainResult) -> None:
        nonlocal matched, finished
        matched = matched or fail_on_matches(r, profile, fail_on)
        finished += 1
        if progress is not None:
            progress.tick(r)
        on_result(r)

    stats = ScanStats()
    with StopSignals() as stop:
        _collect(targets, options, judging(profile, judged), stats, stop, dask=dask,
                 workers=workers, total=total)
    if progress is not None:
        progress.close()
        for note in stats.environment.notes:      # said once, not blamed on each domain
            if note.status == "warn":
                progress.event("environment", level="warning", id=note.id,
                               message=note.message)
    if stop.received:
        if progress is not None:
            progress.event("interrupted", level="warning", signal=stop.received,
                           finished=finished)
        return EXIT_INTERRUPTED
    return 1 if matched else 0


def _collect(targets: Iterable[Target], options: ScanOptions, sink: Sink, stats: ScanStats,
             stop: StopSignals, *, worker=None, dask: str | None = None,
             skip: set[int] | frozenset[int] = frozenset(), workers: int | None = None,
             total: int | None = None) -> None:
    """The collection, on a Dask cluster, in collector processes (``workers`` > 1 or 0 for one
    per core: run/processes.py) or in this process's event loop."""
    if dask:
        from scanner.run.cluster import collect_on_cluster
        collect_on_cluster(targets, options, sink, dask, stats)
        return
    from scanner.run.processes import collect_in_processes, default_workers
    if not workers:     # None: one process until several are measured to pay on a quiet
        # machine (docs/performance.md); 0: one collector per core, fewer for short lists
        workers = 1 if workers is None else default_workers(
            None if total is None else total - len(skip))

    async def main() -> None:
        stop.watch(asyncio.current_task())
        if worker is not None:
            worker.attach(asyncio.get_running_loop())
        try:
            if workers > 1:
                await collect_in_processes(targets, options, sink, workers, stats, skip=skip)
            else:
                await collect_all(targets, options, sink, stats, skip=skip)
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
        try:
            counts = render_scan(job.store, job.record.id, job.out, job.profile,
                                 pdf=job.pdf, gzip_jsonl=job.gzip_jsonl).counts()
        except OutputError as exc:     # the scan stays 'running': resumed, not lost
            raise OutputError(f"{exc}; the previous reports are untouched and scan "
                              f"{job.record.id} is kept: free space, then 'mxaudit scan "
                              "--resume' writes its reports") from exc
    return {**counts, "reports_by": by, "report_seconds": round(time.monotonic() - started, 1)}


def _metrics(job: Job, complete: bool, seconds: float, progress) -> None:
    """The --metrics file, from the report set just written and the history. The scan and its
    reports are done: a file that cannot be written is a warning (the stale file is what an
    alert on the last complete scan's time sees)."""
    from reports.metrics import write_scan_metrics

    last = job.store.latest_complete()
    try:
        write_scan_metrics(job.metrics, job.out, complete=complete, seconds=seconds,
                           last_complete=last.finished if last is not None else None,
                           per_domain=job.metrics_domains)
    except OSError as exc:
        progress.event("metrics", level="warning", file=str(job.metrics),
                       error=exc.strerror or str(exc))
