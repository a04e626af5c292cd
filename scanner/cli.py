"""The command line: a thin synchronous layer over the Python API.

Every error a user can cause ends as one line on stderr and exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .errors import MxauditError

COMMANDS = ("scan", "demo", "report", "history", "verify_dkim")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="mxaudit",
        description="Email-domain compliance scanner: MX, SMTP STARTTLS/TLS/certificates/AUTH on "
                    "ports 25, 465 and 587, SPF, DKIM, DMARC, MTA-STS and TLS-RPT, graded against a "
                    "compliance profile, reported as HTML, CSV and JSON.",
        epilog="Start with: mxaudit demo --out demo-report   (an offline scan of a built-in lab). "
               "Run 'mxaudit COMMAND --help' for each command's options.")
    parser.add_argument("--version", action="version", version=f"mxaudit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = _command_module(name)
        if module is not None:
            module.add_parser(sub)
    return parser


def _command_module(name: str):
    import importlib

    try:
        return importlib.import_module(f".commands.{name}", __package__)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.endswith(f"commands.{name}"):
            return None   # a command not built yet
        raise


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except MxauditError as exc:   # usage, input, profile and store errors alike
        print(f"mxaudit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mxaudit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
