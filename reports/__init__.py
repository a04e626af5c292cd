"""Renderers: domains.csv, findings.csv, results.jsonl and report.html from stored results.

Reports read only findings, evidence and scan metadata; they never touch the network.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from scanner.pipeline import DomainResult

from .html import write_html
from .summary import Summary
from .tabular import write_tabular

__all__ = ["Summary", "write_reports"]


def write_reports(out: Path, results: Callable[[], Iterable[DomainResult]],
                  check_ids: list[str], meta: dict, diff: object = None,
                  trend: object = None) -> Summary:
    """Write all four outputs. ``results`` is called twice (two streaming passes)."""
    out = Path(out)
    summary = write_tabular(out, results(), check_ids)
    write_html(out, results(), summary, meta, diff=diff, trend=trend)
    return summary
