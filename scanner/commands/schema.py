"""`mxaudit schema results|manifest`: print a published JSON Schema (draft 2020-12).

``results``: one line of results.jsonl; ``manifest``: an output folder's manifest.json. The
files are the ones shipped with this version (reports/schema.py; docs/schema in the source).
"""
from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    from reports.schema import FILES

    p = sub.add_parser("schema",
                       help="print the JSON Schema of results.jsonl lines or manifest.json",
                       description="Print the JSON Schema (draft 2020-12) of one line of "
                                   "results.jsonl ('results') or of manifest.json ('manifest'). "
                                   "Fields are added in later versions, never renamed or removed.")
    p.add_argument("name", choices=sorted(FILES), metavar="NAME",
                   help=f"one of: {', '.join(sorted(FILES))}")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from reports.schema import FILES, schema_dir

    sys.stdout.write((schema_dir() / FILES[args.name]).read_text(encoding="utf-8"))
    return 0
