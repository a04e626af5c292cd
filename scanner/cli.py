"""The command line: a thin synchronous layer over the Python API.

Every error a user can cause ends as one line on stderr and exit status 2, never a traceback.
Exit statuses: 0 ran, 1 --fail-on matched, 2 usage/input error, 3 interrupted (SIGINT/SIGTERM),
70 internal error (a bug), 74 an output file could not be written (disk full).

``--config FILE`` (before or after the command) names a TOML configuration file; without it
the per-user one is read if it exists (scanner/config.py). Command-line options win.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from scanner.errors import MxauditError, OutputError
from scanner.textsafe import for_terminal

COMMANDS = ("scan", "check", "demo", "report", "history", "diff", "prune", "verify", "schema",
            "verify_dkim")
CONFIGURED = ("scan", "check", "report", "history", "diff", "prune")   # read the config file


def build_parser() -> argparse.ArgumentParser:
    from scanner import __version__

    parser = argparse.ArgumentParser(
        prog="mxaudit",
        description="Email-domain compliance scanner: MX, SMTP STARTTLS/TLS/certificates/AUTH on "
                    "ports 25, 465 and 587, SPF, DKIM, DMARC, MTA-STS and TLS-RPT, graded against a "
                    "compliance profile, reported as HTML, CSV and JSON.",
        epilog="Start with: mxaudit demo --out demo-report   (an offline scan of a built-in lab). "
               "Run 'mxaudit COMMAND --help' for each command's options.")
    parser.add_argument("--version", action="version", version=f"mxaudit {__version__}")
    parser.add_argument("--config", type=Path, metavar="FILE", help=_CONFIG_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = _command_module(name)
        if module is not None:
            module.add_parser(sub)
    for name in CONFIGURED:
        if name in sub.choices:   # SUPPRESS: a subcommand does not reset a global --config
            sub.choices[name].add_argument("--config", type=Path, metavar="FILE",
                                           default=argparse.SUPPRESS, help=_CONFIG_HELP)
    return parser


_CONFIG_HELP = ("TOML configuration file (default: $XDG_CONFIG_HOME/mxaudit/config.toml or "
                "~/.config/mxaudit/config.toml when it exists); command-line options win")


def _command_module(name: str):
    import importlib

    try:
        return importlib.import_module(f".commands.{name}", __package__)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.endswith(f"commands.{name}"):
            return None   # a command not built yet
        raise


INTERNAL_ERROR = 70   # EX_SOFTWARE: a bug in mxaudit, not in the input
OUTPUT_ERROR = 74     # EX_IOERR: an output file could not be written (disk full)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        if args.command in CONFIGURED:
            from scanner.config import apply_config
            apply_config(args, args.command)
        return int(args.func(args) or 0)
    except OutputError as exc:    # disk full while writing reports: the scan is kept
        print(f"mxaudit: error: {for_terminal(exc)}", file=sys.stderr)
        return OUTPUT_ERROR
    except MxauditError as exc:   # usage, input, profile and store errors alike
        print(f"mxaudit: error: {for_terminal(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mxaudit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: one line for the operator, the traceback on request
        if os.environ.get("MXAUDIT_DEBUG"):
            raise
        print(f"mxaudit: internal error: {type(exc).__name__}: {for_terminal(exc)} "
              "(set MXAUDIT_DEBUG=1 for the traceback, and please report it)", file=sys.stderr)
        return INTERNAL_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
