"""Checks: domain.valid, domain.exists (CHECKS.md, Input and DNS)."""
from __future__ import annotations

from collections.abc import Iterator

from scanner.evidence import DnsOutcome, DomainEvidence
from scanner.findings import Status
from scanner.registry import Outcome, check


@check("domain.valid", title="Valid domain name", category="mx", requires="input",
       reference="RFC 1035, RFC 5890",
       remediation="Correct the input list: give one domain name per line (IDNs are accepted).")
def domain_valid(ev: DomainEvidence) -> Iterator[Outcome]:
    if ev.valid:
        shown = f" (as {ev.domain})" if ev.domain != ev.input.lower().rstrip(".") else ""
        yield Outcome(Status.PASS, f"valid domain name{shown}")
    else:
        yield Outcome(Status.FAIL, f"not a valid domain name: {ev.invalid_reason}")


@check("domain.exists", title="Domain exists in DNS", category="mx", requires="valid",
       reference="RFC 1035",
       remediation="Register the domain or remove it from the list; if it should exist, "
                   "check its delegation and its authoritative name servers.")
def domain_exists(ev: DomainEvidence) -> Iterator[Outcome]:
    if ev.mx is None:
        yield Outcome(Status.ERROR, f"could not be determined: {ev.error or 'not scanned'}")
        return
    lookup = ev.mx.lookup
    if lookup.outcome is DnsOutcome.NXDOMAIN:
        yield Outcome(Status.FAIL, "the domain does not exist (NXDOMAIN)")
    elif lookup.outcome.answered:
        yield Outcome(Status.PASS, "the domain exists")
    else:
        yield Outcome(Status.ERROR, f"could not be determined: {lookup.describe()}")
