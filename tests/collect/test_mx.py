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


def _one_by_one(lab, domains, budgets):
    """Each domain collected after the previous one, in its own view of one scan context."""
    async def main():
        ctx = ScanContext.create(options(lab))
        out = []
        for d, b in zip(domains, budgets):
            out.append(await asyncio.wait_for(collect_mx(ctx.for_domain(b), d), 20))
        return ctx, out
    return asyncio.run(main())


def _shared_world(lab, unique_zone, n):
    shared = unique_zone()
    lab.dns.add_zone(shared, "mx A 127.0.1.91\n")
    lab.dns.add_records("91.1.0.127.in-addr.arpa", "PTR", [f"mx.{shared}."])
    domains = [unique_zone() for _ in range(n)]
    for d in domains:
        lab.dns.add_zone(d, f"@ MX 10 mx.{shared}.\n")
    return shared, domains


def test_a_finished_mx_host_is_taken_whole_by_the_next_domain(lab, unique_zone):
    """The second domain gets the very object the first built (collect/reuse.py), and pays
    its evidence budget exactly what asking each answer would have cost it."""
    from scanner.collect.budget import DomainBudget

    _, domains = _shared_world(lab, unique_zone, 2)
    budgets = [DomainBudget(), DomainBudget()]
    ctx, (first, second) = _one_by_one(lab, domains, budgets)
    assert second.hosts[0] is first.hosts[0]
    assert first.hosts[0].addresses[0].ptr.confirmed_name.startswith("mx.")
    assert ctx.reused.hits == 1
    # the MX answers differ by domain name length only; the host's answers cost the same
    host_cost = [b.evidence_bytes - b.bytes_left - sum(map(len, m.lookup.records))
                 for b, m in zip(budgets, (first, second))]
    assert host_cost[0] == host_cost[1] > 0


def test_a_host_whose_answers_failed_is_collected_again(lab, unique_zone):
    """A SERVFAIL (or a timeout, or a refusal of the domain's budget) is no fact about the
    host: the next domain asks for itself."""
    shared, domains = _shared_world(lab, unique_zone, 2)
    lab.dns.set_behaviour(f"mx.{shared}", "servfail")
    ctx, (first, second) = _one_by_one(lab, domains, [None, None])
    assert first.hosts[0].a.outcome is DnsOutcome.SERVFAIL
    assert second.hosts[0] is not first.hosts[0] and second.hosts[0] == first.hosts[0]
    assert ctx.reused.hits == 0


def test_a_domain_that_cannot_pay_for_a_finished_host_collects_it_itself(lab, unique_zone):
    """Too little evidence budget left for the host's answers: the domain gets the refusals
    it always got, not the other domain's answers."""
    from scanner.collect.budget import DomainBudget

    _, domains = _shared_world(lab, unique_zone, 2)
    tight = DomainBudget(evidence_bytes=len(f"10 mx.{domains[0]}.") + 12)
    ctx, (first, second) = _one_by_one(lab, domains, [DomainBudget(), tight])
    assert ctx.reused.hits == 0
    host = second.hosts[0]
    assert host is not first.hosts[0]
    answers = [host.a, host.aaaa] + [a.ptr.lookup for a in host.addresses]
    assert any(r.outcome is DnsOutcome.ERROR and "evidence budget" in r.detail for r in answers)
