"""`mxaudit scan`: domain lists in, reports and a stored scan out."""
from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

from ..api import collect_scan, get_profile, run_scan
from ..config import expand_out
from ..errors import UsageError
from ..evidence.smtp import DEFAULT_PORTS
from ..inputs import read_targets
from ..options import ScanOptions, parse_nameserver, parse_port
from ..evidence import DomainEvidence
from ..pipeline import DomainResult, ScanStats, domain_status, judge, now_iso
from ..progress import Progress, scan_inputs
from ..store import COMPLETE, INTERRUPTED, ScanRecord, Store, default_db_path
from ._common import EXIT_INTERRUPTED, add_output_options, fail_on_matches, finish_reports
from .report_worker import ReportWorker, wanted

EPILOG = """\
examples:
  mxaudit scan domains.txt --out reports/
  mxaudit scan -d example.com -d example.org --out out/ --fail-on fail
  mxaudit scan customers.csv --profile bod-18-01 --out out/     (CSV: a 'domain' column,
        optionally 'dkim_selectors' with selectors separated by spaces or ';')
  cat list.txt | mxaudit scan - --nameserver 127.0.0.1:5353 --allow-private --out out/

  mxaudit scan --resume                 (continue the last killed or interrupted scan)

exit status: 0 the scan ran (whatever it found); 1 --fail-on matched; 2 usage or input error;
3 interrupted by SIGINT/SIGTERM (finished domains kept and reported; 'scan --resume' goes on).
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
    p.set_defaults(func=run)


def add_scan_options(p: argparse.ArgumentParser) -> None:
    d = ScanOptions()
    g = p.add_argument_group("network")
    g.add_argument("--nameserver", action="append", default=[], metavar="IP[:PORT]",
                   help="DNS resolver to use for every lookup (repeatable); default: the system's")
    g.add_argument("--ca-file", type=Path, metavar="PEM",
                   help="extra trusted CA certificates, for SMTP and HTTPS alike")
    g.add_argument("--allow-private", action="store_true", default=None,
                   help="connect to loopback/private addresses (internal estates, test labs); "
                        "without it such hosts are reported, never contacted")
    g.add_argument("--port", action="append", default=[], metavar="PORT:ROLE",
                   help="SMTP port and role: smtp (STARTTLS, opportunistic), submission "
                        "(STARTTLS, required) or submissions (implicit TLS); repeatable; default "
                        + " ".join(str(p) for p in DEFAULT_PORTS))
    g.add_argument("--ehlo-name", metavar="FQDN",
                   help=f"name sent in EHLO (default {d.ehlo_name})")
    g.add_argument("--mta-sts-port", type=int, metavar="PORT",
                   help=argparse.SUPPRESS)
    g = p.add_argument_group("checks")
    g.add_argument("--dkim-selector", action="append", default=[], metavar="SEL",
                   help="DKIM selector tried on every domain before the built-in common ones")
    g.add_argument("--profile", metavar="NAME|FILE",
                   help="compliance profile (default baseline)")
    g = p.add_argument_group("limits")
    g.add_argument("--concurrency", type=int, metavar="N",
                   help=f"domains scanned at once (default {d.concurrency})")
    g.add_argument("--timeout", type=float, metavar="S",
                   help=f"timeout of each network step in seconds (default {d.timeout:g})")
    g.add_argument("--deadline", type=float, metavar="S",
                   help=f"deadline of a whole domain in seconds (default {d.domain_deadline:g})")
    g.add_argument("--dask", metavar="SCHEDULER_ADDRESS",
                   help="shard the domain list over a Dask distributed cluster (e.g. "
                        "tcp://scheduler.example:8786); needs: pip install 'mxaudit[dask]'")


def build_scan_parser_args(argv: list[str], output: argparse.Namespace) -> argparse.Namespace:
    """Parse scan arguments for another command (demo), carrying over its output options."""
    parser = argparse.ArgumentParser(prog="mxaudit scan", add_help=False)
    parser.add_argument("files", nargs="*")
    parser.add_argument("-d", "--domain", action="append", default=[])
    add_scan_options(parser)
    args = parser.parse_args(argv)
    for key in ("out", "db", "fail_on", "quiet", "log_format"):
        setattr(args, key, getattr(output, key, None))
    args.resume = False
    return args


def options_from_args(args: argparse.Namespace) -> ScanOptions:
    d = ScanOptions()
    for attr, default in (("ehlo_name", d.ehlo_name), ("mta_sts_port", d.mta_sts_port),
                          ("profile", d.profile), ("concurrency", d.concurrency),
                          ("timeout", d.timeout), ("deadline", d.domain_deadline),
                          ("allow_private", False)):
        if getattr(args, attr, None) is None:
            setattr(args, attr, default)
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if args.timeout <= 0 or args.deadline <= 0:
        raise UsageError("--timeout and --deadline must be positive")
    if args.ca_file is not None and not args.ca_file.is_file():
        raise UsageError(f"--ca-file {args.ca_file}: no such file")
    return ScanOptions(
        nameservers=tuple(parse_nameserver(n) for n in args.nameserver),
        ca_file=args.ca_file,
        allow_private=args.allow_private,
        ports=tuple(parse_port(p) for p in args.port) or DEFAULT_PORTS,
        dkim_selectors=tuple(args.dkim_selector),
        profile=args.profile,
        ehlo_name=args.ehlo_name,
        concurrency=args.concurrency,
        timeout=args.timeout,
        domain_deadline=args.deadline,
        mta_sts_port=args.mta_sts_port,
    )


def run(args: argparse.Namespace) -> int:
    if args.resume:
        return resume(args)
    if not args.files and not args.domain:
        raise UsageError("no domains given: name a FILE, '-' for stdin, or -d DOMAIN")
    if not args.out:
        raise UsageError("no output folder: give --out DIR or set 'out' in the config file")
    options = options_from_args(args)
    profile = get_profile(options.profile)
    targets = read_targets(args.files, args.domain, stdin=sys.stdin)
    total, prints = scan_inputs(args.files)
    total = None if total is None else total + len(args.domain)
    inputs = None if "-" in args.files else {"files": prints, "domains": list(args.domain)}
    with Store(args.db or default_db_path()) as store:
        scan_id = store.begin_scan(now_iso(), profile.name, _options_record(options), _version(),
                                   inputs=inputs)
        return _scan_and_report(store, store.scan(scan_id), targets, options, profile, args,
                                total=total, done=set())


def resume(args: argparse.Namespace) -> int:
    """Continue the latest unfinished scan: same inputs, same options, finished domains kept."""
    given = sorted(a for a in getattr(args, "explicit", set()) if a in _SCAN_OPTION_ATTRS)
    if args.files or args.domain or given:
        what = "FILE/-d" if args.files or args.domain else "--" + given[0].replace("_", "-")
        raise UsageError(f"--resume continues a scan with its own inputs and options; drop {what}")
    with Store(args.db or default_db_path()) as store:
        rec = store.latest_unfinished()
        if rec is None:
            raise UsageError(f"nothing to resume: every scan in {store.path} is complete")
        if not rec.resumable:
            raise UsageError(f"scan {rec.id} cannot be resumed: its domains came from stdin "
                             "(or it predates --resume)")
        options = options_from_record(rec.options)
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


_SCAN_OPTION_ATTRS = {"nameserver", "ca_file", "allow_private", "port", "ehlo_name",
                      "mta_sts_port", "dkim_selector", "profile", "concurrency", "timeout",
                      "deadline"}


class _StopSignals:
    """SIGINT/SIGTERM: the first one stops the scan (in-flight domains are abandoned, finished
    ones are kept, the reports are still written, exit 3); a second one kills at once."""

    def __init__(self) -> None:
        self.received: str | None = None
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._saved = {}

    def __enter__(self) -> "_StopSignals":
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)

    def watch(self, task: asyncio.Task) -> None:
        self._task, self._loop = task, asyncio.get_running_loop()
        if self.received:
            task.cancel()

    def _handle(self, signum: int, frame: object) -> None:
        if self.received is not None:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        self.received = signal.Signals(signum).name
        if self._task is not None and self._loop is not None and not self._task.done():
            self._loop.call_soon_threadsafe(self._task.cancel)


async def _scan_async(options: ScanOptions, targets, profile, on_result, stats: ScanStats,
                      skip: set[int], stop: _StopSignals, worker: ReportWorker | None) -> None:
    """The scan proper; a stop signal cancels it, which abandons the domains in flight.
    With a report worker, the scan only collects: the worker judges and stores."""
    stop.watch(asyncio.current_task())
    try:
        if worker is None:
            await run_scan(targets, options, profile, on_result, stats, skip=skip)
            return
        worker.attach(asyncio.get_running_loop())
        try:
            def on_evidence(ev: DomainEvidence) -> None:
                if not worker.send(ev):
                    worker.on_orphan(ev)
            await collect_scan(targets, options, on_evidence, stats, skip=skip)
        finally:
            worker.detach()
    except asyncio.CancelledError:
        if stop.received is None:
            raise


def _scan_and_report(store: Store, rec: ScanRecord, targets, options: ScanOptions, profile,
                     args: argparse.Namespace, *, total: int | None, done: set[int]) -> int:
    scan_id = rec.id
    out = _resolve_out(args.out, rec)
    try:
        ensure_folder(out)
    except UsageError:
        store.discard_scan(scan_id)   # only if nothing was scanned yet (a resume keeps its scan)
        raise
    store.set_out(scan_id, str(out))
    log_format = getattr(args, "log_format", None)
    progress = Progress(bar=sys.stderr.isatty() and log_format is None,
                        log_format=log_format or "text", quiet=bool(args.quiet),
                        total=total, done=len(done))
    progress.event("start", scan=scan_id, resumed=bool(done) or None, total=total,
                   already_done=len(done) or None, profile=profile.name, out=str(out))
    matched = False

    def on_result(r: DomainResult) -> None:      # judged in this process
        nonlocal matched
        store.add_result(scan_id, r)
        matched = matched or fail_on_matches(r, profile, args.fail_on)
        progress.tick(r)

    def on_judged(ev: DomainEvidence, compliant: bool, score: int, failed: bool) -> None:
        nonlocal matched                            # judged and stored by the report worker
        matched = matched or failed
        progress.domain_done(ev.domain or ev.input, domain_status(ev), compliant, score)

    stats = ScanStats()
    worker = (ReportWorker.start(store.path, scan_id, out, profile, total, args.fail_on)
              if wanted(total) else None)
    if worker is not None:
        worker.on_judged = on_judged
        worker.on_orphan = lambda ev: on_result(judge(ev, profile))
    try:
        with store.lock(scan_id), _StopSignals() as stop:
            if getattr(args, "dask", None):
                from ..distributed import run_scan_dask
                run_scan_dask(targets, options, profile, on_result, args.dask, stats)
            else:
                asyncio.run(_scan_async(options, targets, profile, on_result, stats, done, stop,
                                        worker))
            if worker is not None:
                worker.drain()                      # every domain stored before the counts
            progress.close()
            interrupted = stop.received
            store.finish_scan(scan_id, now_iso(), INTERRUPTED if interrupted else COMPLETE)
            summary = _reports(store, scan_id, out, profile, worker, progress)
            interrupted = interrupted or stop.received
    finally:
        if worker is not None:
            worker.abandon()
    status = EXIT_INTERRUPTED if interrupted else (1 if matched else 0)
    if interrupted:
        progress.event("interrupted", level="warning", scan=scan_id, signal=interrupted,
                       finished=summary.domains, hint="mxaudit scan --resume continues it")
    progress.event("summary", scan=scan_id, state=INTERRUPTED if interrupted else COMPLETE,
                   domains=summary.domains, compliant=summary.compliant,
                   incomplete=summary.errors, profile=profile.name,
                   seconds=round(max(stats.finished - stats.started, 0.0), 1),
                   report_seconds=summary.report_seconds, reports_by=summary.reports_by,
                   out=str(out), exit=status)
    return status


def _reports(store: Store, scan_id: int, out: Path, profile, worker: ReportWorker | None,
             progress: Progress) -> SimpleNamespace:
    """Wait for the report worker's files (written alongside the scan), else render them
    here. The summary's counts, who wrote the reports and how long the scan waited for them."""
    started = time.monotonic()
    counts = worker.finish() if worker is not None else None
    if worker is not None and counts is None:
        progress.event("report-worker", level="warning", error=worker.error,
                       hint="reports written by the scan process instead")
    by = "scan" if counts is None else "worker"
    if counts is None:
        counts = finish_reports(store, scan_id, out, profile).counts()
    return SimpleNamespace(**counts, reports_by=by,
                           report_seconds=round(time.monotonic() - started, 1))


