"""report.html: one self-contained, autoescaped file rendered from templates/ with Jinja2.

Streaming with constant memory: the domain table comes before the per-domain details in the
document, but both are made from one pass over the results, so each domain's table row and
details are rendered as it streams by into two spool files, and the page is then assembled
from head + table spool + details spool. The summary (and so the charts) was computed in
the tabular pass before.

Everything from DNS or a server is hostile: it reaches the page only through Jinja2's
autoescaping (or ``html.escape`` in charts.py), and a Content-Security-Policy forbids every
fetch, so even an escaping bug could not load anything. What the page shows per domain is
computed in Python first (reports/domain_view.py; its evidence part, read defensively, in
reports/evidence_view.py).
"""
from __future__ import annotations

import tempfile
from dataclasses import replace
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import TextIO

import jinja2
from markupsafe import Markup

from scanner import rating
from scanner.explain import explain, grade_class
from scanner.findings import SEVERITY, Finding
from scanner.profiles import Profile
from scanner.checks import all_checks
from scanner.result import DomainResult

from . import charts
from .badges import badge, grade_badge, verdict_badge
from .files import FileSet
from .domain_view import domain_context
from .html_parts import SharedParts
from .summary import Summary

# Above this many domains the details are compact: non-pass findings in full (remediation,
# reference), passing/skipped checks one row per category, evidence without transcripts and
# certificate detail (all of it stays in results.jsonl and findings.csv). Measured by
# bench/report_size.py: full detail costs ~25 KB per domain, compact ~4 KB.
FULL_DETAIL_LIMIT = 1000
# Above this many, per-domain details are left out of the HTML altogether (a 100,000-domain
# scan made a 658 MB page): the summary and the domain table stay; every finding is in
# findings.csv and all evidence in results.jsonl.
DETAIL_LIMIT = 20_000
CHUNK = 1 << 16


def template_dir() -> Path:
    """Installed wheels carry the templates as reports/templates; a source tree has ./templates."""
    packaged = Path(str(resources.files("reports"))) / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "templates"


def paper_stylesheet() -> str:
    """templates/paper.css: the paged layout of report.pdf, added to the page for paper."""
    return (template_dir() / "paper.css").read_text(encoding="utf-8")


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(template_dir())),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True,
                             bytecode_cache=_bytecode_cache())
    env.filters["worst_first"] = _worst_first
    env.globals["grade_rank"] = rating.grade_rank
    env.globals["grade_class"] = grade_class
    env.globals.update(badge=badge, grade_badge=grade_badge, verdict_badge=verdict_badge)
    return env


