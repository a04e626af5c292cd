"""`mxaudit report SCAN`: re-render a stored scan, optionally re-graded under another profile.
No network: the stored evidence is evaluated again by the same pure checks."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..api import get_profile
from ..errors import UsageError
from ..pipeline import judge
from ..registry import all_checks
from ..store import Store, default_db_path
from ._common import fail_on_matches
from .scan import ensure_folder


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="re-render (and re-grade) a stored scan, offline",
                       description="Re-evaluate a stored scan's evidence and write its reports "
                                   "again, optionally under another profile. Touches no network.")
    p.add_argument("scan", metavar="SCAN", help="scan ID (see 'mxaudit history') or 'latest'")
    p.add_argument("--profile", metavar="NAME|FILE", help="grade under this profile "
                   "(default: the scan's own)")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--db", type=Path, metavar="PATH", help="scan history database")
    p.add_argument("--fail-on", choices=("fail", "error", "warn"), metavar="STATUS")
    p.set_defaults(func=run)


def resolve_scan_id(store: Store, text: str) -> int:
    scans = store.scans()
    if not scans:
        raise UsageError(f"no scans in {store.path}")
    if text == "latest":
        return scans[-1].id
    if text == "previous":
        if len(scans) < 2:
            raise UsageError("there is no previous scan")
        return scans[-2].id
    if not text.isdigit() or all(s.id != int(text) for s in scans):
        raise UsageError(f"no scan {text!r} in {store.path} (see 'mxaudit history')")
    return int(text)


def run(args: argparse.Namespace) -> int:
    from reports import write_reports

    # a bad --profile is a usage error, reported before the history is even opened
    chosen = get_profile(args.profile) if args.profile else None
    ensure_folder(Path(args.out))
    with Store(args.db or default_db_path()) as store:
        scan_id = resolve_scan_id(store, args.scan)
        rec = store.scan(scan_id)
        profile = chosen or get_profile(rec.profile)
        matched = False

        def regraded():
            nonlocal matched
            for r in store.results(scan_id):
                r = judge(r.evidence, profile)
                matched = matched or fail_on_matches(r, profile, args.fail_on)
                yield r

        meta = {"scan_id": rec.id, "started": rec.started, "finished": rec.finished or "",
                "profile": profile.name, "version": rec.version,
                "profile_spec": profile}   # title and sourced requirements for report.html
        summary = write_reports(Path(args.out), regraded, list(all_checks()), meta)
    print(f"mxaudit: scan {scan_id} re-graded under {profile.name}: {summary.domains} domains, "
          f"{summary.compliant} compliant; reports in {args.out}", file=sys.stderr)
    return 1 if matched else 0
