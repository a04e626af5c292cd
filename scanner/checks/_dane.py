"""DANE for SMTP (RFC 6698, RFC 7671, RFC 7672), judged from evidence: which TLSA record
matches which certificate of the chain each port-25 endpoint presented. Pure; shared by
scanner/checks/dane.py (dane.tlsa, dane.rollover), the port-25 PKIX rule of
scanner/checks/smtp.py and the report.

Matching (RFC 6698 2.1, RFC 7671 5): usage 3 (DANE-EE) matches the leaf, and nothing else is
checked (no names, no dates: RFC 7672 3.1.1); usage 2 (DANE-TA) matches a certificate above
the leaf of the presented chain, every certificate below it must be signed by the next
(``signed_by_next``), and the leaf must carry one of the reference identifiers: the TLSA base
domain or the MX host name (RFC 7672 3.2.2). Selector 0 compares the whole certificate, 1 its
SubjectPublicKeyInfo; matching type 1/2 compare SHA-256/SHA-512 digests, 0 the full data
(by SHA-256 equality, see TlsaRecord). Usages 0 and 1 (PKIX-TA, PKIX-EE) are unusable for
SMTP (RFC 7672 3.1.3), as are unknown selectors and matching types and digests of the
wrong length (RFC 7671 4).
"""
from __future__ import annotations

from dataclasses import dataclass

from scanner.checks._certnames import hostname_matches
from scanner.evidence import DomainEvidence
from scanner.evidence.dnssec import MxHostDnssec, Security, TlsaRecord
from scanner.evidence.smtp import Attempt, CertificateFacts, SmtpProbe
from scanner.findings import Status, subject_endpoint
from scanner.registry import per_evidence

USAGES = {0: "PKIX-TA", 1: "PKIX-EE", 2: "DANE-TA", 3: "DANE-EE"}
SELECTORS = {0: "Cert", 1: "SPKI"}
MATCHING = {0: "Full", 1: "SHA2-256", 2: "SHA2-512"}
_DIGEST_BYTES = {1: 32, 2: 64}


def unusable(rec: TlsaRecord) -> str:
    """Why a TLSA record cannot authenticate an SMTP server ('' when it can)."""
    if rec.usage in (0, 1):
        return f"usage {rec.usage} ({USAGES[rec.usage]}) is unusable for SMTP (RFC 7672 3.1.3)"
    if rec.usage not in USAGES:
        return f"unknown usage {rec.usage}"
    if rec.selector not in SELECTORS:
        return f"unknown selector {rec.selector}"
    if rec.matching_type not in MATCHING:
        return f"unknown matching type {rec.matching_type}"
    want = _DIGEST_BYTES.get(rec.matching_type)
    if want is not None and rec.length != want:
        return f"a {MATCHING[rec.matching_type]} digest of {rec.length} bytes (not {want})"
    return ""


def record_text(rec: TlsaRecord) -> str:
    return (f"{rec.usage} {rec.selector} {rec.matching_type} "
            f"({USAGES.get(rec.usage, '?')} {SELECTORS.get(rec.selector, '?')} "
            f"{MATCHING.get(rec.matching_type, '?')})")


def _value(cert: CertificateFacts, selector: int, matching_type: int) -> str:
    if selector == 0:
        return cert.sha512 if matching_type == 2 else cert.sha256
    return cert.spki_sha512 if matching_type == 2 else cert.spki_sha256


def record_matches(rec: TlsaRecord, cert: CertificateFacts) -> bool:
    value = _value(cert, rec.selector, rec.matching_type)
    return bool(value) and value == rec.data.lower()


def presented_chain(p: SmtpProbe) -> tuple[CertificateFacts, ...]:
    """The chain of the endpoint's completed TLS session (the legacy retry's when only it
    completed); () without one."""
    if p.tls is not None and p.tls.completed:
        return p.tls.chain
    if p.legacy is not None and p.legacy.outcome is Attempt.ACCEPTED:
        return p.legacy.chain
    return ()


def _names_match(leaf: CertificateFacts, names: tuple[str, ...]) -> bool:
    return any(hostname_matches(n, leaf) for n in names)


