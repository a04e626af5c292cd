"""The SPF collector against the lab DNS: tree walk, counts, loops, limits, hostile records,
pyspf evaluation of the MX addresses, and that every query goes through the scan's DNS."""
from __future__ import annotations

import asyncio

import pytest

from scanner.collect.mx import collect_mx
from scanner.collect.spf import MAX_RECORDS, collect_spf, walk_spf
from scanner.evidence import DnsOutcome
from scanner.evidence.records import SpfEvidence
from scanner.serde import from_jsonable, to_jsonable
from tests.collect.records_lab import run, txt_strings

pytestmark = pytest.mark.lab


def walk(lab, domain):
    return run(lab, lambda ctx: walk_spf(ctx, domain))


def collect(lab, domain, with_mx=True):
    async def make(ctx):
        mx = await collect_mx(ctx, domain) if with_mx else None
        return await collect_spf(ctx, domain, mx)
    return run(lab, make)


def test_tree_counts_and_voids(lab, unique_zone):
    z, p = unique_zone(), unique_zone()
    lab.dns.add_zone(p, f"""
_spf TXT "v=spf1 ip4:198.51.100.0/24 include:_more.{p} -all"
_more TXT "v=spf1 ip6:2001:db8::/32 ~all"
""")
    lab.dns.add_zone(z, f"""
@ TXT "v=spf1 a mx include:_spf.{p} a:nothing.{z} exists:gone.{z} ptr -all"
@ TXT "google-site-verification=abc"
@ A 192.0.2.1
@ MX 10 mx.{z}.
""")
    nodes, truncated = walk(lab, z)
    assert not truncated
    assert [(n.domain, n.via, n.parent, n.lookups) for n in nodes] == [
        (z, "", -1, 6), (f"_spf.{p}", "include", 0, 1), (f"_more.{p}", "include", 1, 0)]
    assert nodes[0].void_lookups == 2          # a:nothing (NXDOMAIN), exists:gone (NXDOMAIN)
    assert {t.term: t.void for t in nodes[0].terms} == {
        "a": False, "mx": False, f"a:nothing.{z}": True, f"exists:gone.{z}": True, "ptr": False}


def test_include_and_redirect_loops_are_recorded_not_followed(lab, unique_zone):
    z = unique_zone()
    lab.dns.add_zone(z, f"""
@ TXT "v=spf1 include:a.{z} redirect=r.{z}"
a TXT "v=spf1 include:b.{z} -all"
b TXT "v=spf1 include:a.{z} -all"
r TXT "v=spf1 redirect={z}"
""")
    nodes, _ = walk(lab, z)
    notes = {(n.domain, n.via): n.note for n in nodes}
    assert notes[(f"a.{z}", "include")] == "include loop"
    assert notes[(z, "redirect")] == "redirect loop"


def test_thousand_includes_are_bounded_and_counted(lab, unique_zone):
    z = unique_zone()
    includes = " ".join(f"include:i{i}.{z}" for i in range(1000))
    lab.dns.add_zone(z, f"@ TXT {txt_strings('v=spf1 ' + includes + ' -all')}\n"
                        + "".join(f'i{i} TXT "v=spf1 ip4:192.0.2.{i % 250} -all"\n'
                                  for i in range(0, 1000, 7)))
    spf = collect(lab, z, with_mx=False)
    assert spf.truncated and spf.lookups >= 1000
    assert len(spf.nodes) <= MAX_RECORDS
    assert sum(1 for t in spf.root.terms if t.note.startswith("not followed")) >= 1000 - MAX_RECORDS


def test_deep_include_chain_stops_at_the_walk_limit(lab, unique_zone):
    z = unique_zone()
    lab.dns.add_zone(z, "".join(f'c{i} TXT "v=spf1 include:c{i + 1}.{z} -all"\n' for i in range(200))
                     + f'@ TXT "v=spf1 include:c0.{z} -all"\n')
    nodes, truncated = walk(lab, z)
    assert truncated and len(nodes) == MAX_RECORDS


