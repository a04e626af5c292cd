"""`mxaudit check DOMAIN...`: the ad hoc question "what is wrong with this domain's mail, right
now?", answered where it was asked: the findings on the terminal (reports/terminal.py), or
with ``--format`` as JSON, JSON lines or CSV on stdout (reports/machine.py). Logs and
progress go to stderr only, so stdout carries nothing but the answer.

The scan is the normal one (every scan option applies). Nothing is kept unless asked:
``--db`` records it in the history, ``--out`` also writes the report folder (the scan
command's route, run/driver.py run_job); without either, run/driver.py run_unstored.
"""
from __future__ import annotations

import argparse
import sys

from scanner.api import get_profile
from scanner.commands._common import (add_output_options, add_scan_options, check_outputs,
                                      options_from_args)
from scanner.errors import UsageError
from scanner.inputs import Target, targets_from_strings
from scanner.run.driver import run_unstored
from scanner.run.ordered import InputOrder

FORMATS = ("text", "json", "jsonl", "csv")

EPILOG = """\
examples:
  mxaudit check example.com
  mxaudit check example.com example.org -v            (every check, passing ones too)
  mxaudit check example.com --format json | jq '.[0].verdict'
  mxaudit check example.com --profile bod-18-01 --fail-on fail     (a CI gate)
  mxaudit check example.com --out reports/ --db history.sqlite     (also keep it)

output: text on a terminal is coloured (not with NO_COLOR set); otherwise plain and aligned.
--format json: one JSON array of results.jsonl objects; jsonl: results.jsonl lines;
csv: findings.csv. Results come in the order the domains were given.

exit status: 0 the check ran (whatever it found); 1 --fail-on matched; 2 usage or input error
(an invalid domain included); 3 interrupted by SIGINT/SIGTERM (finished domains are shown);
70 internal error.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="check domains now and show the findings (ad hoc)",
                       description="Scan the named domains like 'scan' and show the verdict, "
                       "score and findings on the terminal (or as JSON/CSV on stdout). Keeps no "
                       "history and writes no folder unless --db/--out are given.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("domains", nargs="+", metavar="DOMAIN", help="a domain to check")
    p.add_argument("--format", choices=FORMATS, default="text",
                   help="text (default: for people), json, jsonl or csv (for scripts, on stdout)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="text: every finding in full, passing and informational ones too")
    add_scan_options(p)
    add_output_options(p, out_required=False, history="none unless given")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    targets = check_targets(args.domains)
    if args.pdf and not args.out:
        raise UsageError("--pdf writes report.pdf into the --out folder: give --out DIR too")
    check_outputs(args)
    options = options_from_args(args)
    profile = get_profile(options.profile)
    progress = _progress(args, len(targets))
    view = _view(args, profile)
    shown = 0

    def show(r) -> None:
        nonlocal shown
        progress.close()          # the bar (stderr, maybe the same terminal) out of the way
        view.add(r)
        shown += 1

    ordered = InputOrder(show)
    try:
        if args.out or args.db:
            from scanner.commands.scan import scan_with_history
            inputs = {"files": [], "domains": list(args.domains)}
            status = scan_with_history(args, targets, options, profile, total=len(targets),
                                       inputs=inputs, on_result=ordered.add, progress=progress)
        else:
            status = run_unstored(targets, options, profile, ordered.add,
                                  fail_on=args.fail_on, dask=args.dask, progress=progress,
                                  workers=args.workers, total=len(targets))
    except BaseException:
        ordered.flush()           # what finished before the error, still whole documents;
        if shown:                 # nothing at all on stdout when nothing finished
            view.close()
        raise
    ordered.flush()
    view.close()
    return status


def check_targets(domains: list[str]) -> list[Target]:
    """The named domains, de-duplicated; an invalid one is a usage error (exit 2) before
    anything is scanned: at the terminal, a typo deserves a message, not a report row."""
    from scanner.textsafe import for_terminal

    targets = list(targets_from_strings(domains))
    bad = next((t for t in targets if not t.domain), None)
    if bad is not None:
        raise UsageError(f"{for_terminal(bad.input)!r} is not a valid domain: "
                         f"{for_terminal(bad.invalid_reason)}")
    return targets


def _progress(args: argparse.Namespace, total: int):
    """A bar on a terminal's stderr; elsewhere log lines only when --log-format asks for them
    (the answer on stdout is the per-domain record). Warnings always show."""
    from scanner.run.progress import Progress

    explicit = args.log_format is not None
    return Progress(bar=sys.stderr.isatty() and not explicit,
                    log_format=args.log_format or "text",
                    quiet=bool(args.quiet) or not (explicit or sys.stderr.isatty()),
                    total=total)


def _view(args: argparse.Namespace, profile):
    if args.format == "text":
        from reports.terminal import TerminalView
        return TerminalView(sys.stdout, profile, verbose=args.verbose)
    from reports.machine import MACHINE_VIEWS
    return MACHINE_VIEWS[args.format](sys.stdout)