@dataclass(frozen=True)
class EndpointMatch:
    """What DANE concluded at one port-25 endpoint."""

    probe: SmtpProbe
    record: TlsaRecord | None = None   # the record that authenticated the server
    depth: int = -1                    # which certificate it matched (0: the leaf)
    detail: str = ""                   # no match: why

    @property
    def matched(self) -> bool:
        return self.record is not None

    @property
    def subject(self) -> str:
        return subject_endpoint(self.probe.host, self.probe.ip, self.probe.port)


def match_endpoint(records: list[TlsaRecord], probe: SmtpProbe,
                   names: tuple[str, ...]) -> EndpointMatch:
    chain = presented_chain(probe)
    if not chain:
        return EndpointMatch(probe, detail="no TLS session")
    notes: list[str] = []
    for rec in sorted(records, key=lambda r: -r.usage):      # DANE-EE first
        if rec.usage == 3:
            if record_matches(rec, chain[0]):
                return EndpointMatch(probe, rec, 0)
            continue
        for depth in range(1, len(chain)):
            if not record_matches(rec, chain[depth]):
                continue
            if not all(chain[i].signed_by_next for i in range(depth)):
                notes.append(f"{record_text(rec)} matches certificate {depth} of the chain, "
                             "but the certificates below it were not issued by it")
            elif not _names_match(chain[0], names):
                shown = ", ".join(chain[0].dns_names) or chain[0].common_name or "(none)"
                notes.append(f"{record_text(rec)} matches the trust anchor, but the leaf names "
                             f"({shown}) match neither {' nor '.join(names)} (RFC 7672 3.2.2)")
            else:
                return EndpointMatch(probe, rec, depth)
    detail = "; ".join(notes) or "no usable TLSA record matches the presented chain"
    return EndpointMatch(probe, detail=detail)


@dataclass(frozen=True)
class HostDane:
    """dane.tlsa's view of one MX host."""

    host: str
    status: Status
    message: str
    remediation: str | None = None
    endpoints: tuple[EndpointMatch, ...] = ()
    usable: tuple[TlsaRecord, ...] = ()

    @property
    def passed(self) -> bool:
        return self.status is Status.PASS

    def ee_matched(self, probe: SmtpProbe) -> bool:
        return any(e.probe is probe and e.record is not None and e.record.usage == 3
                   for e in self.endpoints)


def suggested_record(name: str, p: SmtpProbe | None) -> str:
    """The DANE-EE record that would authenticate the key the server presents now."""
    chain = presented_chain(p) if p is not None else ()
    if chain and chain[0].spki_sha256:
        return f"{name}. IN TLSA 3 1 1 {chain[0].spki_sha256}"
    return f"{name}. IN TLSA 3 1 1 <SHA-256 of the server key's SubjectPublicKeyInfo>"


def _port25(ev: DomainEvidence, host: str) -> list[SmtpProbe]:
    return [p for p in ev.smtp if p.host == host and p.role == "smtp"]


