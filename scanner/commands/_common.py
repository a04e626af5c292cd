"""Command-line pieces shared by the commands: output and scan options, and turning the
parsed options into ScanOptions.

Exit statuses: 0 the command ran; 1 --fail-on matched (diff: --fail-on-worse matched);
2 usage or input error; 3 interrupted by SIGINT/SIGTERM (what finished is kept and reported).
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from scanner.dns.dnssec.anchors import TrustAnchors
from scanner.errors import UsageError
from scanner.evidence.smtp import DEFAULT_PORTS
from scanner.options import (ScanOptions, parse_canary, parse_ip_version, parse_nameserver,
                             parse_port)
from scanner.run.progress import LOG_FORMATS
from scanner.verdict import FAIL_ON


def add_output_options(p: argparse.ArgumentParser, *, out_required: bool = True,
                       history: str = "default ~/.local/share/mxaudit/history.sqlite") -> None:
    g = p.add_argument_group("output")
    g.add_argument("--out", required=out_required, metavar="DIR",
                   help="folder for report.html, domains.csv, findings.csv, results.jsonl; "
                        "{date}, {time} and {scan} are replaced (dated folders for nightly runs)")
    g.add_argument("--db", type=Path, metavar="PATH",
                   help=f"scan history database ({history})")
    add_out_compress(g)
    g.add_argument("--fail-on", choices=FAIL_ON, metavar="STATUS",
                   help="exit 1 when a required check of the profile is at STATUS or worse for any "
                        "domain (fail; error = fail or could-not-test; warn = any of these)")
    g.add_argument("-q", "--quiet", action="store_true", default=None,
                   help="no progress, no log lines and no summary line (warnings still show)")
    g.add_argument("--log-format", choices=LOG_FORMATS,
                   help="structured log lines on stderr instead of the progress bar (the default "
                        "when stderr is not a terminal: text)")
    add_pdf_option(g)


def add_pdf_option(g) -> None:
    g.add_argument("--pdf", action="store_true", default=None,
                   help="also write report.pdf, the audit pack for paper (needs WeasyPrint: "
                        "pip install 'mxaudit[pdf]')")


def add_metrics_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("monitoring")
    g.add_argument("--metrics", type=Path, metavar="FILE",
                   help="write a Prometheus text-format file at the end of the scan, atomically "
                        "(for node_exporter's textfile collector: a name ending in .prom)")
    g.add_argument("--metrics-domains", action="store_true", default=None,
                   help="add one series per domain to the --metrics file (compliant, score, "
                        "grade); without it the labels are bounded")


def check_outputs(args: argparse.Namespace) -> None:
    """Before a scan: what --pdf and --metrics need is there (exit 2 now, not after hours)."""
    if getattr(args, "pdf", None):
        from reports.pdf import require
        require()
    metrics = getattr(args, "metrics", None)
    if metrics is not None:
        folder = Path(metrics).parent
        if Path(metrics).is_dir():
            raise UsageError(f"--metrics {metrics}: is a folder; name the file to write")
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            raise UsageError(f"--metrics {metrics}: folder {folder} is missing or not writable")


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
    g.add_argument("--trust-anchor", action="append", default=[], metavar="FILE",
                   help="DNSSEC trust anchors: DS or DNSKEY records in zone-file format, for any "
                        "zone (repeatable); a zone named here replaces the built-in anchors for "
                        "that zone (the IANA root KSKs), other zones are added")
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
    g.add_argument("--ip-version", metavar="4|6|both",
                   help="address families to probe, stated instead of detected (default: both "
                        "where this host has a route; IPv6 left out, and said once, where not)")
    g.add_argument("--no-port25", action="store_true", default=None,
                   help="outbound port 25 is filtered here: probe submission ports only (port-25 "
                        "checks are 'could not be tested', never failures)")
    g.add_argument("--port25-canary", metavar="IP",
                   help="an address known to accept port 25: if it does not answer on 25, "
                        "outbound port 25 is taken as filtered at once")
    g.add_argument("--retry-pause", type=float, metavar="S",
                   help=f"pause before redoing a probe refused transiently (4xx greeting, 421), "
                        f"jittered; throttled MX addresses are then paced by it "
                        f"(default {d.retry_pause:g})")
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
    g.add_argument("--workers", type=int, metavar="N",
                   help="collector processes, each on its own core; every MX host is still "
                        "probed once (default 1: this process; 0: one per core, fewer for "
                        "short lists)")
    g.add_argument("--dask", metavar="SCHEDULER_ADDRESS",
                   help="shard the domain list over a Dask distributed cluster (e.g. "
                        "tcp://scheduler.example:8786); needs: pip install 'mxaudit[dask]'")


def options_from_args(args: argparse.Namespace) -> ScanOptions:
    d = ScanOptions()
    for attr, default in (("ehlo_name", d.ehlo_name), ("mta_sts_port", d.mta_sts_port),
                          ("profile", d.profile), ("concurrency", d.concurrency),
                          ("timeout", d.timeout), ("deadline", d.domain_deadline),
                          ("allow_private", False), ("retry_pause", d.retry_pause),
                          ("ip_version", None), ("no_port25", False), ("port25_canary", None)):
        if getattr(args, attr, None) is None:
            setattr(args, attr, default)
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if getattr(args, "workers", None) is not None and args.workers < 0:
        raise UsageError("--workers must be 0 (one per core) or more")
    if args.timeout <= 0 or args.deadline <= 0:
        raise UsageError("--timeout and --deadline must be positive")
    if args.retry_pause < 0:
        raise UsageError("--retry-pause must not be negative")
    if args.ca_file is not None and not args.ca_file.is_file():
        raise UsageError(f"--ca-file {args.ca_file}: no such file")
    anchors = tuple(str(Path(p).resolve()) for p in getattr(args, "trust_anchor", None) or ())
    TrustAnchors.load(anchors)      # a bad file is a usage error now, not a scan of errors
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
        trust_anchors=anchors,
        retry_pause=args.retry_pause,
        ip_version=parse_ip_version(args.ip_version) if args.ip_version else "auto",
        no_port25=bool(args.no_port25),
        port25_canary=parse_canary(args.port25_canary) if args.port25_canary else None,
    )
