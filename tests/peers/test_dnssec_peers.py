"""mxaudit against a real signer and a real validating resolver (tests/peers/dnssec.py).

The world: the lab DNS server serves a lab root, test. and zones signed by mxaudit's lab
signer, each secure or broken in one way; Knot signs knot.test (NSEC, ECDSA) and
knot3.test (NSEC3 with opt-out, Ed25519) itself, delegated from test. with the DS of its
keys; Unbound validates everything from the lab root's trust anchor.

Differential: for every question, mxaudit's own validation through Unbound (asking with CD
where Unbound refused) reaches the verdict Unbound reaches itself (AD: secure, SERVFAIL
without CD: bogus, neither: insecure). Then a real scan through Unbound: DANE on a Knot
zone, and the findings of the bogus zones.
"""
from __future__ import annotations

import asyncio
import csv

import dns.name
import dns.rdata
import pytest

from scanner.dns.client import DnsClient
from scanner.dns.dnssec.anchors import TrustAnchors, parse_anchors
from scanner.dns.dnssec.validator import Validator
from scanner.lab.ca import tlsa_data
from scanner.lab.dns_server import LabDnsServer
from scanner.lab.signing import SignPlan, ds_record, sign_world
from scanner.lab.smtp_servers import start_smtp_host
from tests.peers import dnssec as peers

pytestmark = [pytest.mark.lab, pytest.mark.dnssec]


def knot_zone(origin: str, mx_ip: str, tlsa: str = "") -> str:
    return f"""$ORIGIN {origin}.
$TTL 300
@ SOA ns.{origin}. hostmaster.{origin}. 1 3600 600 86400 300
@ NS ns.{origin}.
ns A {peers.KNOT_IP}
@ MX 10 mx.{origin}.
mx A {mx_ip}
*.wild MX 10 mx.{origin}.
alias CNAME mx.{origin}.
a.b.c A 192.0.2.9
{f'_25._tcp.mx TLSA {tlsa}' if tlsa else ''}
"""


def lab_zone(origin: str, mx_ip: str) -> str:
    return f"""
@ MX 10 mx.{origin}.
mx A {mx_ip}
*.wild MX 10 mx.{origin}.
alias CNAME mx.{origin}.
a.b.c A 192.0.2.9
"""


LAB = {   # zone -> how it is signed (None: unsigned)
    "sec.test": SignPlan(), "n3.test": SignPlan(denial="nsec3", salt=b"\x1f\x2e", iterations=3),
    "oo.test": SignPlan(denial="nsec3", opt_out=True), "plain.test": None,
    "old.test": SignPlan(expired=True), "mm.test": SignPlan(ds="mismatch"),
    "st.test": SignPlan(strip=(("@", "MX"),)), "ed.test": SignPlan(algorithm=15),
    "rsa.test": SignPlan(algorithm=8, digest=4),
}


@pytest.fixture(scope="module")
def world(lab, tmp_path_factory):
    reason = peers.unavailable_reason()
    if reason is not None:
        if peers.required():
            pytest.fail(f"{reason} (and {peers.REQUIRE_ENV} is set)")
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("dnssec-peers")
    mx_ip = lab.allocate_ip()
    cert = lab.ca.issue(["mx.knot.test"])
    start_smtp_host(lab, mx_ip, "mx.knot.test", cert=cert)
    knot = peers.start_knot(work / "knot", {
        "knot.test": (knot_zone("knot.test", mx_ip, tlsa_data(cert.cert_path)), "nsec"),
        "knot3.test": (knot_zone("knot3.test", mx_ip), "nsec3")})
    server = LabDnsServer("127.0.0.1", 0)
    lab.call(server.start())
    lab.register(server.stop)
    unbound = None
    try:
        server.add_zone(".", "")
        server.add_zone("test", "")
        for origin in LAB:
            server.add_zone(origin, lab_zone(origin, mx_ip))
        server.add_zone("child.oo.test", lab_zone("child.oo.test", mx_ip))
        for origin in knot.zones:      # delegated from test., with the DS of Knot's KSK
            test = server.zones[dns.name.from_text("test.")]
            name = dns.name.from_text(f"{origin}.")
            test.find_rdataset(name, "NS", create=True).add(
                dns.rdata.from_text("IN", "NS", f"ns.{origin}."), 300)
            test.find_rdataset(dns.name.from_text(f"ns.{origin}."), "A", create=True).add(
                dns.rdata.from_text("IN", "A", peers.KNOT_IP), 300)
            ksk = next(k for k in knot.dnskeys(origin) if k.flags & 1)
            test.find_rdataset(name, "DS", create=True).add(
                ds_record(name, ksk), 300)
        plan = {".": SignPlan(), "test": SignPlan()}
        plan.update({z: p for z, p in LAB.items() if p is not None})
        signed = sign_world(server, plan)
        anchor_file = work / "lab-root.ds"
        anchor_file.write_text(signed.anchor)
        # every zone a stub of its own server: the lab's NS names have no addresses on
        # port 53, so Unbound must not chase them
        lab_addr = f"127.0.0.1@{server.port}"
        stubs = {origin.to_text(): lab_addr for origin in server.zones}
        stubs.update({z: knot.addr for z in knot.zones})
        unbound = peers.start_unbound(work / "unbound", signed.anchor, stubs)
        yield {"unbound": unbound, "knot": knot, "anchor": signed.anchor,
               "anchor_file": anchor_file, "mx_ip": mx_ip}
    finally:
        if unbound is not None:
            unbound.stop()
        knot.stop()


