"""Synthetic scan results for report tests and bench/report_size.py: hand-made evidence of a
realistic shape (MX hosts with PTR, three SMTP endpoints per address with TLS facts, a
certificate and a transcript, SPF/DMARC/DKIM/MTA-STS/TLS-RPT records), judged by the real
checks under a real profile. Deterministic for a given seed; no network.

``hostile`` puts markup and script into every text that comes from DNS or a server.
"""
from __future__ import annotations

import random
from collections.abc import Iterator

from scanner.evidence import (AddressEvidence, DnsOutcome, DnsResult, DomainEvidence, MxEvidence,
                              MxHostEvidence, MxRecord, PortSpec, PtrEvidence, SmtpProbe)
from scanner.evidence.records import (DkimEvidence, DkimProbe, DmarcEvidence, HttpFetch,
                                      MtaStsEvidence, RecordsEvidence, SpfEvidence, SpfNode)
from scanner.evidence.smtp import Attempt, CertificateFacts, Failure, HandshakeAttempt, TlsFacts
from scanner.result import DomainResult, judge
from scanner.profiles import Profile

PORTS = (PortSpec(25, "smtp"), PortSpec(465, "submissions"), PortSpec(587, "submission"))
HOSTILE = "<script>alert('pwn')</script><img src=x onerror=alert(1)>\"'&"
SCANNED_AT = "2026-01-15T12:00:00+00:00"


def ok(name: str, rdtype: str, *records: str) -> DnsResult:
    return DnsResult(name, rdtype, DnsOutcome.OK if records else DnsOutcome.NODATA, records, name)


def _cert(host: str, rng: random.Random, extra: str) -> CertificateFacts:
    bits = rng.choice((2048, 2048, 4096, 1024))
    expired = rng.random() < 0.05
    return CertificateFacts(
        subject=f"CN={host}{extra}", issuer="CN=Synthetic CA,O=mxaudit bench", dns_names=(host,),
        common_name=host, not_before="2025-06-01T00:00:00+00:00",
        not_after="2025-12-01T00:00:00+00:00" if expired else "2026-09-01T00:00:00+00:00",
        key_type="RSA", key_bits=bits, signature_algorithm="sha256WithRSAEncryption",
        sha256=f"{rng.getrandbits(256):064x}")


def _probe(host: str, ip: str, spec: PortSpec, rng: random.Random, extra: str) -> SmtpProbe:
    if spec.port != 25 and rng.random() < 0.5:
        return SmtpProbe(host, ip, spec.port, spec.role, failure=Failure.REFUSED,
                         error="connection refused", connections=1)
    if rng.random() < 0.03:
        return SmtpProbe(host, ip, spec.port, spec.role, connected=True, failure=Failure.TIMEOUT,
                         error="no greeting within 10s", connections=1)
    trusted = rng.random() > 0.1
    tls = TlsFacts(True, rng.choice(("TLSv1.3", "TLSv1.2")), "TLS_AES_256_GCM_SHA384",
                   (_cert(host, rng, extra),), trusted, "" if trusted else "self-signed certificate")
    starttls = spec.role != "submissions" and rng.random() > 0.08
    auth_clear = ("PLAIN", "LOGIN") if spec.role == "submission" and rng.random() < 0.2 else ()
    greeting = f"220 {host} ESMTP ready{extra}"
    transcript = (f"S: {greeting}", "C: EHLO scanner.mxaudit.test", f"S: 250-{host}",
                  "S: 250-PIPELINING", "S: 250-SIZE 52428800",
                  *(("S: 250-STARTTLS",) if starttls else ()), "S: 250 8BITMIME",
                  *(("C: STARTTLS", "S: 220 2.0.0 Ready to start TLS") if starttls else ()),
                  "C: QUIT", "S: 221 2.0.0 Bye")
    exts = ("PIPELINING", "SIZE 52428800", *(("STARTTLS",) if starttls else ()),
            *((f"AUTH {' '.join(auth_clear)}",) if auth_clear else ()), "8BITMIME")
    main_tls = tls if (starttls or spec.role == "submissions") else None
    legacy = HandshakeAttempt(Attempt.ACCEPTED if rng.random() < 0.15 else Attempt.REFUSED,
                              version="TLSv1", cipher="ECDHE-RSA-AES128-SHA", offered="TLS 1.0-1.1")
    weak = HandshakeAttempt(Attempt.ACCEPTED if rng.random() < 0.04 else Attempt.REFUSED,
                            version="TLSv1.2", cipher="DES-CBC3-SHA", offered="RC4, 3DES, NULL, EXPORT")
    return SmtpProbe(
        host, ip, spec.port, spec.role, connected=True, greeting_code=220, greeting=greeting,
        ehlo_code=250, extensions=exts, starttls_code=220 if starttls else None, tls=main_tls,
        extensions_tls=("PIPELINING", "AUTH PLAIN LOGIN") if main_tls else (),
        auth_before_tls=auth_clear, auth_after_tls=("PLAIN", "LOGIN") if main_tls else (),
        mail_from_code=530 if spec.role == "submission" else None,
        legacy=legacy if main_tls else None, weak_cipher=weak if main_tls else None,
        tls_sessions=3, connections=3, transcript=transcript)


