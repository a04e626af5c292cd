"""Hand-made DNSSEC/DANE evidence for the check tests: a domain with MX hosts whose
validation states, TLSA records and port-25 chains are given directly. Certificates are
real (made here with ``cryptography``) so their digests are the real ones."""
from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import scanner.checks  # noqa: F401  (registers every check)
from scanner.collect.smtp_tls import certificate_facts, dane_facts
from scanner.evidence import DnsOutcome, DnsResult, DomainEvidence, MxEvidence, MxRecord
from scanner.evidence.dnssec import (DnssecEvidence, MxHostDnssec, Security, TlsaLookup,
                                     TlsaRecord, Validation)
from scanner.evidence.smtp import Attempt, HandshakeAttempt, SmtpProbe, TlsFacts

DOMAIN = "example.test"
HOST = "mx1.example.test"
SCANNED = "2026-06-01T12:00:00+00:00"
CHAIN = (". 20326/8", "test. 1234/13", "example.test. 5678/13")


def validation(name: str, rdtype: str, state: Security = Security.SECURE, *,
               outcome: DnsOutcome = DnsOutcome.OK, detail: str = "", **kw) -> Validation:
    chain = CHAIN if state is Security.SECURE else CHAIN[:2]
    return Validation(name, rdtype, state, outcome, chain=chain,
                      detail=detail or f"{rdtype} {name}: {state}", **kw)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


@cache
def chain_ders(leaf_name: str = HOST, *, expired: bool = False) -> tuple[bytes, bytes]:
    """(leaf DER, CA DER): an EC P-256 leaf for ``leaf_name`` issued by a throwaway CA."""
    now = datetime(2026, 5, 1, tzinfo=timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("test CA")).issuer_name(_name("test CA"))
          .public_key(ca_key.public_key()).serial_number(1)
          .not_valid_before(now - timedelta(days=30)).not_valid_after(now + timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    end = now - timedelta(days=1) if expired else now + timedelta(days=90)
    leaf = (x509.CertificateBuilder().subject_name(_name(leaf_name)).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - timedelta(days=60)).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(leaf_name)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return (leaf.public_bytes(serialization.Encoding.DER), ca.public_bytes(serialization.Encoding.DER))


def chain_facts(ders: tuple[bytes, ...]):
    return dane_facts(tuple(certificate_facts(d) for d in ders), ders)


def spki(der: bytes) -> bytes:
    return x509.load_der_x509_certificate(der).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def tlsa(usage: int, selector: int, mtype: int, der: bytes) -> TlsaRecord:
    """The TLSA record for a certificate, computed here independently of the collector."""
    data = der if selector == 0 else spki(der)
    if mtype == 1:
        data = hashlib.sha256(data).digest()
    elif mtype == 2:
        data = hashlib.sha512(data).digest()
    shown = hashlib.sha256(data).hexdigest() if mtype == 0 else data.hex()
    return TlsaRecord(usage, selector, mtype, shown, len(data))


def probe(ip: str = "192.0.2.1", *, ders: tuple[bytes, ...] | None = None, port: int = 25,
          role: str = "smtp", host: str = HOST, tls: bool = True, trusted: bool = False) -> SmtpProbe:
    ders = ders if ders is not None else chain_ders()
    facts = chain_facts(ders) if role == "smtp" else tuple(certificate_facts(d) for d in ders)
    t = TlsFacts(completed=True, version="TLSv1.3", cipher="TLS_AES_128_GCM_SHA256",
                 chain=facts, trusted=trusted, trust_error="" if trusted else "unknown CA")
    base = SmtpProbe(host, ip, port, role, connected=True, greeting_code=220, greeting="ESMTP",
                     ehlo_code=250, extensions=("STARTTLS",), starttls_code=220, tls=t,
                     legacy=HandshakeAttempt(Attempt.REFUSED), weak_cipher=HandshakeAttempt(Attempt.REFUSED))
    if not tls:
        base = replace(base, extensions=(), starttls_code=None, tls=None, legacy=None, weak_cipher=None)
    return base


def host_dnssec(host: str = HOST, state: Security = Security.SECURE, *,
                records: tuple[TlsaRecord, ...] | None = None,
                tlsa_state: Security | None = None, tlsa_outcome: DnsOutcome | None = None,
                tlsa_name: str | None = None) -> MxHostDnssec:
    a = validation(host, "A", state)
    aaaa = validation(host, "AAAA", state, outcome=DnsOutcome.NODATA)
    if state in (Security.BOGUS, Security.INDETERMINATE):
        return MxHostDnssec(host, a, aaaa, tlsa_skipped=f"the host's address records are {state}")
    name = tlsa_name or f"_25._tcp.{host}"
    records = () if records is None else records
    outcome = tlsa_outcome or (DnsOutcome.OK if records else DnsOutcome.NODATA)
    tv = validation(name, "TLSA", tlsa_state or state, outcome=outcome)
    return MxHostDnssec(host, a, aaaa, TlsaLookup(name, tv, records))


def evidence(*hosts: MxHostDnssec, probes: tuple[SmtpProbe, ...] = (),
             domain_state: Security = Security.SECURE, dnssec: bool = True,
             null_mx: bool = False, domain_outcome: DnsOutcome = DnsOutcome.OK) -> DomainEvidence:
    names = [h.host for h in hosts] or [HOST]
    records = (MxRecord(0, ""),) if null_mx else tuple(MxRecord(10, n) for n in names)
    lookup = DnsResult(DOMAIN, "MX", domain_outcome,
                       tuple(f"{r.preference} {r.exchange}" for r in records)
                       if domain_outcome is DnsOutcome.OK else ())
    d = DnssecEvidence(validation(DOMAIN, "MX", domain_state), tuple(hosts),
                       (". DS 20326/8 (built-in)",), SCANNED) if dnssec else None
    return DomainEvidence(0, DOMAIN, DOMAIN, scanned_at=SCANNED,
                          mx=MxEvidence(lookup, records), smtp=probes, dnssec=d)
