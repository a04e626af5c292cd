"""The configuration file: what an operator sets once for every nightly run.

Read from ``--config FILE``, else from ``$XDG_CONFIG_HOME/mxaudit/config.toml`` (default
``~/.config/mxaudit/config.toml``) when it exists. One flat TOML table; every key is also a
command-line option, and an option given on the command line wins::

    nameservers = ["10.0.0.53", "10.0.1.53:5353"]
    ca_file = "/etc/ssl/certs/internal-ca.pem"     # relative paths: from the config's folder
    trust_anchors = ["/etc/mxaudit/corp-anchor.key"]   # DNSSEC: DS/DNSKEY files (--trust-anchor)
    allow_private = false
    ports = ["25:smtp", "465:submissions", "587:submission"]
    profile = "baseline"                            # a name or a profile file
    dkim_selectors = ["selector1", "google"]
    concurrency = 50
    timeout = 10.0                                  # each network step, seconds
    deadline = 120.0                                # each domain, seconds
    ehlo_name = "scanner.example.com"
    ip_version = "4"                                # 4, 6 or both; unset: detect (env.ipv6)
    no_port25 = false                               # outbound port 25 filtered here
    port25_canary = "192.0.2.25"                    # an address known to accept port 25
    retry_pause = 3.0                               # before redoing a transiently refused probe
    out = "/var/lib/mxaudit/reports/{date}"         # {date} {time} {scan}
    db = "/var/lib/mxaudit/history.sqlite"
    out_compress = true                             # results.jsonl.gz (scan and report)
    fail_on = "fail"
    log_format = "json"
    quiet = false
    pdf = true                                      # report.pdf too (mxaudit[pdf])
    metrics = "/var/lib/node_exporter/textfile/mxaudit.prom"   # Prometheus text file
    metrics_domains = false                         # one series per domain in it
    prune_keep = 30                                 # mxaudit prune: keep the last 30 scans
    prune_older_than = 90                           # ... and only delete scans over 90 days old

An unknown key or a bad value is a usage error (exit 2) that names the file and the key.
"""
from __future__ import annotations

import argparse
import os
import string
import tomllib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from scanner.errors import UsageError
from scanner.options import IP_VERSIONS, parse_canary, parse_nameserver, parse_port
from scanner.run.progress import LOG_FORMATS
from scanner.verdict import FAIL_ON

OUT_FIELDS = ("date", "time", "scan")


def default_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "mxaudit" / "config.toml"


class _Bad(ValueError):
    """A value's problem, turned into 'config FILE: KEY: problem' by the loader."""


def _str(v: object) -> str:
    if not isinstance(v, str) or not v.strip():
        raise _Bad("must be a non-empty string")
    return v


def _bool(v: object) -> bool:
    if not isinstance(v, bool):
        raise _Bad("must be true or false")
    return v


