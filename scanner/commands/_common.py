"""Pieces shared by the commands: output options, --fail-on, progress, report writing."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..findings import SEVERITY, Status, domain_statuses
from ..pipeline import DomainResult
from ..profiles import Profile
from ..registry import all_checks
from ..store import Store

FAIL_ON = ("fail", "error", "warn")


def add_output_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("output")
    g.add_argument("--out", required=True, metavar="DIR",
                   help="folder for report.html, domains.csv, findings.csv, results.jsonl")
    g.add_argument("--db", type=Path, metavar="PATH",
                   help="scan history database (default ~/.local/share/mxaudit/history.sqlite)")
    g.add_argument("--fail-on", choices=FAIL_ON, metavar="STATUS",
                   help="exit 1 when a required check of the profile is at STATUS or worse for any "
                        "domain (fail; error = fail or could-not-test; warn = any of these)")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress and no summary line")


def fail_on_matches(r: DomainResult, profile: Profile, level: str | None) -> bool:
    """True when a required check of the profile is at ``level`` or worse for this domain."""
    if level is None:
        return False
    threshold = SEVERITY[Status(level)]
    statuses = domain_statuses(r.findings)
    return any(SEVERITY[statuses[req.check]] >= threshold
               for req in profile.requirements if req.check in statuses)


def finish_reports(store: Store, scan_id: int, out: Path):
    from reports import write_reports

    rec = store.scan(scan_id)
    meta = {"scan_id": rec.id, "started": rec.started, "finished": rec.finished or "",
            "profile": rec.profile, "version": rec.version}
    return write_reports(out, lambda: store.results(scan_id), list(all_checks()), meta)


class Progress:
    """A one-line progress display on a terminal; silent otherwise (cron, systemd, CI)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.done = 0
        self.started = time.monotonic()
        self._last = 0.0

    def tick(self, r: DomainResult) -> None:
        self.done += 1
        now = time.monotonic()
        if self.enabled and now - self._last > 0.2:
            self._last = now
            rate = self.done / max(now - self.started, 1e-6)
            sys.stderr.write(f"\r{self.done} domains done, {rate:.1f}/s ")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