def test_hostile_records_become_evidence(lab, unique_zone):
    z = unique_zone()
    big = "v=spf1 " + "ip4:192.0.2.1 " * 4200 + "-all"        # ~59 KB TXT answer (TCP)
    lab.dns.add_zone(z, f"""
@ TXT {txt_strings(big)}
bin TXT "v=spf1 ip4:192.0.2.1 \\255\\254 -all"
html TXT "v=spf1 include:<script>alert(1)</script> =HYPERLINK(\\"x\\") -all"
loop1 CNAME loop2
loop2 CNAME loop1
cn TXT "v=spf1 include:loop1.{z} -all"
""")
    nodes, _ = walk(lab, z)
    assert len(nodes[0].records[0]) == len(big)
    binary = walk(lab, f"bin.{z}")[0][0]
    assert "\\xff\\xfe" in binary.records[0]
    html = walk(lab, f"html.{z}")[0][0]
    assert "<script>" in html.records[0] and html.lookups == 1
    cname = walk(lab, f"cn.{z}")[0]
    assert cname[1].domain == f"loop1.{z}" and not cname[1].txt.outcome.answered


def test_dns_errors_in_the_tree_are_kept(lab, unique_zone):
    z = unique_zone()
    lab.dns.add_zone(z, f'@ TXT "v=spf1 include:bad.{z} -all"\nbad TXT "v=spf1 -all"\n')
    lab.dns.set_behaviour(f"bad.{z}", "servfail")
    nodes, _ = walk(lab, z)
    assert nodes[1].txt.outcome is DnsOutcome.SERVFAIL


def test_pyspf_evaluates_mx_addresses_through_the_scan_dns(lab, unique_zone):
    """pyspf's lookups reach the lab server (names that exist nowhere else) and share the
    walk's cache: each name is asked once per scan, whoever asks."""
    z = unique_zone()
    ip_ok, ip_other = lab.allocate_ip(), lab.allocate_ip()
    lab.dns.add_zone(z, f"""
@ MX 10 mx1.{z}.
@ MX 20 mx2.{z}.
mx1 A {ip_ok}
mx2 A {ip_other}
@ TXT "v=spf1 a:senders.{z} include:_spf.{z} -all"
senders A {ip_ok}
_spf TXT "v=spf1 ip4:192.0.2.0/24 -all"
""")
    before = dict(lab.dns.query_counts)
    spf = collect(lab, z)
    assert [(r.host, r.result) for r in spf.mx_results] == [(f"mx1.{z}", "pass"),
                                                            (f"mx2.{z}", "fail")]
    asked = {k: v - before.get(k, 0) for k, v in lab.dns.query_counts.items()
             if v != before.get(k, 0)}
    assert asked[(f"senders.{z}", "A")] == 1       # walk + pyspf (2 MX addresses): one query
    assert asked[(f"_spf.{z}", "TXT")] == 1
    assert asked[(z, "TXT")] == 1


def test_shared_include_is_asked_once_per_scan(lab, unique_zone):
    provider, d1, d2 = unique_zone(), unique_zone(), unique_zone()
    lab.dns.add_zone(provider, '_spf TXT "v=spf1 ip4:203.0.113.0/24 -all"\n')
    for d in (d1, d2):
        lab.dns.add_zone(d, f'@ TXT "v=spf1 include:_spf.{provider} -all"\n')

    async def both(ctx):
        return await asyncio.gather(walk_spf(ctx, d1), walk_spf(ctx, d2))

    run(lab, both)
    assert lab.dns.query_counts[(f"_spf.{provider}", "TXT")] == 1


def test_evidence_round_trips_through_serde(lab, unique_zone):
    z = unique_zone()
    lab.dns.add_zone(z, f'@ TXT "v=spf1 include:x.{z} a -all"\nx TXT "v=spf1 -all"\n@ A 192.0.2.1\n')
    spf = collect(lab, z, with_mx=False)
    assert from_jsonable(SpfEvidence, to_jsonable(spf)) == spf
