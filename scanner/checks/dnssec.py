"""Checks: dnssec.signed, dnssec.mx_signed (CHECKS.md, Input and DNS).

Both judge mxaudit's own validation (scanner/collect/dnssec.py), never the resolver's AD
bit, which the messages mention only as a second opinion: secure -> pass, insecure ->
warn, bogus -> fail, indeterminate -> error.
"""
from __future__ import annotations

from collections.abc import Iterator

from scanner.evidence import DnsOutcome, DomainEvidence
from scanner.evidence.dnssec import Security, Validation
from scanner.findings import Status
from scanner.registry import Outcome, check

STATUS = {Security.SECURE: Status.PASS, Security.INSECURE: Status.WARN,
          Security.BOGUS: Status.FAIL, Security.INDETERMINATE: Status.ERROR}
NOT_COLLECTED = ("not determined: no DNSSEC evidence was recorded (the domain's deadline ran "
                 "out first, or the scan predates DNSSEC validation)")

REMEDIATE_BOGUS = ("Fix the broken chain of trust now: validating resolvers refuse these "
                   "answers, so mail to the domain fails. Re-sign the zone (expired or missing "
                   "RRSIGs), or make the DS record at the parent match a published DNSKEY "
                   "(or remove the DS to go unsigned).")
REMEDIATE_INSECURE = ("Sign the zone with DNSSEC (algorithm 13 or 15) and publish its DS "
                      "record at the parent zone through the registrar.")


def chain_text(v: Validation) -> str:
    return " > ".join(v.chain) if v.chain else "no chain"


def _resolver_note(v: Validation) -> str:
    if v.resolver_rejected:
        return "; the resolver also rejected it (SERVFAIL without CD)"
    if v.resolver_ad and v.state is not Security.SECURE:
        return "; note: the resolver claimed it secure (AD), mxaudit's own validation did not"
    return ""


def describe(v: Validation) -> str:
    """'MX example.com: secure (. 20326/8 > com. 19718/13 > example.com. 370/13)', or the
    state and the validator's reason (which names the RRset and what broke)."""
    if v.state is Security.SECURE:
        text = f"{v.rdtype} {v.name}: secure ({chain_text(v)})"
    else:
        text = f"{v.state}: {v.detail}"
    return text + _resolver_note(v)


def outcome(v: Validation, subject: str = "") -> Outcome:
    status = STATUS[v.state]
    remediation = {Security.BOGUS: REMEDIATE_BOGUS, Security.INSECURE: REMEDIATE_INSECURE}.get(v.state)
    return Outcome(status, describe(v), subject, remediation)


@check("dnssec.signed", title="Domain signed with DNSSEC", category="mx", requires="valid",
       reference="RFC 4033-4035, RFC 5155", remediation=REMEDIATE_INSECURE)
def signed(ev: DomainEvidence) -> Iterator[Outcome]:
    """Runs also when the MX lookup failed: a validating resolver's SERVFAIL for bogus data
    is exactly when this check has something to say (it validated with CD set)."""
    if ev.mx is not None and ev.mx.lookup.outcome is DnsOutcome.NXDOMAIN:
        yield Outcome(Status.SKIPPED, "not evaluated: the domain does not exist")
        return
    if ev.dnssec is None:
        yield Outcome(Status.ERROR, f"not determined: {ev.error}" if ev.error and ev.mx is None
                      else NOT_COLLECTED)
        return
    yield outcome(ev.dnssec.domain)


@check("dnssec.mx_signed", title="MX hosts' addresses signed with DNSSEC", category="mx",
       reference="RFC 7672 2.2", remediation=REMEDIATE_INSECURE)
def mx_signed(ev: DomainEvidence) -> Iterator[Outcome]:
    if ev.mx is not None and ev.mx.null_mx:
        yield Outcome(Status.SKIPPED, "null MX: the domain accepts no mail")
        return
    if ev.dnssec is None:
        yield Outcome(Status.ERROR, NOT_COLLECTED)
        return
    if not ev.dnssec.hosts:
        yield Outcome(Status.SKIPPED, "no MX host to examine (see mx.present)")
        return
    for host in ev.dnssec.hosts:
        found = host.validations
        if not found:
            yield Outcome(Status.SKIPPED, f"{host.tlsa_skipped or 'no address records asked'}",
                          host.host)
            continue
        worst = next(v for v in found if v.state is host.state)
        if host.state is Security.SECURE:
            kinds = ", ".join(f"{v.rdtype} {v.outcome}" for v in found)
            yield Outcome(Status.PASS, f"{host.host}: address records secure ({kinds}; "
                                       f"{chain_text(worst)})", host.host)
        else:
            yield outcome(worst, host.host)