QUESTIONS = [
    *[(f"{z}", "MX") for z in (*LAB, "child.oo.test", "knot.test", "knot3.test")],
    *[(f"mx.{z}", "A") for z in ("sec.test", "n3.test", "knot.test", "knot3.test", "plain.test")],
    *[(f"mx.{z}", "AAAA") for z in ("sec.test", "n3.test", "knot.test", "knot3.test")],
    *[(f"nx.{z}", "A") for z in ("sec.test", "n3.test", "oo.test", "knot.test", "knot3.test", "plain.test")],
    *[(f"x.wild.{z}", "MX") for z in ("sec.test", "n3.test", "knot.test", "knot3.test")],
    *[(f"x.wild.{z}", "A") for z in ("sec.test", "n3.test", "knot.test", "knot3.test")],
    *[(f"b.c.{z}", "A") for z in ("sec.test", "n3.test", "knot.test", "knot3.test")],
    *[(f"alias.{z}", "A") for z in ("sec.test", "knot.test", "knot3.test", "old.test")],
    ("_25._tcp.mx.knot.test", "TLSA"), ("_25._tcp.mx.sec.test", "TLSA"),
    ("nothere.test", "MX"), ("test", "SOA"),
]


def test_mxaudit_agrees_with_unbound_on_every_lab_zone(world):
    unbound = world["unbound"]
    expected = {q: unbound.verdict(*q) for q in QUESTIONS}

    async def ours():
        client = DnsClient([(peers.UNBOUND_IP, unbound.port)], timeout=3)
        validator = Validator(client, TrustAnchors(parse_anchors(world["anchor"], "lab")))
        return {q: await validator.validate(*q) for q in QUESTIONS}

    got = asyncio.run(ours())
    mismatched = {q: (str(got[q].state), expected[q], got[q].detail) for q in QUESTIONS
                  if str(got[q].state) != expected[q]}
    assert mismatched == {}
    # what the resolver said is kept as evidence, and it is what Unbound says
    for q in QUESTIONS:
        assert got[q].resolver_rejected is (expected[q] == "bogus"), q
        assert got[q].resolver_ad is (expected[q] == "secure"), q
    # the world covers every verdict, for both signers
    assert {expected[q] for q in QUESTIONS} == {"secure", "insecure", "bogus"}
    assert expected[("knot.test", "MX")] == expected[("knot3.test", "MX")] == "secure"


def test_a_scan_through_unbound(world, run_cli, lab, tmp_path):
    out = tmp_path / "out"
    proc = run_cli(["scan", "-d", "knot.test", "-d", "knot3.test", "-d", "old.test", "-d", "mm.test",
                    "-d", "plain.test", "--nameserver", world["unbound"].nameserver,
                    "--trust-anchor", world["anchor_file"], "--allow-private",
                    "--ca-file", lab.ca.cert_path, "--timeout", "3", "--db", tmp_path / "db.sqlite",
                    "--out", out, *lab.port_args()], timeout=180)
    assert proc.returncode == 0, proc.stderr
    rows = {r["domain"]: r for r in csv.DictReader((out / "domains.csv").open())}
    got = {d: tuple(rows[d][c] for c in ("dnssec.signed", "dnssec.mx_signed", "dane.tlsa", "dane.rollover"))
           for d in rows}
    assert got == {
        "knot.test": ("pass", "pass", "pass", "warn"),     # one 3 1 1 record: no rollover
        "knot3.test": ("pass", "pass", "info", "skipped"),  # signed, no TLSA: securely denied
        # Unbound answers SERVFAIL for the bogus domains' MX: nothing else can be scanned,
        # but mxaudit asks again with CD and says why
        "old.test": ("fail", "error", "error", "error"),
        "mm.test": ("fail", "error", "error", "error"),
        "plain.test": ("warn", "warn", "info", "skipped"),
    }
    findings = list(csv.DictReader((out / "findings.csv").open()))
    cert = [f for f in findings if f["domain"] == "knot.test" and f["check"] == "smtp.cert_trusted"
            and f["subject"].endswith(f":{lab.ports['smtp']}")]
    assert [f["status"] for f in cert] == ["info"]       # DANE authenticates port 25
    (old,) = [f for f in findings if f["domain"] == "old.test" and f["check"] == "dnssec.signed"]
    assert "expired" in old["message"] and "the resolver also rejected it" in old["message"]
