"""DNSSEC and DANE end to end in the lab: signed zones served by the lab DNS server, real SMTP
servers, the whole scan pipeline (scanner.api.scan). CNAME'd MX hosts and RFC 7672 2.2.2's
TLSA base domain, DANE-TA, a TLSA record for another key, and a bogus host."""
from __future__ import annotations

import pytest

from scanner.api import scan
from scanner.evidence.smtp import PortSpec
from scanner.lab.ca import tlsa_data
from scanner.lab.dns_server import LabDnsServer
from scanner.lab.signing import SignPlan, sign_world
from scanner.lab.smtp_servers import start_smtp_host

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def world(lab, tmp_path_factory):
    ca = lab.ca
    ips = {name: lab.allocate_ip() for name in ("prov", "own", "ta", "bad")}
    prov_cert = ca.issue(["mx.prov.test"])
    own_cert = ca.issue(["mx.own.test"])
    ta_cert = ca.issue(["mx.ta.test"])
    bad_cert = ca.issue(["mx.bad.test"])
    other = ca.issue(["mx.prov.test"])                 # a key nobody presents
    for name, cert in (("prov", prov_cert), ("own", own_cert), ("ta", ta_cert), ("bad", bad_cert)):
        start_smtp_host(lab, ips[name], f"mx.{name}.test", cert=cert)
    server = LabDnsServer("127.0.0.1", 0)
    lab.call(server.start())
    lab.register(server.stop)
    server.add_zone(".", "")
    server.add_zone("test", "")
    # a hosted MX: customers point a CNAME at the provider; TLSA at the provider's name
    server.add_zone("prov.test", f"""
mx A {ips['prov']}
_25._tcp.mx TLSA {tlsa_data(prov_cert.cert_path)}
""")
    server.add_zone("alias.test", """
@ MX 10 mail.alias.test.
mail CNAME mx.prov.test.
""")
    # TLSA only at the alias name (the target has none): RFC 7672 2.2.2's fallback
    server.add_zone("own.test", f"""
@ MX 10 mail.own.test.
mail CNAME mx.own.test.
mx A {ips['own']}
_25._tcp.mail TLSA {tlsa_data(own_cert.cert_path)}
""")
    # DANE-TA: the lab CA (certificate 1 of the presented chain)
    server.add_zone("ta.test", f"""
@ MX 10 mx.ta.test.
mx A {ips['ta']}
_25._tcp.mx TLSA {tlsa_data(ta_cert.cert_path, usage=2, selector=1, depth=1)}
""")
    # a TLSA record for another key; and an unsigned zone whose CNAME'd host is insecure
    server.add_zone("bad.test", f"""
@ MX 10 mx.bad.test.
mx A {ips['bad']}
_25._tcp.mx TLSA {tlsa_data(other.cert_path)}
""")
    server.add_zone("plain.test", """
@ MX 10 mail.plain.test.
mail CNAME mx.prov.test.
_25._tcp.mail TLSA 3 1 1 0000000000000000000000000000000000000000000000000000000000000000
""")
    signed = sign_world(server, {z: SignPlan() for z in (".", "test", "prov.test", "alias.test",
                                                         "own.test", "ta.test", "bad.test")})
    anchor = tmp_path_factory.mktemp("dnssec-lab") / "lab-root.ds"
    anchor.write_text(signed.anchor)
    ports = [PortSpec(lab.ports["smtp"], "smtp"), PortSpec(lab.ports["submission"], "submission")]
    results = scan(["alias.test", "own.test", "ta.test", "bad.test", "plain.test"],
                   nameservers=[("127.0.0.1", server.port)], trust_anchors=[anchor],
                   allow_private=True, ca_file=ca.cert_path, ports=ports, timeout=3)
    return {r.evidence.domain: r for r in results}


def statuses(result, check):
    return [(f.subject, f.status.value) for f in result.findings if f.check == check]


def test_cname_mx_host_uses_the_target_as_tlsa_base_domain(world):
    r = world["alias.test"]
    (host,) = r.evidence.dnssec.hosts
    assert host.tlsa.name == "_25._tcp.mx.prov.test"
    assert statuses(r, "dane.tlsa") == [("mail.alias.test", "pass")]
    assert statuses(r, "dnssec.mx_signed") == [("mail.alias.test", "pass")]


def test_tlsa_at_the_alias_when_the_target_has_none(world):
    r = world["own.test"]
    (host,) = r.evidence.dnssec.hosts
    assert host.tlsa.name == "_25._tcp.mail.own.test"
    assert statuses(r, "dane.tlsa") == [("mail.own.test", "pass")]


def test_dane_ta_with_the_lab_ca(world):
    r = world["ta.test"]
    assert statuses(r, "dane.tlsa") == [("mx.ta.test", "pass")]
    assert statuses(r, "dane.rollover") == [("mx.ta.test", "warn")]
    # DANE-TA: trust is info on port 25, names and dates keep their web-PKI verdicts
    trusted = dict(statuses(r, "smtp.cert_trusted"))
    assert sorted(trusted.values()) == ["info", "pass"]


def test_a_record_for_another_key_fails_with_the_record_to_publish(world):
    r = world["bad.test"]
    (f,) = [f for f in r.findings if f.check == "dane.tlsa"]
    assert f.status.value == "fail" and "does not match the server" in f.message
    assert "_25._tcp.mx.bad.test. IN TLSA 3 1 1 " in f.remediation


def test_an_insecure_alias_ignores_its_tlsa(world):
    r = world["plain.test"]
    assert statuses(r, "dnssec.signed") == [("plain.test", "warn")]
    assert statuses(r, "dnssec.mx_signed") == [("mail.plain.test", "warn")]
    (host,) = r.evidence.dnssec.hosts
    assert host.tlsa.name == "_25._tcp.mail.plain.test"     # insecure CNAME: no target base
    assert statuses(r, "dane.tlsa") == [("mail.plain.test", "warn")]