def judge_host(ev: DomainEvidence, hd: MxHostDnssec) -> HostDane:
    host = hd.host
    if hd.tlsa is None and not hd.validations:       # an IP literal: nothing was asked
        return HostDane(host, Status.SKIPPED, f"no TLSA lookup: {hd.tlsa_skipped or 'not asked'}")
    if hd.tlsa is None:
        state = hd.state
        if state is Security.BOGUS:
            bad = next(v for v in hd.validations if v.state is state)
            return HostDane(host, Status.FAIL, f"the MX host's address records are bogus, so "
                                               f"DANE cannot apply: {bad.detail}",
                            "Fix the DNSSEC chain of the MX host's zone (see dnssec.mx_signed).")
        if state is Security.INDETERMINATE:
            return HostDane(host, Status.ERROR, "could not determine: the MX host's DNSSEC state "
                                                "is indeterminate (see dnssec.mx_signed)")
        return HostDane(host, Status.SKIPPED, f"no TLSA lookup: {hd.tlsa_skipped or 'not asked'}")
    lookup, tv = hd.tlsa, hd.tlsa.validation
    if tv.state is Security.BOGUS:
        return HostDane(host, Status.FAIL, f"the TLSA answer for {lookup.name} is bogus: {tv.detail}",
                        "Fix the DNSSEC signatures of the TLSA RRset (re-sign the zone).")
    if tv.state is Security.INDETERMINATE:
        return HostDane(host, Status.ERROR, f"could not determine the TLSA RRset of "
                                            f"{lookup.name}: {tv.detail}")
    if not lookup.records:
        how = ("securely denied" if tv.secure and hd.state is Security.SECURE
               else "the MX host's zone is not DNSSEC-signed")
        return HostDane(host, Status.INFO, f"no TLSA records at {lookup.name} ({how})")
    if hd.state is not Security.SECURE or not tv.secure:
        what = ("the MX host's address records are" if hd.state is not Security.SECURE
                else "the TLSA RRset is")
        return HostDane(host, Status.WARN,
                        f"{len(lookup.records)} TLSA record(s) at {lookup.name}, but {what} "
                        "not DNSSEC-secure: sending servers ignore them (RFC 7672 2.2)",
                        "Sign the MX host's zone with DNSSEC (with a DS at the parent), or "
                        "remove the TLSA records.")
    usable = [r for r in lookup.records if not unusable(r)]
    probes = _port25(ev, host)
    if not usable:
        why = "; ".join(f"{record_text(r)}: {unusable(r)}" for r in lookup.records[:3])
        return HostDane(host, Status.FAIL, f"no usable TLSA record at {lookup.name}: {why}",
                        "Publish DANE-EE or DANE-TA records: "
                        + suggested_record(lookup.name, probes[0] if probes else None))
    if not probes:
        return HostDane(host, Status.SKIPPED, "port 25 was not probed: no match to check",
                        usable=tuple(usable))
    base = lookup.name.split(".", 2)[-1]
    names = tuple(dict.fromkeys((base, host)))
    endpoints = tuple(match_endpoint(usable, p, names) for p in probes)
    tried = [e for e in endpoints if e.detail != "no TLS session"]
    if not tried:
        held = sorted({p.environment for p in probes if p.environment})
        if held:
            # this host's own network kept port 25 from being tested (env.port25,
            # env.ipv6): not tested, never the domain's fault (CHECKS.md, Scan environment)
            return HostDane(host, Status.SKIPPED,
                            f"not tested: port 25 of {host} could not be probed from this "
                            f"host's network ({', '.join(held)}; see smtp.reachable)",
                            endpoints=endpoints, usable=tuple(usable))
        return HostDane(host, Status.SKIPPED, "no TLS session on port 25 to match (see "
                                              "smtp.reachable and smtp.starttls)",
                        endpoints=endpoints, usable=tuple(usable))
    missed = [e for e in tried if not e.matched]
    if missed:
        where = "; ".join(f"{e.probe.ip}: {e.detail}" for e in missed)
        return HostDane(host, Status.FAIL, f"TLSA at {lookup.name} does not match the server "
                                           f"at {where}",
                        "Publish a TLSA record for the key the server presents (keep the "
                        "current one while rolling over): "
                        + suggested_record(lookup.name, missed[0].probe),
                        endpoints, tuple(usable))
    shown = "; ".join(f"{e.probe.ip}: {record_text(e.record)} matched "
                      f"{'the leaf' if e.depth == 0 else f'certificate {e.depth} (trust anchor)'}"
                      for e in tried)
    untried = [e.probe for e in endpoints if e.detail == "no TLS session"]
    held = sorted({p.environment for p in untried if p.environment})
    tail = (f" ({len(untried)} address(es) had no TLS session"
            f"{': ' + ', '.join(held) if held else ''})" if untried else "")
    return HostDane(host, Status.PASS, f"DANE authenticates {host}: {shown}{tail}",
                    endpoints=endpoints, usable=tuple(usable))


@per_evidence
def dane_hosts(ev: DomainEvidence) -> dict[str, HostDane]:
    """MX host -> its DANE verdict (empty without DNSSEC evidence)."""
    if ev.dnssec is None:
        return {}
    return {hd.host: judge_host(ev, hd) for hd in ev.dnssec.hosts}
