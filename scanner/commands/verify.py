"""`mxaudit verify DIR`: re-hash an output folder against its manifest.json.

Exit 0 when every file the manifest lists is there with its SHA-256; 1 naming each changed or
missing file; 2 when the folder or its manifest is missing or unreadable (reports/manifest.py).
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from reports.manifest import NAME, verify

EPILOG = """\
output: one line per file, like 'sha256sum -c' ("report.html: OK", "findings.csv: CHANGED",
"report.pdf: MISSING"), then the SHA-256 of manifest.json itself (compare it with the one you
filed or logged to know the manifest is the one written).
exit status: 0 every file matches; 1 a file changed or is missing; 2 no usable manifest.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="check an output folder against its manifest.json",
                       description="Re-hash every file listed in DIR/manifest.json and compare "
                                   "with the SHA-256 recorded when the report set was written.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", metavar="DIR", type=Path, help="an mxaudit output folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    manifest, results = verify(args.folder)
    for name, state in results:
        print(f"{name}: {state}")
    digest = hashlib.sha256((args.folder / NAME).read_bytes()).hexdigest()
    print(f"{NAME}: sha256 {digest}")
    bad = [f"{name} ({state.lower()})" for name, state in results if state != "OK"]
    scan = manifest.get("scan") if isinstance(manifest.get("scan"), dict) else {}
    if bad:
        print(f"mxaudit: {args.folder}: {len(bad)} of {len(results)} files do not match "
              f"{NAME}: {', '.join(bad)}", file=sys.stderr)
        return 1
    print(f"mxaudit: {args.folder}: all {len(results)} files match {NAME} (scan "
          f"{_shown(scan.get('id', '?'))}, written {_shown(manifest.get('written', '?'))})",
          file=sys.stderr)
    return 0


def _shown(value: object) -> str:
    """A manifest value on the terminal: a received manifest is not trusted to be plain text."""
    return "".join(c if c.isprintable() else "?" for c in str(value))[:80]
