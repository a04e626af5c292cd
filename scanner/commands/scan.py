"""`mxaudit scan`: domain lists in, reports and a stored scan out."""
from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from reports.files import ensure_folder
from scanner.api import get_profile
from scanner.collect.domain import now_iso
from scanner.commands._common import (add_metrics_options, add_output_options, add_scan_options,
                                      check_outputs, options_from_args)
from scanner.config import expand_out
from scanner.errors import UsageError
from scanner.inputs import read_targets
from scanner.options import ScanOptions
from scanner.run.driver import Job, run_job
from scanner.run.progress import Progress, scan_inputs
from scanner.store import ScanRecord, Store, default_db_path

EPILOG = """\
examples:
  mxaudit scan domains.txt --out reports/
  mxaudit scan -d example.com -d example.org --out out/ --fail-on fail
  mxaudit scan customers.csv --profile bod-18-01 --out out/     (CSV: a 'domain' column,
        optionally 'dkim_selectors' with selectors separated by spaces or ';')
  cat list.txt | mxaudit scan - --nameserver 127.0.0.1:5353 --allow-private --out out/

  mxaudit scan --resume                 (continue the last killed or interrupted scan)
  mxaudit scan domains.txt --out out/ --pdf --metrics /var/lib/node_exporter/mxaudit.prom

exit status: 0 the scan ran (whatever it found); 1 --fail-on matched; 2 usage or input error;
3 interrupted by SIGINT/SIGTERM (finished domains kept and reported; 'scan --resume' goes on);
70 internal error; 74 the reports could not be written (disk full: the previous reports stay,
the scan is kept, 'scan --resume' writes them).
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scan", help="scan domains and write reports",
                       description="Resolve each domain's MX hosts, probe their SMTP ports, validate "
                       "SPF, DKIM, DMARC, MTA-STS and TLS-RPT, grade against a profile, and write "
                       "report.html, domains.csv, findings.csv and results.jsonl.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="domain list: text (one per line, '#' comments) or CSV with a 'domain' "
                        "column; '-' reads stdin")
    p.add_argument("-d", "--domain", action="append", default=[], metavar="DOMAIN",
                   help="a domain to scan (repeatable)")
    p.add_argument("--resume", action="store_true",
                   help="continue the latest killed or interrupted scan of the history database "
                        "with its own inputs and options, skipping the domains it finished")
    add_scan_options(p)
    add_output_options(p, out_required=False)
    add_metrics_options(p)
    p.set_defaults(func=run)


def build_scan_parser_args(argv: list[str], output: argparse.Namespace) -> argparse.Namespace:
    """Parse scan arguments for another command (demo), carrying over its output options."""
    parser = argparse.ArgumentParser(prog="mxaudit scan", add_help=False)
    parser.add_argument("files", nargs="*")
    parser.add_argument("-d", "--domain", action="append", default=[])
    add_scan_options(parser)
    args = parser.parse_args(argv)
    for key in ("out", "db", "fail_on", "quiet", "log_format", "pdf", "metrics",
                "metrics_domains", "out_compress"):
        setattr(args, key, getattr(output, key, None))
    args.resume = False
    return args


def run(args: argparse.Namespace) -> int:
    if args.resume:
        return resume(args)
    if not args.files and not args.domain:
        raise UsageError("no domains given: name a FILE, '-' for stdin, or -d DOMAIN")
    if not args.out:
        raise UsageError("no output folder: give --out DIR or set 'out' in the config file")
    check_outputs(args)
    options = options_from_args(args)
    profile = get_profile(options.profile)
    targets = read_targets(args.files, args.domain, stdin=sys.stdin)
    total, prints = scan_inputs(args.files)
    total = None if total is None else total + len(args.domain)
    inputs = None if "-" in args.files else {"files": prints, "domains": list(args.domain)}
    return scan_with_history(args, targets, options, profile, total=total, inputs=inputs)


def scan_with_history(args: argparse.Namespace, targets, options: ScanOptions, profile, *,
                      total: int | None, inputs: dict | None, on_result=None,
                      progress: Progress | None = None) -> int:
    """A new scan recorded in the history (``--db``), its reports in ``--out`` when given;
    ``on_result``: each result as it is judged, ``progress`` its own (``mxaudit check``)."""
    with Store(args.db or default_db_path()) as store:
        scan_id = store.begin_scan(now_iso(), profile.name, options.to_record(), _version(),
                                   inputs=inputs)
        return _scan_and_report(store, store.scan(scan_id), targets, options, profile, args,
                                total=total, done=set(), on_result=on_result,
                                progress=progress)


def resume(args: argparse.Namespace) -> int:
    """Continue the latest unfinished scan: same inputs, same options, finished domains kept."""
    given = sorted(a for a in getattr(args, "explicit", set()) if a in _SCAN_OPTION_ATTRS)
    if args.files or args.domain or given:
        what = "FILE/-d" if args.files or args.domain else "--" + given[0].replace("_", "-")
        raise UsageError(f"--resume continues a scan with its own inputs and options; drop {what}")
    check_outputs(args)
    with Store(args.db or default_db_path()) as store:
        rec = store.latest_unfinished()
        if rec is None:
            raise UsageError(f"nothing to resume: every scan in {store.path} is complete")
        if not rec.resumable:
            raise UsageError(f"scan {rec.id} cannot be resumed: its domains came from stdin "
                             "(or it predates --resume)")
        options = ScanOptions.from_record(rec.options)
        profile = get_profile(options.profile)
        files = [f["path"] for f in rec.inputs["files"]]
        total, prints = scan_inputs(files)
        if prints != rec.inputs["files"]:
            raise UsageError(f"scan {rec.id} cannot be resumed: its domain list changed since "
                             f"it started ({', '.join(files)})")
        if getattr(args, "dask", None):
            raise UsageError("--resume does not support --dask")
        targets = read_targets(files, rec.inputs["domains"])
        args.out = args.out or rec.out
        done = store.done_positions(rec.id)
        store.mark_running(rec.id)
        return _scan_and_report(store, rec, targets, options, profile, args,
                                total=None if total is None else total + len(rec.inputs["domains"]),
                                done=done)


_SCAN_OPTION_ATTRS = {"nameserver", "ca_file", "trust_anchor", "allow_private", "port", "ehlo_name",
                      "mta_sts_port", "dkim_selector", "profile", "concurrency", "timeout",
                      "deadline", "ip_version", "no_port25", "port25_canary", "retry_pause"}


def _resolve_out(pattern: str | Path, rec: ScanRecord) -> Path:
    """A resumed scan keeps the folder it began with; a new one expands the pattern."""
    if rec.out and str(pattern) == rec.out:
        return Path(rec.out)
    started = datetime.fromisoformat(rec.started).astimezone()
    return expand_out(str(pattern), started, rec.id)


def _version() -> str:
    from scanner import __version__
    return __version__


def _scan_and_report(store: Store, rec: ScanRecord, targets, options: ScanOptions, profile,
                     args: argparse.Namespace, *, total: int | None, done: set[int],
                     on_result=None, progress: Progress | None = None) -> int:
    out = _resolve_out(args.out, rec) if args.out else None   # None: mxaudit check --db
    if out is not None:
        try:
            ensure_folder(out)
        except UsageError:
            store.discard_scan(rec.id)   # only if nothing was scanned yet (a resume keeps it)
            raise
        store.set_out(rec.id, str(out))
    progress = progress or progress_for(args, total, len(done))
    job = Job(store, rec, options, profile, out, progress, fail_on=args.fail_on, total=total,
              done=done, dask=getattr(args, "dask", None), on_result=on_result,
              pdf=bool(getattr(args, "pdf", None)), metrics=getattr(args, "metrics", None),
              metrics_domains=bool(getattr(args, "metrics_domains", None)),
              gzip_jsonl=bool(getattr(args, "out_compress", None)),
              workers=getattr(args, "workers", None))
    return run_job(job, targets)


def progress_for(args: argparse.Namespace, total: int | None, done: int = 0) -> Progress:
    """A bar on a terminal, log lines elsewhere (see run/progress.py)."""
    log_format = getattr(args, "log_format", None)
    return Progress(bar=sys.stderr.isatty() and log_format is None,
                    log_format=log_format or "text", quiet=bool(args.quiet),
                    total=total, done=done)