def _positive_int(v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise _Bad("must be a whole number of at least 1")
    return v


def _port_number(v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 < v < 65536:
        raise _Bad("must be a port number from 1 to 65535")
    return v


def _days(v: object) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
        raise _Bad("must be a number of days, 0 or more")
    return float(v)


def _seconds(v: object) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
        raise _Bad("must be a positive number of seconds")
    return float(v)


def _str_list(check: Callable[[str], object] | None = None) -> Callable[[object], list[str]]:
    def convert(v: object) -> list[str]:
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise _Bad("must be a list of strings")
        for x in v:
            if check is not None:
                try:
                    check(x)
                except UsageError as exc:
                    raise _Bad(str(exc)) from None
        return list(v)
    return convert


def _choice(*choices: str) -> Callable[[object], str]:
    def convert(v: object) -> str:
        if v not in choices:
            raise _Bad(f"must be one of {', '.join(choices)}")
        return str(v)
    return convert


def _ip_version(v: object) -> str:
    text = str(v) if isinstance(v, (int, str)) and not isinstance(v, bool) else ""
    if text not in IP_VERSIONS:
        raise _Bad("must be 4, 6 or \"both\"")
    return text


def _canary(v: object) -> str:
    try:
        return parse_canary(_str(v))
    except UsageError as exc:
        raise _Bad(str(exc)) from None


def _pause(v: object) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
        raise _Bad("must be a number of seconds, 0 or more")
    return float(v)


def _out_pattern(v: object) -> str:
    text = _str(v)
    check_out_pattern(text)
    return text


# config key -> (argparse attribute, converter, is a path relative to the config's folder)
KEYS: dict[str, tuple[str, Callable[[object], object], bool]] = {
    "nameservers": ("nameserver", _str_list(parse_nameserver), False),
    "ca_file": ("ca_file", _str, True),
    "trust_anchors": ("trust_anchor", _str_list(), True),
    "allow_private": ("allow_private", _bool, False),
    "ports": ("port", _str_list(parse_port), False),
    "profile": ("profile", _str, False),
    "dkim_selectors": ("dkim_selector", _str_list(), False),
    "concurrency": ("concurrency", _positive_int, False),
    "timeout": ("timeout", _seconds, False),
    "deadline": ("deadline", _seconds, False),
    "ehlo_name": ("ehlo_name", _str, False),
    "mta_sts_port": ("mta_sts_port", _port_number, False),
    "ip_version": ("ip_version", _ip_version, False),
    "no_port25": ("no_port25", _bool, False),
    "port25_canary": ("port25_canary", _canary, False),
    "retry_pause": ("retry_pause", _pause, False),
    "out": ("out", _out_pattern, True),
    "db": ("db", _str, True),
    "out_compress": ("out_compress", _bool, False),
    "fail_on": ("fail_on", _choice(*FAIL_ON), False),
    "log_format": ("log_format", _choice(*LOG_FORMATS), False),
    "quiet": ("quiet", _bool, False),
    "pdf": ("pdf", _bool, False),
    "metrics": ("metrics", _str, True),
    "metrics_domains": ("metrics_domains", _bool, False),
    "prune_keep": ("keep", _positive_int, False),
    "prune_older_than": ("older_than", _days, False),
}
# Keys that matter to commands other than scan (all keys are still validated).
SHARED_KEYS = ("db", "pdf", "out_compress")
# Keys read by one other command as well as by scan.
COMMAND_KEYS = {"prune": ("keep", "older_than", "quiet")}
# `check` takes the scan's settings but not where to write or when to fail: an ad hoc look
# keeps no history and writes no folder (nor PDF, nor metrics) unless its own command line asks.
NOT_FOR_CHECK = ("out", "db", "fail_on", "pdf", "metrics", "metrics_domains", "out_compress")


def load_config(path: Path | None) -> dict[str, object]:
    """Validated settings keyed by argparse attribute. ``path`` None: the per-user default,
    if it exists. Raises UsageError naming the file and key."""
    explicit = path is not None
    path = Path(path) if explicit else default_config_path()
    if not path.is_file():
        if explicit:
            raise UsageError(f"--config {path}: no such file")
        return {}
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config {path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise UsageError(f"config {path}: cannot read ({exc.strerror or exc})") from None
    settings: dict[str, object] = {}
    for key, value in data.items():
        if key not in KEYS:
            raise UsageError(f"config {path}: unknown key {key!r} (known: {', '.join(KEYS)})")
        attr, convert, is_path = KEYS[key]
        try:
            value = convert(value)
        except _Bad as exc:
            raise UsageError(f"config {path}: key {key!r}: {exc}") from None
        if is_path and isinstance(value, list):
            value = [str(path.parent / Path(v).expanduser()) for v in value]
        elif is_path:
            value = str(path.parent / Path(str(value)).expanduser())
        if key == "profile" and str(value).endswith(".toml"):
            value = str(path.parent / Path(str(value)).expanduser())
        settings[attr] = value
    return settings


def apply_config(args: argparse.Namespace, command: str) -> None:
    """Fill options the command line left unset from the config file. Records the options
    that were given on the command line in ``args.explicit`` (``scan --resume`` uses it)."""
    settings = load_config(getattr(args, "config", None))
    args.explicit = {k for k, v in vars(args).items() if v not in (None, [], False)}
    for attr, value in settings.items():
        if command == "check":
            if attr in NOT_FOR_CHECK:
                continue
        elif command != "scan" and attr not in SHARED_KEYS + COMMAND_KEYS.get(command, ()):
            continue
        if not hasattr(args, attr) or getattr(args, attr) not in (None, []):
            continue
        if attr in ("ca_file", "db", "metrics"):
            value = Path(str(value))
        setattr(args, attr, value)


def check_out_pattern(pattern: str) -> None:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None]
    except ValueError as exc:
        raise _Bad(f"bad pattern ({exc})") from None
    unknown = [f for f in fields if f not in OUT_FIELDS]
    if unknown:
        raise _Bad(f"unknown placeholder {{{unknown[0]}}} (use {{date}}, {{time}}, {{scan}})")


def expand_out(pattern: str, when: datetime, scan_id: int) -> Path:
    """``/var/lib/mxaudit/{date}`` -> ``/var/lib/mxaudit/2025-01-31`` (local time of the
    scan's start: the date an operator expects in the morning)."""
    try:
        check_out_pattern(pattern)
    except _Bad as exc:
        raise UsageError(f"--out {pattern!r}: {exc}") from None
    return Path(pattern.format(date=when.strftime("%Y-%m-%d"), time=when.strftime("%H%M%S"),
                               scan=scan_id)).expanduser()
