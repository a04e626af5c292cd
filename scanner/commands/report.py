"""`mxaudit report SCAN`: re-render a stored scan, optionally re-graded under another profile.
No network: the stored evidence is evaluated again by the same pure checks."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reports import write_reports
from reports.files import ensure_folder
from reports.stored import report_meta
from scanner.api import get_profile
from scanner.commands._common import add_out_compress, add_pdf_option, check_outputs
from scanner.result import judge
from scanner.store import Store, default_db_path
from scanner.verdict import FAIL_ON, fail_on_matches


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="re-render (and re-grade) a stored scan, offline",
                       description="Re-evaluate a stored scan's evidence and write its reports "
                                   "again, optionally under another profile. Touches no network.")
    p.add_argument("scan", metavar="SCAN", help="scan ID (see 'mxaudit history') or 'latest'")
    p.add_argument("--profile", metavar="NAME|FILE", help="grade under this profile "
                   "(default: the scan's own)")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--db", type=Path, metavar="PATH", help="scan history database")
    p.add_argument("--fail-on", choices=FAIL_ON, metavar="STATUS")
    add_pdf_option(p)
    add_out_compress(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # a bad --profile is a usage error, reported before the history is even opened
    chosen = get_profile(args.profile) if args.profile else None
    check_outputs(args)
    ensure_folder(Path(args.out))
    with Store(args.db or default_db_path()) as store:
        scan_id = store.resolve(args.scan)
        rec = store.scan(scan_id)
        profile = chosen or get_profile(rec.profile)
        matched = False

        def regraded(stream):
            nonlocal matched
            for r in stream:
                r = judge(r.evidence, profile)
                matched = matched or fail_on_matches(r, profile, args.fail_on)
                yield r

        stream = store.results(scan_id)
        summary = write_reports(Path(args.out), regraded(stream), profile,
                                report_meta(rec, profile), count=len(stream), pdf=bool(args.pdf),
                                gzip_jsonl=bool(args.out_compress))
    print(f"mxaudit: scan {scan_id} re-graded under {profile.name}: {summary.domains} domains, "
          f"{summary.compliant} compliant; reports in {args.out}", file=sys.stderr)
    return 1 if matched else 0
