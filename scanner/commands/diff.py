"""`mxaudit diff OLD NEW`: what changed between two stored scans, offline (see reports/diff.py)."""
from __future__ import annotations

import argparse
import csv
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

from reports.diff import CSV_COLUMNS, KINDS, Change, changes
from reports.files import atomic_text
from reports.safe import csv_cell
from scanner.profiles import Profile
from scanner.textsafe import for_terminal
from scanner.store import ScanRecord, Store, default_db_path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("diff", help="what got better or worse between two stored scans",
                       description="Compare two stored scans, offline: domains added and "
                       "removed, compliance flips, checks that got worse or better.",
                       epilog="SCAN is a scan ID (see 'mxaudit history'), 'latest' or "
                              "'previous'. Exit status: 0; 1 with --fail-on-worse when anything "
                              "got worse; 2 usage error.")
    p.add_argument("old", nargs="?", default="previous", metavar="OLD",
                   help="the earlier scan (default previous)")
    p.add_argument("new", nargs="?", default="latest", metavar="NEW",
                   help="the later scan (default latest)")
    p.add_argument("--csv", type=Path, metavar="FILE",
                   help="also write the changes as CSV: change, domain, check, old, new")
    p.add_argument("--profile", metavar="NAME|FILE",
                   help="re-grade both scans under this profile first (default: as stored)")
    p.add_argument("--fail-on-worse", action="store_true",
                   help="exit 1 when a check got worse, a domain became non-compliant or a "
                        "domain was removed")
    p.add_argument("--db", type=Path, metavar="PATH", help="scan history database")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scanner.api import get_profile

    profile = get_profile(args.profile) if args.profile else None
    counts: Counter = Counter()
    with Store(args.db or default_db_path()) as store, ExitStack() as stack:
        old = store.scan(store.resolve(args.old))
        new = store.scan(store.resolve(args.new))
        writer = None
        if args.csv:
            writer = csv.writer(stack.enter_context(atomic_text(args.csv, newline="")))
            writer.writerow(CSV_COLUMNS)
        print(_header(old, new, profile))
        shown = None
        for c in changes(store, old.id, new.id, profile):
            counts[c.kind] += 1
            counts["down"] += c.kind == "compliance" and c.new.startswith("not")
            shown = _print_change(c, shown)
            if writer is not None:
                writer.writerow([csv_cell(v) for v in (c.kind, c.domain, c.check, c.old, c.new)])
    print("changes: " + ", ".join(f"{counts[k]} {k}" for k in KINDS))
    got_worse = counts["worse"] or counts["removed"] or counts["down"]
    return 1 if args.fail_on_worse and got_worse else 0


def _header(old: ScanRecord, new: ScanRecord, profile: Profile | None) -> str:
    graded = (f"both graded under {profile.name}" if profile is not None else
              f"as graded: {old.profile} -> {new.profile}")
    return (f"scan {old.id} ({old.started}, {old.domains} domains) -> scan {new.id} "
            f"({new.started}, {new.domains} domains); {graded}")


def _print_change(c: Change, shown: str | None) -> str:
    """Text output, one block per domain: '+' added, '-' removed, '~' changed."""
    name, old, new = for_terminal(c.domain), for_terminal(c.old), for_terminal(c.new)
    if c.kind == "added":
        print(f"+ {name}  added: {new}")
    elif c.kind == "removed":
        print(f"- {name}  removed (was {old})")
    else:
        if shown != c.domain:
            print(f"~ {name}")
        if c.kind == "compliance":
            print(f"    compliance  {old} -> {new}")
        else:
            print(f"    {c.kind:<11} {for_terminal(c.check)}: {old} -> {new}")
    return c.domain
