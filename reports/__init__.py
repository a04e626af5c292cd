"""Renderers: domains.csv, findings.csv, results.jsonl and report.html from stored results.

Reports read only findings, evidence and scan metadata; they never touch the network.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from scanner.pipeline import DomainResult

from .html import DETAIL_LIMIT, FULL_DETAIL_LIMIT, HtmlSpool, write_html
from .summary import Summary
from .tabular import tabular_writer, write_tabular

__all__ = ["Summary", "write_reports"]


def write_reports(out: Path, results: Callable[[], Iterable[DomainResult]],
                  check_ids: list[str], meta: dict, diff: object = None,
                  trend: object = None) -> Summary:
    """Write all four outputs. When ``results()`` knows its length (lists, the store's
    streams) one streaming pass feeds both the tabular files and the HTML spools, so each
    stored result is decoded once (the bench profile showed the read-back at ~17% of a
    scan); otherwise ``results`` is called twice, the first pass counting for the HTML's
    compact mode."""
    out = Path(out)
    stream = results()
    try:
        count = len(stream)  # type: ignore[arg-type]
    except TypeError:
        summary = write_tabular(out, stream, check_ids)
        write_html(out, results(), summary, meta, diff=diff, trend=trend)
        return summary
    with HtmlSpool(meta, trend, compact=count > FULL_DETAIL_LIMIT,
                   details=count <= DETAIL_LIMIT) as page:
        with tabular_writer(out, check_ids) as (add, summary):
            for r in stream:
                add(r)
                page.add(r)
        page.finish(out, summary, diff)
    return summary
