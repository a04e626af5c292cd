"""`mxaudit history`: the scans in the history database."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..store import Store, default_db_path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("history", help="list stored scans")
    p.add_argument("--db", type=Path, metavar="PATH", help="scan history database")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with Store(args.db or default_db_path()) as store:
        scans = store.scans()
        print(f"{'scan':>5}  {'started':25}  {'profile':16}  {'domains':>7}  {'compliant':>9}  "
              f"{'incomplete':>10}")
        for s in scans:
            state = "" if s.finished else "  (unfinished)"
            print(f"{s.id:>5}  {s.started:25}  {s.profile:16}  {s.domains:>7}  {s.compliant:>9}  "
                  f"{s.errors:>10}{state}")
    return 0
