"""The scan pipeline end to end (collect_domain -> evaluate) on real lab zones and an HTTPS
policy host: the exact (check, subject, status) of every SPF/DMARC/DKIM/MTA-STS/TLS-RPT/BIMI/SRV
finding. In-process rather than through the CLI so report-side changes cannot mask it."""
from __future__ import annotations

import asyncio
import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from scanner.collect.context import ScanContext
from scanner.evidence import PortSpec
from scanner.inputs import Target
from scanner.lab.https_server import Route
from scanner.collect.domain import collect_domain
from scanner.registry import evaluate
from tests.collect.records_lab import options, txt_strings

pytestmark = pytest.mark.lab
PATH = "/.well-known/mta-sts.txt"
RECORD_CHECKS = ("mta_sts.", "tls_rpt.", "spf.", "dmarc.", "dkim.", "bimi.", "submission.")


def dkim_key_record(bits=2048, extra="") -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return txt_strings(f"v=DKIM1; k=rsa;{extra} p={base64.b64encode(der).decode()}")


@pytest.fixture(scope="module")
def world(lab):
    from tests.conftest import new_zone_name
    z = {role: new_zone_name("rec") for role in ("good", "weak", "quiet", "reports")}
    good, weak, quiet, reports = z["good"], z["weak"], z["quiet"], z["reports"]
    mx_ip, sts_ip, weak_sts_ip = lab.allocate_ip(), lab.allocate_ip(), lab.allocate_ip()
    lab.dns.add_zone(reports, f'{good}._report._dmarc TXT "v=DMARC1"\n')
    lab.dns.add_zone(good, f"""
@ MX 10 mx1.{good}.
mx1 A {mx_ip}
@ TXT "v=spf1 a:mx1.{good} include:_spf.{good} -all"
_spf TXT "v=spf1 ip4:192.0.2.0/24 ~all"
_dmarc TXT "v=DMARC1; p=reject; rua=mailto:agg@{good},mailto:d@{reports}"
google._domainkey TXT {dkim_key_record()}
custom._domainkey TXT {dkim_key_record(1024, ' t=y; h=sha1;')}
_mta-sts TXT "v=STSv1; id=20240601"
mta-sts A {sts_ip}
_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tls@{good}"
default._bimi TXT "v=BIMI1; l=https://{good}/logo.svg; a="
_submission._tcp SRV 0 1 587 mail.{good}.
""")
    policy = f"version: STSv1\nmode: enforce\nmx: *.{good}\nmax_age: 604800\n".encode()
    lab.https_site(sts_ip).add_site(f"mta-sts.{good}", {PATH: Route(body=policy)})
    lab.dns.add_zone(weak, f"""
@ MX 10 mx1.{weak}.
@ MX 20 mx2.other.test.
mx1 A {mx_ip}
@ TXT "v=spf1 ptr a:v1.{weak} a:v2.{weak} a:v3.{weak} ?all"
_dmarc TXT "v=DMARC1; p=none; sp=none; pct=50; rua=mailto:x@unauthorised.test"
_mta-sts TXT "v=STSv1; id=1"
mta-sts A {weak_sts_ip}
""")
    lab.https_site(weak_sts_ip).add_site(
        f"mta-sts.{weak}", {PATH: Route(status=302, headers=(("Location", "https://x.test/"),))})
    lab.dns.add_zone(quiet, '@ MX 0 .\n@ TXT "v=spf1 -all"\n_dmarc TXT "v=DMARC1; p=reject"\n')
    targets = [Target(good, good, dkim_selectors=("custom",)), Target(weak, weak),
               Target(quiet, quiet)]
    ports = tuple(PortSpec(lab.ports[r], r) for r in ("smtp", "submissions", "submission"))

    async def main():
        ctx = ScanContext.create(options(lab, timeout=1.0, ports=ports, domain_deadline=30))
        return await asyncio.wait_for(asyncio.gather(
            *(collect_domain(ctx, t, i) for i, t in enumerate(targets))), 60)

    rows = [dict(domain=ev.domain, check=f.check, subject=f.subject, status=str(f.status),
                 message=f.message)
            for ev in asyncio.run(main()) for f in evaluate(ev)]
    return z, mx_ip, rows


def findings(rows, domain):
    return [(r["check"], r["subject"], r["status"]) for r in rows
            if r["domain"] == domain and r["check"].startswith(RECORD_CHECKS)]


