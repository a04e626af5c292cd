"""Renderers: domains.csv, findings.csv, results.jsonl and report.html from results.

Reports read only findings, evidence and scan metadata; they never touch the network.
``ReportWriter`` is the one writer; ``stored.render_scan`` renders a stored scan with its
history sections; ``diff`` compares two stored scans.
"""
from __future__ import annotations

__all__ = ["ReportWriter", "Summary", "write_reports"]


def __getattr__(name: str):
    """Imported on first use: a scan that hands its reports to the report worker, or a
    command that only needs ``reports.files``, never loads the renderers (Jinja2 and the
    HTML code: a good part of every command's start-up)."""
    if name == "Summary":
        from .summary import Summary
        return Summary
    if name in ("ReportWriter", "write_reports"):
        from . import writer
        return getattr(writer, name)
    raise AttributeError(f"module 'reports' has no attribute {name!r}")
