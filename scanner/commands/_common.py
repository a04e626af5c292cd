"""Command-line pieces shared by the commands: output and scan options, and turning the
parsed options into ScanOptions.

Exit statuses: 0 the command ran; 1 --fail-on matched (diff: --fail-on-worse matched);
2 usage or input error; 3 interrupted by SIGINT/SIGTERM (what finished is kept and reported).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from scanner.errors import UsageError
from scanner.evidence.smtp import DEFAULT_PORTS
from scanner.options import ScanOptions, parse_nameserver, parse_port
from scanner.run.progress import LOG_FORMATS
from scanner.verdict import FAIL_ON


def add_output_options(p: argparse.ArgumentParser, *, out_required: bool = True) -> None:
    g = p.add_argument_group("output")
    g.add_argument("--out", required=out_required, metavar="DIR",
                   help="folder for report.html, domains.csv, findings.csv, results.jsonl; "
                        "{date}, {time} and {scan} are replaced (dated folders for nightly runs)")
    g.add_argument("--db", type=Path, metavar="PATH",
                   help="scan history database (default ~/.local/share/mxaudit/history.sqlite)")
    add_out_compress(g)
    g.add_argument("--fail-on", choices=FAIL_ON, metavar="STATUS",
                   help="exit 1 when a required check of the profile is at STATUS or worse for any "
                        "domain (fail; error = fail or could-not-test; warn = any of these)")
    g.add_argument("-q", "--quiet", action="store_true", default=None,
                   help="no progress, no log lines and no summary line (warnings still show)")
    g.add_argument("--log-format", choices=LOG_FORMATS,
                   help="structured log lines on stderr instead of the progress bar (the default "
                        "when stderr is not a terminal: text)")


def add_out_compress(g) -> None:
    g.add_argument("--out-compress", action="store_true", default=None,
                   help="write results.jsonl gzip-compressed, as results.jsonl.gz (the same "
                        "lines; read with zcat or gzip.open)")


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
