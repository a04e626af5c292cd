"""Checks: MTA-STS (RFC 8461): the TXT record, the policy fetch, its mode, MX coverage.

The TXT record is a tag-value record (shared parser); the policy file is a different shape,
``key: value`` lines (RFC 8461 3.2), parsed here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from scanner.evidence import DomainEvidence
from scanner.evidence.records import MtaStsEvidence
from scanner.findings import Status
from scanner.registry import Outcome, check
from scanner.parsers.tagvalue import clip, parse
from scanner.checks._policy import listing, single_record, versioned_records

_ID = re.compile(r"[A-Za-z0-9]{1,32}\Z")
_KEY = re.compile(r"[A-Za-z0-9_]+\Z")
MAX_AGE_LIMIT = 31557600
MODES = ("enforce", "testing", "none")
# Fetch failures that mean "could not determine" rather than an observed failure.
_ERROR_CLASSES = ("dns", "timeout")


@dataclass(frozen=True)
class Policy:
    fields: tuple[tuple[str, str], ...]
    mx: tuple[str, ...]
    errors: tuple[str, ...]

    def get(self, key: str) -> str | None:
        for k, v in self.fields:
            if k == key:
                return v
        return None


def parse_policy(text: str) -> Policy:
    """RFC 8461 3.2: 'key: value' lines (CRLF or LF); mx may repeat, other keys may not."""
    fields: list[tuple[str, str]] = []
    mx: list[str] = []
    errors: list[str] = []
    seen: set[str] = set()
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or not _KEY.match(key):
            errors.append(f"line {n}: not 'key: value': {clip(line, 60)}")
            continue
        if key == "mx":
            mx.append(value.lower())
            continue
        if key in seen:
            errors.append(f"line {n}: duplicate {key}")
            continue
        seen.add(key)
        fields.append((key, value))
    policy = Policy(tuple(fields), tuple(mx), ())
    errors += _field_errors(policy)
    return Policy(policy.fields, policy.mx, tuple(errors))


def _field_errors(p: Policy) -> list[str]:
    errors = []
    if p.get("version") != "STSv1":
        errors.append(f"version must be STSv1 (got {clip(p.get('version') or 'none', 30)})")
    mode = p.get("mode")
    if mode not in MODES:
        errors.append(f"mode must be enforce, testing or none (got {clip(mode or 'none', 30)})")
    max_age = p.get("max_age")
    if max_age is None or not max_age.isdigit() or int(max_age) > MAX_AGE_LIMIT:
        errors.append(f"max_age must be an integer 0-{MAX_AGE_LIMIT} "
                      f"(got {clip(max_age or 'none', 30)})")
    if mode in ("enforce", "testing") and not p.mx:
        errors.append("no mx: line")
    bad = [m for m in p.mx if not re.fullmatch(r"(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?", m)]
    if bad:
        errors.append(f"invalid mx pattern(s): {listing([clip(b, 40) for b in bad], 4)}")
    return errors


def mx_matches(host: str, pattern: str) -> bool:
    """RFC 8461 4.1: exact match, or '*.' matching exactly one leftmost label."""
    host, pattern = host.lower().rstrip("."), pattern.lower().rstrip(".")
    if pattern.startswith("*."):
        head, dot, rest = host.partition(".")
        return bool(head) and bool(dot) and rest == pattern[2:]
    return host == pattern


def record_errors(record: str) -> list[str]:
    tags = parse(record)
    errors = list(tags.errors) + [f"duplicate tag {d}" for d in tags.duplicates]
    if tags.first != "v" or tags.get("v") != "STSv1":
        errors.append("must start with v=STSv1")
    ident = tags.get("id")
    if ident is None:
        errors.append("missing id")
    elif not _ID.match(ident):
        errors.append(f"id must be 1-32 letters/digits (got {clip(ident, 40)})")
    return errors


def _evidence(ev: DomainEvidence) -> tuple[MtaStsEvidence | None, tuple[str, ...], Outcome | None]:
    return versioned_records(ev, "mta_sts", "STSv1")


def fetched_policy(ev: DomainEvidence) -> tuple[Policy | None, Outcome | None]:
    """The well-formed policy, or the outcome that explains why there is none."""
    m, records, problem = _evidence(ev)
    if problem:
        return None, problem
    if not records:
        return None, Outcome(Status.SKIPPED, "no MTA-STS record: no policy to fetch")
    f = m.fetch
    if f is None:
        return None, Outcome(Status.ERROR, "the policy was not fetched")
    where = f"{f.url}" + (f" [{f.ip}]" if f.ip else "")
    if f.error_class:
        status = Status.ERROR if f.error_class in _ERROR_CLASSES else Status.FAIL
        return None, Outcome(status, f"{where}: {f.error_class}: {clip(f.error, 160)}")
    if f.redirect or 300 <= f.status < 400:
        return None, Outcome(Status.FAIL, f"{where}: HTTP {f.status} redirect to "
                                          f"{clip(f.redirect, 100)} (redirects must not be followed)")
    if f.status != 200:
        return None, Outcome(Status.FAIL, f"{where}: HTTP {f.status}")
    if f.truncated:
        return None, Outcome(Status.FAIL, f"{where}: the policy exceeds the size limit "
                                          f"({f.size} bytes read)")
    ctype = f.content_type.split(";")[0].strip().lower()
    if ctype != "text/plain":
        return None, Outcome(Status.FAIL, f"{where}: content type {clip(f.content_type, 60) or 'missing'}"
                                          ", not text/plain")
    policy = parse_policy(f.body)
    if policy.errors:
        return None, Outcome(Status.FAIL, f"{where}: malformed policy: {listing(policy.errors, 5)}")
    return policy, None


def _dependent(problem: Outcome) -> Outcome:
    """What the mode/coverage checks say when there is no valid policy to read."""
    if problem.status is Status.ERROR:
        return Outcome(Status.ERROR, f"could not be determined: {problem.message}")
    return Outcome(Status.SKIPPED, "no valid policy (see mta_sts.policy)")


@check("mta_sts.record", title="MTA-STS record", category="policy", reference="RFC 8461 3.1",
       remediation="Publish a TXT record at _mta-sts.<domain>: 'v=STSv1; id=<policy id>', and "
                   "the policy at https://mta-sts.<domain>/.well-known/mta-sts.txt.")
def mta_sts_record(ev: DomainEvidence):
    _m, records, problem = _evidence(ev)
    return [problem or single_record(records, "STSv1", f"_mta-sts.{ev.domain}", record_errors)]


@check("mta_sts.policy", title="MTA-STS policy", category="policy", reference="RFC 8461 3.2-3.3",
       remediation="Serve the policy as text/plain over HTTPS with a valid certificate for "
                   "mta-sts.<domain>, without redirects: version, mode, mx and max_age lines.")
def mta_sts_policy(ev: DomainEvidence):
    policy, problem = fetched_policy(ev)
    if problem:
        return [problem]
    return [Outcome(Status.PASS, f"policy: mode {policy.get('mode')}, max_age "
                                 f"{policy.get('max_age')}, mx {listing(list(policy.mx))}")]


@check("mta_sts.mode", title="MTA-STS mode", category="policy", reference="RFC 8461 5",
       remediation="Switch the MTA-STS policy to mode: enforce once TLS-RPT reports are clean.")
def mta_sts_mode(ev: DomainEvidence):
    policy, problem = fetched_policy(ev)
    if problem:
        return [_dependent(problem)]
    mode = policy.get("mode")
    if mode == "enforce":
        return [Outcome(Status.PASS, "mode: enforce")]
    return [Outcome(Status.WARN, f"mode: {mode}")]


@check("mta_sts.mx_coverage", title="MTA-STS policy covers the MX hosts", category="policy",
       reference="RFC 8461 4.1",
       remediation="List every MX host (or a matching '*.' pattern) in the policy's mx: lines.")
def mta_sts_mx_coverage(ev: DomainEvidence):
    policy, problem = fetched_policy(ev)
    if problem:
        return [_dependent(problem)]
    if policy.get("mode") == "none":
        return [Outcome(Status.SKIPPED, "mode none: the policy makes no MX claims")]
    hosts = [h for h in (ev.mx.hosts if ev.mx else ()) if h.name]
    if not hosts:
        return [Outcome(Status.SKIPPED, "no MX hosts")]
    out = []
    for host in hosts:
        match = next((p for p in policy.mx if mx_matches(host.name, p)), None)
        if match:
            out.append(Outcome(Status.PASS, f"matches mx: {match}", subject=host.name))
        else:
            out.append(Outcome(Status.FAIL, f"matches no mx: pattern "
                                            f"({listing(list(policy.mx))})", subject=host.name))
    return out