def _records(domain: str, rng: random.Random, extra: str) -> RecordsEvidence:
    spf_text = rng.choice((f"v=spf1 mx include:_spf.provider.test -all",
                           "v=spf1 mx ~all", "v=spf1 +all", None))
    spf_rec = (spf_text + extra,) if spf_text else ()
    spf = SpfEvidence((SpfNode(domain, txt=ok(domain, "TXT", *spf_rec), records=spf_rec,
                               lookups=2),), lookups=2)
    policy = rng.choice(("reject", "reject", "quarantine", "none", None))
    rua = rng.choice(("mailto:reports@dmarc.cyber.dhs.gov", f"mailto:dmarc@{domain}"))
    dmarc_rec = (f"v=DMARC1; p={policy}; rua={rua}{extra}",) if policy else ()
    dmarc = DmarcEvidence(ok(f"_dmarc.{domain}", "TXT", *dmarc_rec), org_domain=domain,
                          org_lookup=None)
    key = "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + "A" * 300
    dkim = DkimEvidence(tuple(
        DkimProbe(sel, "builtin", ok(f"{sel}._domainkey.{domain}", "TXT",
                                     *((key,) if sel == "selector1" and rng.random() < 0.7 else ())))
        for sel in ("default", "selector1", "google")))
    sts_txt = ok(f"_mta-sts.{domain}", "TXT", *(("v=STSv1; id=20260101",) if rng.random() < 0.4 else ()))
    fetch = None
    if sts_txt.records:
        body = f"version: STSv1\nmode: {rng.choice(('enforce', 'testing'))}\nmx: mx1.{domain}\nmax_age: 86400\n{extra}"
        fetch = HttpFetch(f"https://mta-sts.{domain}/.well-known/mta-sts.txt", f"mta-sts.{domain}",
                          "192.0.2.80", 443, 200, "text/plain", body, len(body))
    tls_rpt = ok(f"_smtp._tls.{domain}", "TXT",
                 *((f"v=TLSRPTv1; rua=mailto:tlsrpt@{domain}",) if rng.random() < 0.5 else ()))
    return RecordsEvidence(spf=spf, dmarc=dmarc, dkim=dkim,
                           mta_sts=MtaStsEvidence(sts_txt, fetch=fetch), tls_rpt=tls_rpt,
                           bimi=ok(f"default._bimi.{domain}", "TXT"),
                           submission_srv=(ok(f"_submission._tcp.{domain}", "SRV"),
                                           ok(f"_submissions._tcp.{domain}", "SRV")))


def evidence(i: int, rng: random.Random, hostile: bool = False) -> DomainEvidence:
    extra = HOSTILE if hostile else ""
    domain = f"d{i:05d}.example"
    if i % 97 == 13:
        return DomainEvidence(i, f"not a domain {i}{extra}", "", "not a valid domain name")
    if i % 89 == 7:
        return DomainEvidence(i, domain, domain, mx=MxEvidence(
            DnsResult(domain, "MX", DnsOutcome.SERVFAIL, detail="SERVFAIL from 192.0.2.53")),
            scanned_at=SCANNED_AT, ports=PORTS)
    hosts, probes = [], []
    for h in range(1 + (i % 3 == 0)):
        host = f"mx{h + 1}.{domain}"
        ip = f"198.51.{(i >> 8) % 256}.{(i + h) % 256}"
        confirmed = host if rng.random() > 0.2 else ""
        ptr = PtrEvidence(ok(ip, "PTR", f"{host}{extra}" if not confirmed else host),
                          (ok(host, "A", ip),), confirmed)
        hosts.append(MxHostEvidence(host, 10 * (h + 1), a=ok(host, "A", ip), aaaa=ok(host, "AAAA"),
                                    addresses=(AddressEvidence(ip, 4, True, True, ptr),)))
        probes.extend(_probe(host, ip, spec, rng, extra) for spec in PORTS)
    mx = MxEvidence(ok(domain, "MX", *(f"{x.preference} {x.name}." for x in hosts)),
                    tuple(MxRecord(x.preference, x.name) for x in hosts), tuple(hosts))
    return DomainEvidence(i, domain.upper() if i % 50 == 0 else domain, domain,
                          scanned_at=SCANNED_AT, ports=PORTS, mx=mx, smtp=tuple(probes),
                          records=_records(domain, rng, extra))


def results(n: int, profile: Profile, *, seed: int = 5, hostile: bool = False) -> Iterator[DomainResult]:
    rng = random.Random(seed)
    for i in range(n):
        yield judge(evidence(i, rng, hostile), profile)
