"""`mxaudit prune`: delete old scans from the history database and give the space back.

Report folders are separate files (``--out``) and are not touched. What is deleted and what
is kept whatever the options say is decided by scanner/retention.py.
"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

from scanner.errors import UsageError
from scanner.retention import plan
from scanner.store import ScanRecord, Store, default_db_path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prune", help="delete old scans from the history database",
        description="Delete old scans (their results and stored evidence) from the history "
                    "database and give the space back to the file system. The newest complete "
                    "scan, which the next scan's report and 'mxaudit diff' compare with, is "
                    "kept unless --force; a scan being run now is always kept.",
        epilog="With both --keep and --older-than, a scan is deleted only if both allow it. "
               "Config keys: prune_keep, prune_older_than. Exit status: 0; 2 usage error.")
    p.add_argument("--keep", type=int, metavar="N", help="keep the newest N scans")
    p.add_argument("--older-than", type=float, metavar="DAYS",
                   help="delete only scans started more than DAYS days ago")
    p.add_argument("--force", action="store_true",
                   help="also delete the newest complete (or finished) scan if selected")
    p.add_argument("--dry-run", action="store_true", help="say what would be deleted, delete nothing")
    p.add_argument("--db", type=Path, metavar="PATH", help="scan history database")
    p.add_argument("-q", "--quiet", action="store_true", default=None,
                   help="print nothing but warnings (scans kept against the options)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.keep is None and args.older_than is None:
        raise UsageError("say what to keep: --keep N and/or --older-than DAYS "
                         "(or prune_keep / prune_older_than in the config file)")
    if args.keep is not None and args.keep < 1:
        raise UsageError("--keep must be at least 1")
    if args.older_than is not None and not args.older_than >= 0:
        raise UsageError("--older-than must be 0 days or more")
    say = (lambda text: None) if args.quiet else print
    with Store(args.db or default_db_path()) as store:
        chosen = plan(store.scans(), keep=args.keep, older_than=args.older_than,
                      now=datetime.now(timezone.utc), running=store.is_running, force=args.force)
        for rec, why in chosen.kept:
            print(f"mxaudit prune: kept scan {_describe(rec)}: {why}"
                  + ("" if why.startswith("it is being run") else "; --force deletes it"),
                  file=sys.stderr)
        verb = "would delete" if args.dry_run else "deleted"
        for rec in chosen.delete:
            say(f"{verb} scan {_describe(rec)}")
        if args.dry_run:
            say(f"{len(chosen.delete)} scan(s) would be deleted from {store.path}")
            return 0
        before = store.file_bytes()
        if chosen.delete:
            store.delete_scans([rec.id for rec in chosen.delete])
        store.reclaim()
        say(f"pruned {len(chosen.delete)} scan(s); {store.path}: {_mb(before)} -> "
            f"{_mb(store.file_bytes())}")
    return 0


def _describe(rec: ScanRecord) -> str:
    return f"{rec.id} (started {rec.started}, {rec.state}, {rec.domains} domains)"


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"