def test_well_configured_domain(world):
    z, mx_ip, rows = world
    d = z["good"]
    assert findings(rows, d) == [
        ("mta_sts.record", d, "pass"), ("mta_sts.policy", d, "pass"), ("mta_sts.mode", d, "pass"),
        ("mta_sts.mx_coverage", f"mx1.{d}", "pass"),
        ("tls_rpt.record", d, "pass"),
        ("spf.present", d, "pass"), ("spf.single", d, "pass"), ("spf.syntax", d, "pass"),
        ("spf.lookups", d, "pass"), ("spf.void_lookups", d, "pass"), ("spf.all", d, "pass"),
        ("spf.ptr", d, "pass"), ("spf.mx_authorized", f"mx1.{d} [{mx_ip}]", "info"),
        ("dmarc.present", d, "pass"), ("dmarc.single", d, "pass"), ("dmarc.syntax", d, "pass"),
        ("dmarc.policy", d, "pass"), ("dmarc.subdomain_policy", d, "pass"), ("dmarc.pct", d, "pass"),
        ("dmarc.rua", d, "pass"), ("dmarc.rua_authorized", z["reports"], "pass"),
        ("dkim.present", d, "pass"),
        ("dkim.key", f"custom._domainkey.{d}", "warn"), ("dkim.key", f"google._domainkey.{d}", "pass"),
        ("dkim.syntax", f"custom._domainkey.{d}", "pass"),
        ("dkim.syntax", f"google._domainkey.{d}", "pass"),
        ("dkim.testing", f"custom._domainkey.{d}", "warn"),
        ("dkim.testing", f"google._domainkey.{d}", "pass"),
        ("dkim.hash", f"custom._domainkey.{d}", "warn"), ("dkim.hash", f"google._domainkey.{d}", "pass"),
        ("bimi.record", d, "info"),
        ("submission.srv", f"_submission._tcp.{d}", "info"),
        ("submission.srv", f"_submissions._tcp.{d}", "info"),
    ]
    mx_msg = next(r["message"] for r in rows if r["domain"] == d and r["check"] == "spf.mx_authorized")
    assert mx_msg.endswith("pass (sender SPF authorized)") or ": pass" in mx_msg


def test_weak_domain(world):
    z, mx_ip, rows = world
    d = z["weak"]
    assert findings(rows, d) == [
        ("mta_sts.record", d, "pass"), ("mta_sts.policy", d, "fail"),
        ("mta_sts.mode", d, "skipped"), ("mta_sts.mx_coverage", d, "skipped"),
        ("tls_rpt.record", d, "warn"),
        ("spf.present", d, "pass"), ("spf.single", d, "pass"), ("spf.syntax", d, "pass"),
        ("spf.lookups", d, "pass"), ("spf.void_lookups", d, "fail"), ("spf.all", d, "fail"),
        ("spf.ptr", d, "warn"), ("spf.mx_authorized", f"mx1.{d} [{mx_ip}]", "info"),
        ("dmarc.present", d, "pass"), ("dmarc.single", d, "pass"), ("dmarc.syntax", d, "pass"),
        ("dmarc.policy", d, "warn"), ("dmarc.subdomain_policy", d, "pass"), ("dmarc.pct", d, "warn"),
        ("dmarc.rua", d, "pass"), ("dmarc.rua_authorized", "unauthorised.test", "error"),
        ("dkim.present", d, "warn"), ("dkim.key", d, "skipped"), ("dkim.syntax", d, "skipped"),
        ("dkim.testing", d, "skipped"), ("dkim.hash", d, "skipped"),
        ("bimi.record", d, "info"),
        ("submission.srv", f"_submission._tcp.{d}", "info"),
        ("submission.srv", f"_submissions._tcp.{d}", "info"),
    ]
    policy = next(r["message"] for r in rows if r["domain"] == d and r["check"] == "mta_sts.policy")
    assert "redirect" in policy


def test_non_sending_domain_skips_dkim_present(world):
    z, _, rows = world
    d = z["quiet"]
    got = dict(((c, s), st) for c, s, st in findings(rows, d))
    assert got[("dkim.present", d)] == "skipped"
    assert got[("spf.all", d)] == "pass" and got[("dmarc.policy", d)] == "pass"
    assert got[("spf.mx_authorized", d)] == "skipped"
