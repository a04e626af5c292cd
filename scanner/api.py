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

from scanner.errors import UsageError
from scanner.inputs import Target, targets_from_strings
from scanner.options import ScanOptions
from scanner.profiles import Profile, load_profile
from scanner.checks import all_checks
from scanner.result import DomainResult
from scanner.run.stream import ScanStats, collect_all, judging


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
    if "trust_anchors" in overrides:
        overrides["trust_anchors"] = tuple(str(p) for p in overrides["trust_anchors"])  # type: ignore[union-attr]
    return ScanOptions(**overrides)  # type: ignore[arg-type]


def get_profile(name_or_path: str) -> Profile:
    return load_profile(name_or_path, set(all_checks()))


async def run_scan(targets: Iterable[Target], options: ScanOptions, profile: Profile,
                   on_result: Callable[[DomainResult], None], stats: ScanStats | None = None,
                   *, skip: Container[int] = (), workers: int = 1) -> ScanStats:
    """Scan every target; call ``on_result`` for each domain as it completes.

    ``skip``: input positions already done (a resumed scan). ``workers``: collector
    processes (scanner/run/processes.py; 1: all in this event loop)."""
    if workers > 1:
        from scanner.run.processes import collect_in_processes
        return await collect_in_processes(targets, options, judging(profile, on_result),
                                          workers, stats, skip=skip)
    return await collect_all(targets, options, judging(profile, on_result), stats, skip=skip)


def scan(domains: Iterable[str | Target], *, profile: str = "baseline",
         on_result: Callable[[DomainResult], None] | None = None, keep_results: bool = True,
         workers: int = 1, **options: object) -> list[DomainResult]:
    """Scan domains (strings or Targets); returns results in input order (if kept).
    ``workers``: collector processes, one per core at most (1: this process only)."""
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

    asyncio.run(run_scan(targets, opts, prof, collect, workers=workers))
    return sorted(kept, key=lambda r: r.evidence.position)
