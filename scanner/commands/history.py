"""`mxaudit history`: the scans in the history database, oldest first.

States: ``complete``; ``interrupted`` (stopped by SIGINT/SIGTERM: what finished is kept);
``running`` (still running, or killed: ``mxaudit scan --resume`` continues it).
"""
from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

from scanner.serde import to_jsonable
from scanner.store import ScanRecord, Store, default_db_path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("history", help="list stored scans",
                       description="List the stored scans: start and end time, state, profile, "
                                   "tool version and counts.")
    p.add_argument("--db", type=Path, metavar="PATH", help="scan history database")
    p.add_argument("--limit", type=int, metavar="N", help="only the last N scans")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per scan (options and inputs included)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with Store(args.db or default_db_path()) as store:
        scans = store.scans(limit=args.limit if args.limit and args.limit > 0 else None)
    if args.json:
        for s in scans:
            print(json.dumps({**to_jsonable(vars(s)), "seconds": _seconds(s)}, sort_keys=True))
        return 0
    print(f"{'scan':>5}  {'started':25}  {'took':>8}  {'state':11}  {'profile':16}  "
          f"{'version':8}  {'domains':>7}  {'compliant':>9}  {'incomplete':>10}  {'invalid':>7}")
    for s in scans:
        took = _seconds(s)
        print(f"{s.id:>5}  {s.started:25}  {'' if took is None else f'{took:.0f}s':>8}  "
              f"{s.state:11}  {s.profile:16}  {s.version:8}  {s.domains:>7}  {s.compliant:>9}  "
              f"{s.errors:>10}  {s.invalid:>7}")
    return 0


def _seconds(s: ScanRecord) -> float | None:
    if not s.finished:
        return None
    try:
        return (datetime.fromisoformat(s.finished) - datetime.fromisoformat(s.started)).total_seconds()
    except ValueError:
        return None
