"""Hostile domains cost themselves, never the innocent domains scanned beside them
(issue 14, items 2 and 3), against real servers in the lab.

Each test scans a few innocent domains alone, then the same domains with hostile ones in
front of them, and asserts the innocent domains' findings are identical. Before issue 14:
a domain whose ten MX hosts lead to sixty tarpit endpoints held every global connection
slot until the innocent domains' deadlines passed; SPF records whose evaluation needs many
lookups against a silent nameserver held every thread of the pool pyspf ran in, so every
innocent domain's SPF evaluation timed out with them."""
from __future__ import annotations

import threading

import pytest

import scanner
from scanner.evidence import PortSpec
from scanner.lab.smtp_servers import start_smtp_host

pytestmark = [pytest.mark.lab, pytest.mark.slow]

ROLES = ("smtp", "submissions", "submission")


@pytest.fixture(scope="module")
def good_host(lab):
    ip = lab.allocate_ip()
    start_smtp_host(lab, ip, "mx.good.test", behaviour="good")
    return ip


def innocent(lab, zone: str, good_ip: str) -> str:
    lab.dns.add_zone(zone, f"""
@ MX 10 mx.{zone}.
mx A {good_ip}
@ TXT "v=spf1 exists:%{{i}}._spf.{zone} -all"
*._spf A 127.0.0.2
_dmarc TXT "v=DMARC1; p=reject; rua=mailto:d@{zone}"
""")
    return zone


def scan(lab, domains: list[str], **kw) -> dict[str, list[tuple]]:
    """domain -> its findings as (check, subject, status, message), and ``errors``: domain
    -> why its scan did not complete."""
    host, port = lab.nameserver.split(":")
    kw.setdefault("ports", [PortSpec(lab.ports[r], r) for r in ROLES])
    results = scanner.scan(
        domains, nameservers=[(host, int(port))], allow_private=True, ca_file=lab.ca.cert_path,
        mta_sts_port=lab.ports["https"], dkim_selectors=["sel"], timeout=2.0, dns_retries=1,
        **kw)
    scan.errors = {r.evidence.domain: r.evidence.error for r in results}
    return {r.evidence.domain: [(f.check, f.subject, f.status.value, f.message)
                                for f in r.findings] for r in results}


@pytest.mark.parametrize("workers", [1, 2])   # 2: probes asked of the collector owning the IP
def test_fan_out_to_tarpits_does_not_starve_innocent_domains(lab, unique_zone, good_host,
                                                             workers):
    tarpits = [lab.allocate_ip() for _ in range(20)]
    for ip in tarpits:
        start_smtp_host(lab, ip, "tarpit.test", behaviour="tarpit")
    hostile = []
    for _ in range(2):
        z = unique_zone()
        rows = [f"@ MX {i} mx{i}.{z}." for i in range(10)]
        rows += [f"mx{i} A {tarpits[2 * i]}\nmx{i} A {tarpits[2 * i + 1]}" for i in range(10)]
        lab.dns.add_zone(z, "\n".join(rows) + "\n")
        hostile.append(z)
    good = [innocent(lab, unique_zone(), good_host) for _ in range(4)]
    opts = dict(concurrency=6, domain_deadline=8.0, workers=workers)
    clean = scan(lab, good, **opts)
    mixed = scan(lab, hostile + good, **opts)
    assert {d: mixed[d] for d in good} == clean
    # the lab serves no PTR and no root zone for the IANA trust anchors (DNSSEC and DANE are
    # indeterminate there, the same alone and beside the hostile domains, asserted above)
    errors = [(c, s, m) for d in good for (c, _, s, m) in clean[d] if s == "error"
              and c != "mx.ptr" and not c.startswith(("dnssec.", "dane."))]
    assert errors == [], errors
    for z in hostile:                     # the hostile domains paid: their own deadline
        assert scan.errors[z] == "domain deadline of 8s exceeded"
    assert not any(scan.errors[d] for d in good)


def test_spf_evaluation_of_hostile_domains_does_not_starve_innocent_ones(lab, unique_zone,
                                                                         good_host):
    silent = unique_zone()
    lab.dns.add_zone(silent, "")
    hostile = []
    for _ in range(8):
        z = unique_zone()
        wide = "\n".join(f"wide MX {i} x{i}.{silent}." for i in range(10))
        mx = "\n".join(f"@ MX {i} m{i}.{z}.\nm{i} A 127.0.9.{i + 1}" for i in range(5))
        lab.dns.add_zone(z, f"""{mx}
{wide}
@ TXT "v=spf1 a:%{{i}}.{silent} mx:wide.{z} exists:%{{i}}.e.{silent} -all"
""")
        hostile.append(z)
    # every name the hostile records lead to is unanswered (the lab drops them)
    for i in range(10):
        lab.dns.set_behaviour(f"x{i}.{silent}", "drop")
    for i in range(1, 6):
        for prefix in ("", "e."):
            lab.dns.set_behaviour(f"127.0.9.{i}.{prefix}{silent}", "drop")
    good = [innocent(lab, unique_zone(), good_host) for _ in range(4)]
    threads = threading.active_count()
    opts = dict(concurrency=12, domain_deadline=8.0, ports=[])
    clean = scan(lab, good, **opts)
    mixed = scan(lab, hostile + good, **opts)
    assert {d: mixed[d] for d in good} == clean
    spf = {d: [s for c, _, s, _ in clean[d] if c == "spf.mx_authorized"] for d in good}
    assert spf == {d: ["info"] for d in good}
    for z in hostile:                     # what the hostile ones got is theirs alone
        assert all(s == "error" or "temperror" in m
                   for c, _, s, m in mixed[z] if c == "spf.mx_authorized"), mixed[z]
    assert threading.active_count() == threads          # no evaluation thread left behind
