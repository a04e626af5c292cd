"""`mxaudit scan`: domain lists in, reports and a stored scan out."""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from ..api import get_profile, run_scan
from ..errors import UsageError
from ..evidence.smtp import DEFAULT_PORTS
from ..inputs import read_targets
from ..options import ScanOptions, parse_nameserver, parse_port
from ..pipeline import DomainResult, ScanStats, now_iso
from ..store import Store, default_db_path
from ._common import Progress, add_output_options, fail_on_matches, finish_reports

EPILOG = """\
examples:
  mxaudit scan domains.txt --out reports/
  mxaudit scan -d example.com -d example.org --out out/ --fail-on fail
  mxaudit scan customers.csv --profile bod-18-01 --out out/     (CSV: a 'domain' column,
        optionally 'dkim_selectors' with selectors separated by spaces or ';')
  cat list.txt | mxaudit scan - --nameserver 127.0.0.1:5353 --allow-private --out out/

exit status: 0 the scan ran (whatever it found); 1 --fail-on matched; 2 usage or input error.
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
    add_scan_options(p)
    add_output_options(p)
    p.set_defaults(func=run)


def add_scan_options(p: argparse.ArgumentParser) -> None:
    d = ScanOptions()
    g = p.add_argument_group("network")
    g.add_argument("--nameserver", action="append", default=[], metavar="IP[:PORT]",
                   help="DNS resolver to use for every lookup (repeatable); default: the system's")
    g.add_argument("--ca-file", type=Path, metavar="PEM",
                   help="extra trusted CA certificates, for SMTP and HTTPS alike")
    g.add_argument("--allow-private", action="store_true",
                   help="connect to loopback/private addresses (internal estates, test labs); "
                        "without it such hosts are reported, never contacted")
    g.add_argument("--port", action="append", default=[], metavar="PORT:ROLE",
                   help="SMTP port and role: smtp (STARTTLS, opportunistic), submission "
                        "(STARTTLS, required) or submissions (implicit TLS); repeatable; default "
                        + " ".join(str(p) for p in DEFAULT_PORTS))
    g.add_argument("--ehlo-name", default=d.ehlo_name, metavar="FQDN",
                   help=f"name sent in EHLO (default {d.ehlo_name})")
    g.add_argument("--mta-sts-port", type=int, default=d.mta_sts_port, metavar="PORT",
                   help=argparse.SUPPRESS)
    g = p.add_argument_group("checks")
    g.add_argument("--dkim-selector", action="append", default=[], metavar="SEL",
                   help="DKIM selector tried on every domain before the built-in common ones")
    g.add_argument("--profile", default="baseline", metavar="NAME|FILE",
                   help="compliance profile (default baseline)")
    g = p.add_argument_group("limits")
    g.add_argument("--concurrency", type=int, default=d.concurrency, metavar="N",
                   help=f"domains scanned at once (default {d.concurrency})")
    g.add_argument("--timeout", type=float, default=d.timeout, metavar="S",
                   help=f"timeout of each network step in seconds (default {d.timeout:g})")
    g.add_argument("--deadline", type=float, default=d.domain_deadline, metavar="S",
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
    for key in ("out", "db", "fail_on", "quiet"):
        setattr(args, key, getattr(output, key))
    return args


def options_from_args(args: argparse.Namespace) -> ScanOptions:
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
    if not args.files and not args.domain:
        raise UsageError("no domains given: name a FILE, '-' for stdin, or -d DOMAIN")
    options = options_from_args(args)
    profile = get_profile(options.profile)
    targets = read_targets(args.files, args.domain, stdin=sys.stdin)
    return scan_to_reports(targets, options, profile, args)


def scan_to_reports(targets, options: ScanOptions, profile, args: argparse.Namespace) -> int:
    out = Path(args.out)
    with Store(args.db or default_db_path()) as store:
        started = now_iso()
        scan_id = store.begin_scan(started, profile.name, _options_record(options), _version())
        progress = Progress(enabled=not args.quiet and sys.stderr.isatty())
        matched = False

        def on_result(r: DomainResult) -> None:
            nonlocal matched
            store.add_result(scan_id, r)
            matched = matched or fail_on_matches(r, profile, args.fail_on)
            progress.tick(r)

        stats = ScanStats()
        if getattr(args, "dask", None):
            from ..distributed import run_scan_dask
            run_scan_dask(targets, options, profile, on_result, args.dask, stats)
        else:
            asyncio.run(run_scan(targets, options, profile, on_result, stats))
        progress.close()
        store.finish_scan(scan_id, now_iso())
        summary = finish_reports(store, scan_id, out)
    if not args.quiet:
        print(f"mxaudit: scan {scan_id}: {summary.domains} domains, {summary.compliant} compliant "
              f"({profile.name}), {summary.errors} incomplete, in "
              f"{stats.finished - stats.started:.1f}s; reports in {out}", file=sys.stderr)
    return 1 if matched else 0


def _options_record(o: ScanOptions) -> dict:
    return {"nameservers": [f"{ip}:{port}" for ip, port in o.nameservers],
            "ca_file": str(o.ca_file) if o.ca_file else None, "allow_private": o.allow_private,
            "ports": [str(p) for p in o.ports], "dkim_selectors": list(o.dkim_selectors),
            "profile": o.profile, "ehlo_name": o.ehlo_name, "concurrency": o.concurrency,
            "timeout": o.timeout, "deadline": o.domain_deadline}


def _version() -> str:
    from .. import __version__
    return __version__
