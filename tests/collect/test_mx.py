"""The MX collector against the lab DNS: records, hosts, addresses, PTR/FCrDNS, caps, sharing."""
from __future__ import annotations

import asyncio

import pytest

from scanner.collect.mx import collect_mx
from scanner.collect.context import ScanContext
from scanner.evidence import AddressEvidence, DnsOutcome, MxRecord
from scanner.options import ScanOptions

pytestmark = pytest.mark.lab


def options(lab, **kw) -> ScanOptions:
    host, port = lab.nameserver.split(":")
    kw.setdefault("allow_private", True)
    return ScanOptions(nameservers=((host, int(port)),), timeout=2.0, **kw)


def collect(lab, *domains, **kw):
    async def main():
        ctx = ScanContext.create(options(lab, **kw))
        return await asyncio.wait_for(asyncio.gather(*(collect_mx(ctx, d) for d in domains)), 20)
    out = asyncio.run(main())
    return out if len(out) > 1 else out[0]


@pytest.fixture
def ptr_zone(lab):
    """The reverse zone of 127.0.1.x (created by the first add_records, never replaced)."""
    return "1.0.127.in-addr.arpa"


def test_ordinary_mx(lab, unique_zone, ptr_zone):
    z = unique_zone()
    ip1, ip2 = lab.allocate_ip(), lab.allocate_ip()
    lab.dns.add_zone(z, f"""
@ MX 20 mx2.{z}.
@ MX 10 MX1.{z}.
@ MX 30 mx1.{z}.
mx1 A {ip1}
mx1 AAAA ::1
mx2 A {ip2}
""")
    lab.dns.add_records(f"{ip1.split('.')[-1]}.{ptr_zone}", "PTR", [f"mx1.{z}."])
    lab.dns.add_records(f"{ip2.split('.')[-1]}.{ptr_zone}", "PTR", [f"elsewhere.{z}."])
    mx = collect(lab, z)
    assert mx.lookup.outcome is DnsOutcome.OK
    assert mx.records == (MxRecord(10, f"mx1.{z}"), MxRecord(20, f"mx2.{z}"), MxRecord(30, f"mx1.{z}"))
    assert [(h.name, h.preference, h.implicit, h.ip_literal) for h in mx.hosts] == [
        (f"mx1.{z}", 10, False, False), (f"mx2.{z}", 20, False, False)]
    mx1, mx2 = mx.hosts
    assert [(a.ip, a.family, a.public, a.probed) for a in mx1.addresses] == [
        (ip1, 4, False, True), ("::1", 6, False, True)]
    assert mx1.addresses[0].ptr.confirmed_name == f"mx1.{z}"
    assert mx2.addresses[0].ptr.lookup.records == (f"elsewhere.{z}",)
    assert mx2.addresses[0].ptr.confirmed_name == ""
    assert (mx.null_mx, mx.hosts_capped) == (False, 0)


def test_private_addresses_not_probed_without_allow_private(lab, unique_zone):
    z = unique_zone()
    lab.dns.add_zone(z, f"@ MX 10 mx.{z}.\nmx A 10.9.8.7\n")
    mx = collect(lab, z, allow_private=False)
    assert mx.hosts[0].addresses[0] == AddressEvidence("10.9.8.7", 4, False, False,
                                                       mx.hosts[0].addresses[0].ptr)


def test_null_mx(lab, unique_zone):
    z = unique_zone()
    lab.dns.add_zone(z, "@ MX 0 .\n")
    mx = collect(lab, z)
    assert (mx.records, mx.hosts, mx.null_mx) == ((MxRecord(0, ""),), (), True)


def test_implicit_mx(lab, unique_zone):
    z = unique_zone()
    lab.dns.add_zone(z, "@ A 127.0.1.77\n")
    mx = collect(lab, z)
    assert mx.lookup.outcome is DnsOutcome.NODATA
    assert [(h.name, h.implicit, [a.ip for a in h.addresses]) for h in mx.hosts] == [
        (z, True, ["127.0.1.77"])]
    assert (mx.domain_a.outcome, mx.domain_aaaa.outcome) == (DnsOutcome.OK, DnsOutcome.NODATA)


def test_no_mx_no_address(lab, unique_zone):
    z = unique_zone()
    lab.dns.add_zone(z, '@ TXT "hello"\n')
    mx = collect(lab, z)
    assert (mx.lookup.outcome, mx.hosts, mx.domain_a.outcome) == (DnsOutcome.NODATA, (), DnsOutcome.NODATA)


@pytest.mark.parametrize("behaviour, outcome", [("servfail", DnsOutcome.SERVFAIL),
                                                ("refused", DnsOutcome.REFUSED)])
def test_mx_lookup_failure_stops_the_stage(lab, unique_zone, behaviour, outcome):
    z = unique_zone()
    lab.dns.add_zone(z, "@ MX 10 mx.example.test.\n")
    lab.dns.set_behaviour(z, behaviour)
    mx = collect(lab, z)
    assert (mx.lookup.outcome, mx.records, mx.hosts) == (outcome, (), ())


def test_nxdomain(lab, unique_zone):
    z = unique_zone()
    lab.dns.add_zone(z, "")
    mx = collect(lab, f"nope.{z}")
    assert (mx.lookup.outcome, mx.records, mx.hosts) == (DnsOutcome.NXDOMAIN, (), ())


def test_ip_literal_exchange_is_not_resolved(lab, unique_zone):
    z = unique_zone()
    lab.dns.add_zone(z, "@ MX 10 192.0.2.1.\n")
    mx = collect(lab, z)
    assert [(h.name, h.ip_literal, h.a) for h in mx.hosts] == [("192.0.2.1", True, None)]
    assert lab.dns.query_counts[("192.0.2.1", "A")] == 0


def test_cname_exchange(lab, unique_zone):
    z = unique_zone()
    lab.dns.add_zone(z, f"@ MX 10 alias.{z}.\nalias CNAME real.{z}.\nreal A 127.0.1.78\n")
    (host,) = collect(lab, z).hosts
    assert (host.cname_target, [a.ip for a in host.addresses]) == (f"real.{z}", ["127.0.1.78"])


def test_caps_on_hosts_and_addresses(lab, unique_zone):
    z = unique_zone()
    lab.dns.add_zone(z, "".join(f"@ MX {i} mx{i}.{z}.\nmx{i} A 127.0.1.{100 + i}\n" for i in range(5))
                     + "mx0 A 127.0.1.200\nmx0 A 127.0.1.201\n")
    mx = collect(lab, z, max_mx_hosts=2, max_addresses=1)
    assert [h.name for h in mx.hosts] == [f"mx0.{z}", f"mx1.{z}"]
    assert (mx.hosts_capped, len(mx.records)) == (3, 5)
    assert (len(mx.hosts[0].addresses), mx.hosts[0].addresses_capped) == (1, 2)


def test_shared_mx_host_is_resolved_once_per_scan(lab, unique_zone):
    shared = unique_zone()
    lab.dns.add_zone(shared, "mx A 127.0.1.90\n")
    domains = [unique_zone() for _ in range(4)]
    for d in domains:
        lab.dns.add_zone(d, f"@ MX 10 mx.{shared}.\n")
    results = collect(lab, *domains)
    assert all([a.ip for a in r.hosts[0].addresses] == ["127.0.1.90"] for r in results)
    assert lab.dns.query_counts[(f"mx.{shared}", "A")] == 1
    assert lab.dns.query_counts[(f"mx.{shared}", "AAAA")] == 1
    assert lab.dns.query_counts[("90.1.0.127.in-addr.arpa", "PTR")] == 1
