"""report.html: one self-contained, autoescaped file rendered from templates/ with Jinja2.

The template streams (``Template.generate``) over the scan's results, so a large scan is
rendered without holding every domain in memory; the summary is computed beforehand in
the tabular pass.
"""
from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import jinja2

from scanner.findings import SEVERITY, Finding
from scanner.pipeline import DomainResult

from .atomic import atomic_text
from .summary import Summary


def template_dir() -> Path:
    """Installed wheels carry the templates as reports/templates; a source tree has ./templates."""
    packaged = Path(str(resources.files("reports"))) / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "templates"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(template_dir())),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["worst_first"] = _worst_first
    return env


def _worst_first(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: -SEVERITY[f.status])


def write_html(out: Path, results: Iterable[DomainResult], summary: Summary, meta: dict,
               diff: object = None, trend: object = None) -> None:
    """``diff`` (since the previous scan) and ``trend`` (domain -> recent results): optional
    history sections, rendered by templates/_diff.html.j2 and _trend.html.j2."""
    template = environment().get_template("report.html.j2")
    with atomic_text(out / "report.html") as fh:
        for chunk in template.generate(results=results, summary=summary, meta=meta,
                                       diff=diff, trend=trend):
            fh.write(chunk)