class _CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """Jinja2's on-disk cache of compiled templates, which must never fail a report.

    Compiling the templates took ~0.25 s of every process that renders (a tenth of a short
    scan's CPU, py-spy); the cache keeps the compiled code per template name and file and
    drops it when the template's source changes (Jinja2 checks a checksum). Its directory is
    Jinja2's per-user one in the temporary directory, which Jinja2 creates 0700 and refuses
    when another user owns it or it is open to others (then mxaudit compiles, as before).
    Writes are atomic (a temporary file renamed); a cache that cannot be read or written
    (full disk, read-only file system) is ignored."""

    def load_bytecode(self, bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, ValueError, EOFError):
            bucket.reset()

    def dump_bytecode(self, bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    try:
        return _CompiledTemplates()
    except (OSError, RuntimeError):   # no safe per-user directory
        return None


def _worst_first(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: -SEVERITY[f.status])


class HtmlSpool:
    """report.html built from results added one at a time: each domain's table row and
    details go to two spool files as it streams by (``write_reports`` feeds it from the same
    pass as the tabular files, so each stored result is decoded once)."""

    def __init__(self, meta: dict, profile: Profile, trend: object = None, *, compact: bool,
                 details: bool = True, paper: bool = False) -> None:
        self.env = environment()
        self.specs = all_checks()
        self.meta, self.trend, self.compact = meta, trend, compact
        self.with_details = details
        self.profile = profile
        self.domain = self.env.get_template("_domain.html.j2").module
        self.parts = SharedParts(self.domain)   # endpoints and finding rows rendered once
        self.rows = tempfile.TemporaryFile("w+", encoding="utf-8")
        self.details = tempfile.TemporaryFile("w+", encoding="utf-8")
        # report.pdf's per-domain sections, compact whatever the page's layout (reports/pdf.py)
        self.paper = tempfile.TemporaryFile("w+", encoding="utf-8") if paper else None

    def __enter__(self) -> "HtmlSpool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.rows.close()
        self.details.close()
        if self.paper is not None:
            self.paper.close()

    def add(self, r: DomainResult) -> None:
        ctx = domain_context(r, self.specs, self.profile, compact=self.compact)
        self.rows.write(self.domain.row(r, ctx))
        if self.with_details or self.paper is not None:
            ctx.rating = explain(r, self.profile)
        if self.with_details:
            self.details.write(self.domain.details(r, ctx, self.trend, self.compact,
                                                     self.parts))
        if self.paper is not None:
            on_paper = ctx if self.compact else replace(
                domain_context(r, self.specs, self.profile, compact=True), rating=ctx.rating)
            self.paper.write(self.domain.details(r, on_paper, self.trend, True, self.parts))

    def finish(self, files: FileSet, out: Path, summary: Summary, diff: object = None) -> None:
        """report.html, whole, into ``files`` (committed with the rest of the set)."""
        with files.text(out / "report.html") as fh:
            for chunk in self._generate(summary, diff, compact=self.compact,
                                        with_details=self.with_details, details=self.details):
                fh.write(chunk)

    def print_pdf(self, files: FileSet, out: Path, summary: Summary, diff: object = None) -> None:
        """report.pdf into ``files``: the same page for paper (reports/pdf.py's limits)."""
        from . import pdf

        with tempfile.TemporaryFile("w+", encoding="utf-8") as page:
            for chunk in self._generate(
                    summary, diff, compact=True, paper=True, details=self.paper,
                    with_details=self.paper is not None and summary.domains <= pdf.DETAIL_LIMIT,
                    with_table=summary.domains <= pdf.TABLE_LIMIT):
                page.write(chunk)
            with files.binary(out / "report.pdf") as fh:
                pdf.write_pdf(page, fh)

    def _generate(self, summary: Summary, diff: object, *, compact: bool, with_details: bool,
                  details: TextIO | None, paper: bool = False,
                  with_table: bool = True) -> Iterator[str]:
        page = self.env.get_template("report.html.j2")
        drawn = summary_charts(summary, self.specs)
        if paper:
            drawn = {name: charts.for_paper(chart) for name, chart in drawn.items()}
        return page.generate(
            summary=summary, meta=self.meta, diff=diff, trend=self.trend, profile=self.profile,
            charts=drawn, specs=self.specs,
            group_titles=_group_titles(), compact=compact, with_details=with_details,
            rating=rating, paper=paper, with_table=with_table,
            paper_css=Markup(paper_stylesheet()) if paper else "",
            table_rows=_spool(self.rows) if with_table else iter(()),
            domain_details=_spool(details) if with_details and details is not None else iter(()))


def _spool(fh: TextIO) -> Iterator[Markup]:
    """Already-escaped HTML back from a spool file, in chunks."""
    fh.seek(0)
    while chunk := fh.read(CHUNK):
        yield Markup(chunk)


def _group_titles() -> dict[str, str]:
    from scanner.verdict import GROUP_TITLES

    return GROUP_TITLES


# ------------------------------------------------------------------------ summary charts
def summary_charts(summary: Summary, specs: dict) -> dict[str, Markup]:
    out = {"verdicts": charts.stacked_bar(
        [("compliant", summary.compliant, "c-pass"),
         ("not compliant", summary.not_compliant, "c-fail"),
         ("could not test", summary.undetermined, "c-error")], "Domains by verdict")}
    failing = summary.failing_checks()[:15]
    if failing:
        rows = [(c, [(fails, "c-fail", "fail"), (errors, "c-error", "could not test")])
                for c, fails, errors in failing]
        out["failing"] = charts.horizontal_bars(rows, "Domains failing each check (top 15)",
                                                scale=max(summary.domains, 1))
    if summary.domains - summary.invalid:
        out["scores"] = charts.histogram(summary.score_buckets(), "Domains by score")
    if summary.domains:
        out["grades"] = charts.histogram(summary.grade_buckets(), "Domains by grade", what="grade")
    return out
