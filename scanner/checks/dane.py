"""Checks: dane.tlsa, dane.rollover (CHECKS.md, SMTP). The matching itself is in _dane.py.

dane.rollover counts the keys the usable records stand for, not the records: "3 0 1" and
"3 1 1" of the same certificate are two records but one key, and would not survive its
change (RFC 7671 8.1: publish the next key's record, or a DANE-TA record, beside the current
one). A record that matches no presented certificate stands for a key of its own (a
pre-published next key).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

from scanner.checks._dane import HostDane, dane_hosts, presented_chain, record_matches, record_text
from scanner.evidence import DomainEvidence
from scanner.evidence.dnssec import TlsaRecord
from scanner.findings import Status
from scanner.registry import Outcome, check

NOT_COLLECTED = "not determined: no DNSSEC evidence was recorded for this domain"


def _per_host(ev: DomainEvidence, judge: Callable[[str, HostDane], Outcome]) -> Iterator[Outcome]:
    """``judge`` for each MX host's DANE verdict; one domain-level outcome when there is
    no host to judge."""
    if ev.mx is not None and ev.mx.null_mx:
        yield Outcome(Status.SKIPPED, "null MX: the domain accepts no mail")
    elif ev.dnssec is None:
        yield Outcome(Status.ERROR, NOT_COLLECTED)
    elif not ev.dnssec.hosts:
        yield Outcome(Status.SKIPPED, "no MX host to examine (see mx.present)")
    else:
        for host, verdict in dane_hosts(ev).items():
            yield judge(host, verdict)


@check("dane.tlsa", title="DANE TLSA records match the MX hosts", category="transport",
       reference="RFC 6698, RFC 7671, RFC 7672",
       remediation="Publish a DANE-EE TLSA record at _25._tcp.<MX host> for the key the "
                   "server presents, in a DNSSEC-signed zone.")
def tlsa(ev: DomainEvidence) -> Iterator[Outcome]:
    return _per_host(ev, lambda host, v: Outcome(v.status, v.message, host, v.remediation))


def _key_of(rec: TlsaRecord, chains) -> object:
    """The presented key a record identifies, or the record itself when it matches none."""
    for chain in chains:
        for cert in chain:
            if record_matches(rec, cert):
                return cert.spki_sha256 or cert.sha256
    return rec


@check("dane.rollover", title="DANE survives a key change", category="transport",
       reference="RFC 7671 8.1",
       remediation="Publish a second TLSA record before changing keys: the next key's "
                   "'3 1 1' record, or a '2 1 1' record for the issuing CA.")
def rollover(ev: DomainEvidence) -> Iterator[Outcome]:
    return _per_host(ev, _rollover)


def _rollover(host: str, verdict: HostDane) -> Outcome:
    if not verdict.usable:
        return Outcome(Status.SKIPPED, "no DANE: no usable DNSSEC-secure TLSA record", host)
    chains = [presented_chain(e.probe) for e in verdict.endpoints]
    keys = {_key_of(r, chains) for r in verdict.usable}
    records = ", ".join(record_text(r) for r in verdict.usable)
    if len(keys) >= 2:
        return Outcome(Status.PASS, f"{len(verdict.usable)} usable TLSA records for "
                                    f"{len(keys)} different keys ({records})", host)
    if len(verdict.usable) >= 2:
        return Outcome(Status.WARN, f"{len(verdict.usable)} usable TLSA records, all for the "
                                    f"same key ({records}): a key change breaks DANE", host)
    return Outcome(Status.WARN, f"a single usable TLSA record ({records}): a key change "
                                "breaks DANE until the new record is published", host)
