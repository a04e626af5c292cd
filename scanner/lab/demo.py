"""The demo world: a handful of good and bad mail domains on loopback, for `mxaudit demo`
and for end-to-end tests. Everything is real: zones served by the lab DNS server, SMTP
servers with certificates from the lab CA, an MTA-STS policy over HTTPS, a DKIM key.

Each domain shows something a security team meets in practice; DEMO_DOMAINS documents it.
The lab's root and test. zones are DNSSEC-signed with keys made at start, and the scan trusts
the lab root's DS (``--trust-anchor``): the older demo domains are unsigned delegations
(insecure), dane.test is signed with DANE, bogus.test is signed with expired signatures.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from scanner.lab.ca import tlsa_data
from scanner.lab.https_server import Route
from scanner.lab.signing import SignPlan, sign_world
from scanner.lab.world import LabWorld

DEMO_DOMAINS: dict[str, str] = {
    "good.test": "well run: STARTTLS with a trusted certificate, SPF -all, DMARC reject, "
                 "DKIM, MTA-STS enforce, TLS-RPT",
    "partner.test": "shares good.test's MX host (probed once for both)",
    "legacy.test": "no STARTTLS, SPF +all, DMARC p=none, no DKIM",
    "authleak.test": "AUTH PLAIN/LOGIN offered before STARTTLS; TLS 1.0 accepted on another MX",
    "expired.test": "MX certificate expired; SPF ~all; no DMARC",
    "selfsigned.test": "MX certificate self-signed; MX host is a CNAME",
    "nullmx.test": "null MX, SPF -all, DMARC reject: a domain that sends and receives no mail",
    "ghost.test": "does not exist (NXDOMAIN)",
    "dane.test": "DNSSEC-signed; its MX host's self-signed certificate is authenticated by "
                 "DANE-EE TLSA records (the current key and the next one)",
    "bogus.test": "DNSSEC-signed, but its signatures expired: validating resolvers refuse it",
}
JUNK_INPUT = "not a domain!"


@dataclass(frozen=True)
class DemoWorld:
    domains: list[str]          # the input list, junk line included
    scan_args: list[str]        # the scan options that point the scanner at this world


def dkim_txt() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"


def _txt(value: str) -> str:
    """Zone-file TXT rdata: split into 255-byte character-strings."""
    return " ".join(f'"{value[i:i + 255]}"' for i in range(0, len(value), 255))


def build_demo(world: LabWorld) -> DemoWorld:
    from scanner.lab.smtp_servers import start_smtp_host

    ca = world.ca
    now = datetime.now(timezone.utc)
    good_ip, legacy_ip, expired_ip, self_ip, sts_ip, auth_ip, old_ip, dane_ip, bogus_ip = (
        world.allocate_ip() for _ in range(9))
    start_smtp_host(world, good_ip, "mx.good.test", behaviour="good",
                    cert=ca.issue(["mx.good.test"], key="rsa2048"))
    start_smtp_host(world, legacy_ip, "mx.legacy.test", behaviour="no_starttls")
    start_smtp_host(world, auth_ip, "mx1.authleak.test", behaviour="auth_before_tls")
    start_smtp_host(world, old_ip, "mx2.authleak.test", behaviour="tls10_only",
                    cert=ca.issue(["mx2.authleak.test"], key="rsa2048"))
    start_smtp_host(world, expired_ip, "mx.expired.test", behaviour="good",
                    cert=ca.issue(["mx.expired.test"], not_before=now - timedelta(days=400),
                                  not_after=now - timedelta(days=2)))
    start_smtp_host(world, self_ip, "mx.selfsigned.test", behaviour="good",
                    cert=ca.issue(["mx.selfsigned.test"], self_signed=True))
    dane_cert = ca.issue(["mx.dane.test"], self_signed=True)
    start_smtp_host(world, dane_ip, "mx.dane.test", behaviour="good", cert=dane_cert)
    start_smtp_host(world, bogus_ip, "mx.bogus.test", behaviour="good",
                    cert=ca.issue(["mx.bogus.test"]))
    next_key = ca.issue(["mx.dane.test"], self_signed=True)     # the key of the next rollover

    dns = world.dns
    dns.add_zone("test", "")   # so ghost.test is a real NXDOMAIN, not a refused query
    dns.add_zone("good.test", f"""
