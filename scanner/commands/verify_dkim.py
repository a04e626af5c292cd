"""``mxaudit verify-dkim MESSAGE.eml``: verify every DKIM signature of a real message.

dkimpy does the cryptography; its key lookups (``dnsfunc=``) are answered by the scan's DNS
layer through the same thread bridge pyspf uses, so ``--nameserver`` is honoured and no
system resolver is asked behind the operator's back. Prints one line per signature
(domain, selector, result with the reason, key size); exit status 0 only when there is at
least one signature and every one passes, 1 otherwise, 2 for usage errors.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import dkim
from dkim.util import InvalidTagValueList, parse_tag_value

from scanner.checks.dkim import key_record
from scanner.dns.sync import SyncDns
from scanner.dns.client import DnsClient
from scanner.errors import UsageError
from scanner.options import parse_nameserver
from scanner.parsers.tagvalue import clip
from scanner.textsafe import for_terminal

MAX_MESSAGE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class SignatureResult:
    index: int
    domain: str
    selector: str
    passed: bool
    reason: str
    key_bits: int | None

    def line(self) -> str:
        """The terminal line: d=, s= and the reason come from the message and DNS, so they
        are escaped (an ESC sequence in d= could otherwise draw a fake "pass" line)."""
        result = "pass" if self.passed else f"fail ({for_terminal(self.reason)})"
        bits = f"{self.key_bits} bits" if self.key_bits else "key size unknown"
        return (f"signature {self.index + 1}: d={for_terminal(self.domain) or '?'} "
                f"s={for_terminal(self.selector) or '?'}: {result}; {bits}")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "verify-dkim", help="verify the DKIM signatures of a message (.eml)",
        description="Verify every DKIM-Signature of an RFC 5322 message with dkimpy, looking "
                    "the keys up through the given nameservers. Exit 0 only when every "
                    "signature passes.")
    p.add_argument("message", metavar="MESSAGE.eml", help="the message file ('-' reads stdin)")
    p.add_argument("--nameserver", action="append", default=[], metavar="IP[:PORT]",
                   help="DNS server for key lookups (repeatable; default: the system's)")
    p.add_argument("--timeout", type=float, default=10.0, metavar="S",
                   help="seconds per DNS lookup (default 10)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    message = _read(args.message)
    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    nameservers = tuple(parse_nameserver(n) for n in args.nameserver)
    results = asyncio.run(verify_message(message, nameservers=nameservers, timeout=args.timeout))
    if not results:
        print("no DKIM-Signature header found")
        return 1
    for r in results:
        print(r.line())
    return 0 if all(r.passed for r in results) else 1


def _read(path: str) -> bytes:
    try:
        if path == "-":
            data = sys.stdin.buffer.read(MAX_MESSAGE_BYTES + 1)
        else:
            with open(Path(path), "rb") as fh:
                data = fh.read(MAX_MESSAGE_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_MESSAGE_BYTES:
        raise UsageError(f"{path}: larger than {MAX_MESSAGE_BYTES // (1024 * 1024)} MB")
    return data


class _Reasons(logging.Handler):
    """Collects dkimpy's log lines: its verify() reports key problems only there."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.errors.append(record.getMessage())


async def verify_message(message: bytes, *, nameservers: tuple[tuple[str, int], ...] = (),
                         timeout: float = 10.0) -> list[SignatureResult]:
    dns = DnsClient(nameservers, timeout=timeout, retries=1)
    bridge = SyncDns(dns, asyncio.get_running_loop(), timeout * 3)
    return await asyncio.to_thread(_verify_all, message, bridge)


def _dnsfunc(bridge: SyncDns):
    def lookup(name, timeout=5):
        text = name.decode("ascii", "replace") if isinstance(name, bytes) else str(name)
        res = bridge.query(text.rstrip("."), "TXT")
        if not res.outcome.answered:
            raise dkim.DnsTimeoutError(res.describe())
        record = key_record(res.records if res.ok else ())
        return record.encode("utf-8", "replace") if record is not None else None
    return lookup


def _verify_all(message: bytes, bridge: SyncDns) -> list[SignatureResult]:
    reasons = _Reasons()
    logger = logging.Logger("mxaudit.verify-dkim")   # not registered globally: per call
    logger.addHandler(reasons)
    try:
        d = dkim.DKIM(message, logger=logger)
    except dkim.DKIMException as exc:
        return [SignatureResult(0, "", "", False, f"unparsable message: {exc}", None)]
    headers = [v for k, v in d.headers if k.lower() == b"dkim-signature"]
    out = []
    for i, value in enumerate(headers):
        try:
            tags = parse_tag_value(value)
        except InvalidTagValueList:
            tags = {}
        domain = tags.get(b"d", b"").decode("ascii", "replace")
        selector = tags.get(b"s", b"").decode("ascii", "replace")
        reasons.errors.clear()
        d.keysize = 0
        try:
            passed, reason = bool(d.verify(idx=i, dnsfunc=_dnsfunc(bridge))), ""
        except dkim.DKIMException as exc:
            passed, reason = False, str(exc)
        except Exception as exc:  # dkimpy on hostile input: a failed signature, not a crash
            passed, reason = False, f"{type(exc).__name__}: {exc}"
        if not passed and not reason:
            reason = reasons.errors[-1] if reasons.errors else "signature does not verify"
        out.append(SignatureResult(i, domain, selector, passed, clip(reason, 200),
                                   int(d.keysize) if getattr(d, "keysize", 0) else None))
    return out