def ensure_folder(out: Path) -> None:
    """The output folder must be usable before any domain is scanned, not after."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UsageError(f"--out {out}: exists and is not a folder") from None
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot create the folder ({exc.strerror or exc})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise UsageError(f"--out {out}: folder is not writable")


def _resolve_out(pattern: str | Path, rec: ScanRecord) -> Path:
    """A resumed scan keeps the folder it began with; a new one expands the pattern."""
    if rec.out and str(pattern) == rec.out:
        return Path(rec.out)
    started = datetime.fromisoformat(rec.started).astimezone()
    return expand_out(str(pattern), started, rec.id)


def _options_record(o: ScanOptions) -> dict:
    """The scan's options as stored in history; ``options_from_record`` reads them back."""
    return {"nameservers": [f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
                            for ip, port in o.nameservers],
            "ca_file": str(Path(o.ca_file).resolve()) if o.ca_file else None,
            "allow_private": o.allow_private,
            "ports": [str(p) for p in o.ports], "dkim_selectors": list(o.dkim_selectors),
            "profile": o.profile, "ehlo_name": o.ehlo_name, "concurrency": o.concurrency,
            "timeout": o.timeout, "deadline": o.domain_deadline, "mta_sts_port": o.mta_sts_port,
            "per_ip_limit": o.per_ip_limit, "dns_retries": o.dns_retries,
            "max_mx_hosts": o.max_mx_hosts, "max_addresses": o.max_addresses}


def options_from_record(r: dict) -> ScanOptions:
    d = ScanOptions()
    return ScanOptions(
        nameservers=tuple(parse_nameserver(n) for n in r.get("nameservers", ())),
        ca_file=Path(r["ca_file"]) if r.get("ca_file") else None,
        allow_private=r.get("allow_private", d.allow_private),
        ports=tuple(parse_port(p) for p in r.get("ports", ())) or DEFAULT_PORTS,
        dkim_selectors=tuple(r.get("dkim_selectors", ())),
        profile=r.get("profile", d.profile), ehlo_name=r.get("ehlo_name", d.ehlo_name),
        concurrency=r.get("concurrency", d.concurrency), timeout=r.get("timeout", d.timeout),
        domain_deadline=r.get("deadline", d.domain_deadline),
        mta_sts_port=r.get("mta_sts_port", d.mta_sts_port),
        per_ip_limit=r.get("per_ip_limit", d.per_ip_limit),
        dns_retries=r.get("dns_retries", d.dns_retries),
        max_mx_hosts=r.get("max_mx_hosts", d.max_mx_hosts),
        max_addresses=r.get("max_addresses", d.max_addresses))


def _version() -> str:
    from .. import __version__
    return __version__
