"""Pieces shared by the commands: output options, --fail-on, exit statuses, report writing.

Exit statuses: 0 the command ran; 1 --fail-on matched (diff: --fail-on-worse matched);
2 usage or input error; 3 interrupted by SIGINT/SIGTERM (what finished is kept and reported).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..findings import SEVERITY, Status, domain_statuses
from ..pipeline import DomainResult
from ..profiles import Profile
from ..registry import all_checks
from ..progress import LOG_FORMATS
from ..store import ScanRecord, Store

FAIL_ON = ("fail", "error", "warn")
EXIT_INTERRUPTED = 3


def add_output_options(p: argparse.ArgumentParser, *, out_required: bool = True) -> None:
    g = p.add_argument_group("output")
    g.add_argument("--out", required=out_required, metavar="DIR",
                   help="folder for report.html, domains.csv, findings.csv, results.jsonl; "
                        "{date}, {time} and {scan} are replaced (dated folders for nightly runs)")
    g.add_argument("--db", type=Path, metavar="PATH",
                   help="scan history database (default ~/.local/share/mxaudit/history.sqlite)")
    g.add_argument("--fail-on", choices=FAIL_ON, metavar="STATUS",
                   help="exit 1 when a required check of the profile is at STATUS or worse for any "
                        "domain (fail; error = fail or could-not-test; warn = any of these)")
    g.add_argument("-q", "--quiet", action="store_true", default=None,
                   help="no progress, no log lines and no summary line (warnings still show)")
    g.add_argument("--log-format", choices=LOG_FORMATS,
                   help="structured log lines on stderr instead of the progress bar (the default "
                        "when stderr is not a terminal: text)")


def fail_on_matches(r: DomainResult, profile: Profile, level: str | None) -> bool:
    """True when a required check of the profile is at ``level`` or worse for this domain."""
    if level is None:
        return False
    threshold = SEVERITY[Status(level)]
    statuses = domain_statuses(r.findings)
    if any(SEVERITY[statuses[req.check]] >= threshold
           for req in profile.requirements if req.check in statuses):
        return True
    # A requirement unmet on its `match` (DMARC p= is not reject, ...) is a failure although
    # the check's own status was accepted: it counts at the `fail` level.
    return threshold <= SEVERITY[Status.FAIL] and any(
        req.match is not None and req.check in r.verdict.failed
        and statuses.get(req.check) in req.accept for req in profile.requirements)


def finish_reports(store: Store, scan_id: int, out: Path, profile: Profile | None = None):
    """Write the scan's reports, with a "since the previous scan" section and trends."""
    from reports import write_reports

    rec = store.scan(scan_id)
    return write_reports(out, lambda: store.results(scan_id), list(all_checks()),
                         report_meta(rec, profile), diff=since_previous(store, rec),
                         trend=lambda domain: store.trend(domain, scan_id))


def report_meta(rec: ScanRecord, profile: Profile | None) -> dict:
    """What the report header says about the scan."""
    return {"scan_id": rec.id, "started": rec.started, "finished": rec.finished or "",
            "profile": rec.profile, "version": rec.version, "profile_spec": profile}


def since_previous(store: Store, rec: ScanRecord):
    """The report's "since the previous scan" section, or None for a first scan."""
    from .diff import DiffSummary

    previous = store.previous_scan(rec.id)
    return DiffSummary.between(store, previous, rec) if previous is not None else None
