"""The Python entry point. The command line is a thin layer over ``run_scan``.

    >>> import scanner
    >>> results = scanner.scan(["example.com"], nameservers=[("127.0.0.1", 5353)], timeout=3)
    >>> results[0].verdict.compliant, [(f.check, f.status.value) for f in results[0].findings]

``scan`` returns per-domain results in input order. For long lists pass ``on_result`` and
``keep_results=False``: results are then handed over as each domain completes and nothing
accumulates in memory.
"""
from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Container, Iterable

from .context import ScanContext
from .errors import UsageError
from .inputs import Target, targets_from_strings
from .options import ScanOptions
from .evidence import DomainEvidence
from .pipeline import DomainResult, ScanStats, collect_stream, judge
from .profiles import Profile, load_profile
from .registry import all_checks


def make_options(**overrides: object) -> ScanOptions:
    names = {f.name for f in dataclasses.fields(ScanOptions)}
    unknown = set(overrides) - names
    if unknown:
        raise UsageError(f"unknown scan option(s): {', '.join(sorted(unknown))}")
    if "nameservers" in overrides:
        overrides["nameservers"] = tuple(tuple(ns) for ns in overrides["nameservers"])  # type: ignore[union-attr]
    for key in ("ports", "dkim_selectors"):
        if key in overrides:
            overrides[key] = tuple(overrides[key])  # type: ignore[arg-type]
    return ScanOptions(**overrides)  # type: ignore[arg-type]


def get_profile(name_or_path: str) -> Profile:
    return load_profile(name_or_path, set(all_checks()))


async def run_scan(targets: Iterable[Target], options: ScanOptions, profile: Profile,
                   on_result: Callable[[DomainResult], None], stats: ScanStats | None = None,
                   *, skip: Container[int] = ()) -> ScanStats:
    """Scan every target; call ``on_result`` for each domain as it completes.

    ``skip``: input positions already done (a resumed scan)."""
    return await collect_scan(targets, options, lambda ev: on_result(judge(ev, profile)),
                              stats, skip=skip)


async def collect_scan(targets: Iterable[Target], options: ScanOptions,
                       on_evidence: Callable[[DomainEvidence], None],
                       stats: ScanStats | None = None, *, skip: Container[int] = ()) -> ScanStats:
    """``run_scan`` without the evaluation: ``on_evidence`` gets each domain's evidence as
    it completes (the scan command judges it in its report worker, on the other core)."""
    stats = stats if stats is not None else ScanStats()
    ctx = ScanContext.create(options)
    async for ev in collect_stream(ctx, targets, stats=stats, skip=skip):
        on_evidence(ev)
    return stats


def scan(domains: Iterable[str | Target], *, profile: str = "baseline",
         on_result: Callable[[DomainResult], None] | None = None, keep_results: bool = True,
         **options: object) -> list[DomainResult]:
    """Scan domains (strings or Targets); returns results in input order (if kept)."""
    opts = make_options(profile=profile, **options)
    prof = get_profile(profile)
    items = list(domains) if not isinstance(domains, (list, tuple)) else domains
    targets = [t for t in items if isinstance(t, Target)] + list(
        targets_from_strings(s for s in items if isinstance(s, str)))
    kept: list[DomainResult] = []

    def collect(r: DomainResult) -> None:
        if on_result is not None:
            on_result(r)
        if keep_results:
            kept.append(r)

    asyncio.run(run_scan(targets, opts, prof, collect))
    return sorted(kept, key=lambda r: r.evidence.position)