@ MX 10 mx.good.test.
@ TXT "v=spf1 mx -all"
_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@good.test"
mail._domainkey TXT {_txt(dkim_txt())}
_mta-sts TXT "v=STSv1; id=20261128"
_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tlsrpt@good.test"
mx A {good_ip}
mta-sts A {sts_ip}
""")
    dns.add_zone("partner.test", """
@ MX 10 mx.good.test.
@ TXT "v=spf1 include:good.test -all"
_dmarc TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@partner.test"
""")
    dns.add_zone("legacy.test", f"""
@ MX 10 mx.legacy.test.
@ TXT "v=spf1 +all"
_dmarc TXT "v=DMARC1; p=none"
mx A {legacy_ip}
""")
    dns.add_zone("authleak.test", f"""
@ MX 10 mx1.authleak.test.
@ MX 20 mx2.authleak.test.
@ TXT "v=spf1 mx include:good.test ~all"
_dmarc TXT "v=DMARC1; p=quarantine; pct=50; rua=mailto:dmarc@reports.good.test"
mx1 A {auth_ip}
mx2 A {old_ip}
""")
    dns.add_zone("expired.test", f"""
@ MX 10 mx.expired.test.
@ TXT "v=spf1 a mx ~all"
mx A {expired_ip}
""")
    dns.add_zone("selfsigned.test", f"""
@ MX 10 mail.selfsigned.test.
@ TXT "v=spf1 mx -all"
_dmarc TXT "v=DMARC1; p=reject; rua=mailto:d@selfsigned.test"
mail CNAME mx.selfsigned.test.
mx A {self_ip}
""")
    dns.add_zone("nullmx.test", """
@ MX 0 .
@ TXT "v=spf1 -all"
_dmarc TXT "v=DMARC1; p=reject"
""")
    dns.add_zone("dane.test", f"""
@ MX 10 mx.dane.test.
@ TXT "v=spf1 mx -all"
_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@dane.test"
_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tlsrpt@dane.test"
mx A {dane_ip}
_25._tcp.mx TLSA {tlsa_data(dane_cert.cert_path)}
_25._tcp.mx TLSA {tlsa_data(next_key.cert_path)}
""")
    dns.add_zone("bogus.test", f"""
@ MX 10 mx.bogus.test.
@ TXT "v=spf1 mx -all"
_dmarc TXT "v=DMARC1; p=reject"
mx A {bogus_ip}
""")
    ptrs = "\n".join(f"{ip.split('.')[-1]}.{ip.split('.')[2]} PTR {name}."
                     for ip, name in ((good_ip, "mx.good.test"), (legacy_ip, "mx.legacy.test"),
                                      (expired_ip, "mx.expired.test")))
    dns.add_zone("0.127.in-addr.arpa", ptrs)
    world.https_site(sts_ip).add_site("mta-sts.good.test", {
        "/.well-known/mta-sts.txt": Route(body=b"version: STSv1\nmode: enforce\n"
                                               b"mx: mx.good.test\nmax_age: 86400\n")})
    dns.add_zone(".", "")      # a lab root with its own key: the scan's trust anchor
    signed = sign_world(dns, {".": SignPlan(), "test": SignPlan(), "dane.test": SignPlan(),
                              "bogus.test": SignPlan(expired=True)})
    anchor = world.directory / "lab-root.ds"
    anchor.write_text(signed.anchor, encoding="utf-8")
    args = ["--nameserver", world.nameserver, "--ca-file", str(ca.cert_path), "--allow-private",
            "--trust-anchor", str(anchor),
            "--mta-sts-port", str(world.ports["https"]), "--ehlo-name", "scanner.demo.test",
            "--timeout", "3", *world.port_args()]
    return DemoWorld([*DEMO_DOMAINS, JUNK_INPUT], args)
