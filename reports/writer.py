"""The one report writer: domains.csv, findings.csv, results.jsonl (or results.jsonl.gz,
``gzip_jsonl``) and report.html from results fed one at a time, in input order. Every route that writes reports uses it: a scan
in one process, the report worker alongside a scan, ``mxaudit report`` and a Dask scan.

One streaming pass feeds the tabular files and the HTML spools, so each result is read
once; the page layout (full, compact or summary-only details) is chosen up front from the
number of results. The four files are renamed into place together when all are whole, and
manifest.json (reports/manifest.py: every file's SHA-256) is written after them.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import ExitStack
from pathlib import Path

from scanner.profiles import Profile
from scanner.checks import all_checks
from scanner.result import DomainResult

from .files import FileSet
from . import html, pdf as paper
from .html import HtmlSpool
from .manifest import describe, publish
from .summary import Summary
from .tabular import tabular_writer

Trend = Callable[[str], list]    # domain -> its recent results (report.html's trend column)


def layout(count: int) -> tuple[bool, bool]:
    """(compact details, any details) for a report of ``count`` domains."""
    return count > html.FULL_DETAIL_LIMIT, count <= html.DETAIL_LIMIT


class ReportWriter:
    """``add`` each result in input order, then ``finish``; leaving the ``with`` block
    without finishing discards the new files and leaves the old ones in place."""

    def __init__(self, out: Path, profile: Profile, meta: dict, *, count: int,
                 trend: Trend | None = None, check_ids: list[str] | None = None,
                 pdf: bool = False, gzip_jsonl: bool = False) -> None:
        self.out, self.layout = Path(out), layout(count)
        self._profile, self._pdf = profile, pdf
        self._files = FileSet()
        self._stack = ExitStack()
        compact, details = self.layout
        self._page = self._stack.enter_context(
            HtmlSpool(meta, profile, trend, compact=compact, details=details,
                      paper=pdf and count <= paper.DETAIL_LIMIT))
        self._add, self.summary = self._stack.enter_context(tabular_writer(
            self.out, list(all_checks()) if check_ids is None else check_ids, profile,
            self._files, gzip_jsonl=gzip_jsonl))

    def __enter__(self) -> "ReportWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.__exit__(*exc)    # no-op after finish
        self._files.discard()

    def add(self, r: DomainResult) -> None:
        self._add(r)
        self._page.add(r)

    @property
    def fits(self) -> bool:
        """Whether the layout chosen up front suits the number of results actually added
        (an interrupted scan ends with fewer than it announced)."""
        sections = self._pdf and self.summary.domains <= paper.DETAIL_LIMIT
        return (layout(self.summary.domains) == self.layout
                and sections == (self._page.paper is not None))

    def finish(self, diff: object = None, meta: dict | None = None) -> Summary:
        """Write report.html (with ``diff``, the "since the previous scan" section, and
        ``meta`` if it changed since the start) and report.pdf if asked, then put the whole
        set in place and write its manifest."""
        if meta is not None:
            self._page.meta = meta
        self._page.finish(self._files, self.out, self.summary, diff)
        if self._pdf:
            self._page.print_pdf(self._files, self.out, self.summary, diff)
        self._stack.close()
        publish(self._files, self.out, describe(self._page.meta, self._profile, self.summary, diff))
        return self.summary


def write_reports(out: Path, results: Iterable[DomainResult], profile: Profile, meta: dict, *,
                  count: int | None = None, diff: object = None, trend: Trend | None = None,
                  check_ids: list[str] | None = None, pdf: bool = False,
                  gzip_jsonl: bool = False) -> Summary:
    """All four outputs (five with ``pdf``) and the manifest from ``results`` (in input
    order) graded under ``profile``. ``count``: how many there are, when ``results`` has no
    ``len()``; ``gzip_jsonl``: results.jsonl.gz instead of results.jsonl."""
    if count is None:
        count = len(results)  # type: ignore[arg-type]
    with ReportWriter(out, profile, meta, count=count, trend=trend, check_ids=check_ids,
                      pdf=pdf, gzip_jsonl=gzip_jsonl) as w:
        for r in results:
            w.add(r)
        return w.finish(diff)
