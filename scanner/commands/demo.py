"""`mxaudit demo`: start the loopback lab, scan its domains with the normal pipeline, write
the normal reports, stop the lab. Works offline and unprivileged: a newcomer's first scan."""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from scanner.commands._common import add_output_options
from reports.files import ensure_folder


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="scan a built-in lab of good and bad domains (offline)",
                       description="Starts a DNS server, SMTP servers and an HTTPS server on "
                       "loopback addresses (127.0.1.x, high ports, no root needed), scans a handful "
                       "of demo domains with the normal pipeline and writes the normal reports.")
    add_output_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scanner.lab.demo import DEMO_DOMAINS, build_demo
    from scanner.lab.world import LabWorld
    from scanner.commands.scan import build_scan_parser_args, run as run_scan

    out = Path(args.out)
    ensure_folder(out)
    if args.db is None:
        args.db = out / "demo-history.sqlite"   # keep demo scans out of the user's history
    with tempfile.TemporaryDirectory(prefix="mxaudit-lab-") as tmp, LabWorld(Path(tmp)) as world:
        demo = build_demo(world)
        domain_list = out / "demo-domains.txt"
        domain_list.write_text("".join(f"{d}\n" for d in demo.domains), encoding="utf-8")
        if not args.quiet:
            print("mxaudit demo: lab running on loopback; scanning:", file=sys.stderr)
            for name, what in DEMO_DOMAINS.items():
                print(f"  {name:16} {what}", file=sys.stderr)
        scan_args = build_scan_parser_args([str(domain_list), *demo.scan_args], args)
        status = run_scan(scan_args)
    if not args.quiet:
        print(f"mxaudit demo: open {(out / 'report.html').resolve().as_uri()}", file=sys.stderr)
        if args.pdf and (out / "report.pdf").exists():
            print(f"mxaudit demo: audit pack {(out / 'report.pdf').resolve()}", file=sys.stderr)
    return status
