"""Renderers: domains.csv, findings.csv, results.jsonl and report.html from results.

Reports read only findings, evidence and scan metadata; they never touch the network.
``ReportWriter`` is the one writer; ``stored.render_scan`` renders a stored scan with its
history sections; ``diff`` compares two stored scans.
"""
from __future__ import annotations

from .summary import Summary
from .writer import ReportWriter, write_reports

__all__ = ["ReportWriter", "Summary", "write_reports"]
