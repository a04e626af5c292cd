"""The pipeline: targets -> collect (I/O) -> evidence -> evaluate (pure) -> verdict.

A fixed pool of workers pulls targets from the (streamed) input, so memory holds only the
domains in flight, never the whole list. Each domain has a deadline; whatever its stages
collected before the deadline is kept, and the domain is marked as not completed.
"""
from __future__ import annotations

import asyncio
import time
from contextlib import aclosing
from collections.abc import AsyncIterator, Container, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from .collect.mx import collect_mx
from .collect.records import collect_records
from .collect.smtp import collect_smtp
from .context import ScanContext
from .evidence import DnsOutcome, DomainEvidence
from .findings import Finding
from .inputs import Target
from .profiles import Profile
from .registry import categories, evaluate
from .verdict import Verdict, grade


@dataclass(frozen=True)
class DomainResult:
    evidence: DomainEvidence
    findings: tuple[Finding, ...]
    verdict: Verdict

    @property
    def status(self) -> str:
        return domain_status(self.evidence)


def domain_status(ev: DomainEvidence) -> str:
    """`ok`, or `error` when the scan of this domain could not complete."""
    return "error" if ev.error else "ok"


@dataclass
class ScanStats:
    domains: int = 0
    completed: int = 0
    errors: int = 0
    started: float = field(default_factory=time.time)
    finished: float = 0.0


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


async def collect_domain(ctx: ScanContext, target: Target, position: int) -> DomainEvidence:
    """All network I/O for one domain, bounded by the domain deadline."""
    opts = ctx.options
    ev = DomainEvidence(position=position, input=target.input, domain=target.domain,
                        invalid_reason=target.invalid_reason,
                        dkim_selectors=tuple(dict.fromkeys(target.dkim_selectors + opts.dkim_selectors)),
                        scanned_at=now_iso(), allow_private=opts.allow_private, ports=opts.ports)
    if not ev.valid:
        return ev
    parts: dict[str, object] = {}
    try:
        async with asyncio.timeout(opts.domain_deadline):
            await _collect_parts(ctx, ev, parts)
    except TimeoutError:
        parts["error"] = f"domain deadline of {opts.domain_deadline:g}s exceeded"
    except Exception as exc:  # a collector bug must cost one domain's detail, never the domain
        parts["error"] = f"internal error while collecting: {type(exc).__name__}: {exc}"
    return replace(ev, **parts)


async def _collect_parts(ctx: ScanContext, ev: DomainEvidence, parts: dict[str, object]) -> None:
    mx = await collect_mx(ctx, ev.domain)
    parts["mx"] = mx
    if mx.lookup.outcome in (DnsOutcome.NXDOMAIN,) or not mx.lookup.outcome.answered:
        return

    async def smtp() -> None:
        if not mx.null_mx:
            parts["smtp"] = await collect_smtp(ctx, mx)

    async def records() -> None:
        parts["records"] = await collect_records(ctx, ev.domain, mx, ev.dkim_selectors)

    await asyncio.gather(smtp(), records())


def judge(ev: DomainEvidence, profile: Profile) -> DomainResult:
    """Pure: evidence -> findings -> verdict. Also used to re-grade stored scans."""
    findings = evaluate(ev)
    return DomainResult(ev, findings, grade(findings, profile, categories(), ev))


async def collect_stream(ctx: ScanContext, targets: Iterable[Target],
                         *, stats: ScanStats | None = None, first_position: int = 0,
                         skip: Container[int] = ()) -> AsyncIterator[DomainEvidence]:
    """Yield each domain's evidence as soon as it is collected (not in input order).
    Positions in ``skip`` (already finished by an interrupted run) are not scanned again.
    Evaluation is the caller's: ``scan_stream`` judges in this process, the scan command may
    hand the evidence to its report worker instead."""
    stats = stats if stats is not None else ScanStats()
    queue: asyncio.Queue[DomainEvidence | None] = asyncio.Queue(maxsize=max(ctx.options.concurrency, 1) * 2)
    source = ((i, t) for i, t in enumerate(targets, first_position) if i not in skip)

    async def worker() -> None:
        for position, target in source:
            stats.domains += 1
            await queue.put(await collect_domain(ctx, target, position))
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
            stats.completed += 1
            stats.errors += bool(item.error)
            yield item
    finally:
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        stats.finished = time.time()


async def scan_stream(ctx: ScanContext, targets: Iterable[Target], profile: Profile,
                      *, stats: ScanStats | None = None,
                      first_position: int = 0,
                      skip: Container[int] = ()) -> AsyncIterator[DomainResult]:
    """``collect_stream`` with each domain judged as it completes."""
    async with aclosing(collect_stream(ctx, targets, stats=stats, first_position=first_position,
                                       skip=skip)) as evidence:
        async for ev in evidence:
            yield judge(ev, profile)
