"""collect_records and the DMARC/DKIM collectors against the lab DNS: fan-out, evidence
round trip, organisational-domain fallback, report authorisation, selector planning."""
from __future__ import annotations

import asyncio

import pytest

from scanner.collect.dkim import builtin_selectors, collect_dkim, plan
from scanner.collect.dmarc import collect_dmarc
from scanner.collect.records import _guarded, collect_records
from scanner.evidence import DnsOutcome, RecordsEvidence
from scanner.serde import from_jsonable, to_jsonable
from tests.collect.records_lab import run

pytestmark = pytest.mark.lab


def test_dmarc_falls_back_to_the_organisational_domain(lab, unique_zone):
    org = unique_zone()                     # "zN.test": .test is not in the PSL, so zN.test is
    lab.dns.add_zone(org, '_dmarc TXT "v=DMARC1; p=reject; rua=mailto:d@reports.' + org + '"\n')
    d = run(lab, lambda ctx: collect_dmarc(ctx, f"mail.{org}"))
    assert d.org_domain == org and d.lookup.outcome is DnsOutcome.NXDOMAIN
    assert d.org_lookup.records == (f"v=DMARC1; p=reject; rua=mailto:d@reports.{org}",)
    assert d.authorisations == ()           # same organisational domain: nothing to authorise


def test_external_report_destinations_and_wildcard(lab, unique_zone):
    z, rep, wild, none = unique_zone(), unique_zone(), unique_zone(), unique_zone()
    lab.dns.add_zone(z, f'_dmarc TXT "v=DMARC1; p=none; rua=mailto:a@{rep},mailto:b@{wild}; '
                        f'ruf=mailto:c@{none}"\n')
    lab.dns.add_zone(rep, f'{z}._report._dmarc TXT "v=DMARC1"\n')
    lab.dns.add_zone(wild, '*._report._dmarc TXT "v=DMARC1"\n')
    lab.dns.add_zone(none, "")
    d = run(lab, lambda ctx: collect_dmarc(ctx, z))
    got = {a.destination: (a.lookup.outcome, a.wildcard.outcome if a.wildcard else None)
           for a in d.authorisations}
    assert got == {rep: (DnsOutcome.OK, None),
                   wild: (DnsOutcome.OK, None),     # DNS wildcard synthesis answers directly
                   none: (DnsOutcome.NXDOMAIN, DnsOutcome.NXDOMAIN)}


def test_selector_plan_order_dedupe_and_rejects():
    probes, rejected = plan(("Custom", "google", "bad selector", "a..b", "custom.", ""))
    assert probes[:2] == [("custom", "operator"), ("google", "operator")]
    assert [s for s, src in probes if src == "builtin"] == [s for s in builtin_selectors()
                                                            if s not in ("custom", "google")]
    assert rejected == ("bad selector", "a..b")


def test_dkim_probes_every_selector_once(lab, unique_zone):
    z = unique_zone()
    lab.dns.add_zone(z, 'mine._domainkey TXT "v=DKIM1; p="\n')

    async def twice(ctx):
        return await asyncio.gather(collect_dkim(ctx, z, ("mine",)), collect_dkim(ctx, z, ("mine",)))

    first, second = run(lab, twice)
    assert first == second
    assert first.probes[0].selector == "mine" and first.probes[0].lookup.records == ("v=DKIM1; p=",)
    assert len(first.probes) == 1 + len(builtin_selectors())
    assert lab.dns.query_counts[(f"mine._domainkey.{z}", "TXT")] == 1
    assert lab.dns.query_counts[(f"google._domainkey.{z}", "TXT")] == 1


def test_collect_records_fans_out_and_round_trips(lab, unique_zone):
    z = unique_zone()
    lab.dns.add_zone(z, f"""
@ MX 10 mx.{z}.
mx A 192.0.2.25
@ TXT "v=spf1 mx -all"
_dmarc TXT "v=DMARC1; p=reject"
_smtp._tls TXT "v=TLSRPTv1; rua=mailto:t@{z}"
default._bimi TXT "v=BIMI1; l=https://{z}/l.svg"
_submissions._tcp SRV 0 1 465 mail.{z}.
""")
    from scanner.collect.mx import collect_mx

    async def make(ctx):
        return await collect_records(ctx, z, await collect_mx(ctx, z), ())

    rec = run(lab, make)
    assert rec.errors == {}
    assert rec.spf.root.records == ("v=spf1 mx -all",)
    assert rec.tls_rpt.records == (f"v=TLSRPTv1; rua=mailto:t@{z}",)
    assert [r.outcome for r in rec.submission_srv] == [DnsOutcome.NXDOMAIN, DnsOutcome.OK]
    assert rec.mta_sts.fetch is None
    assert from_jsonable(RecordsEvidence, to_jsonable(rec)) == rec


def test_a_family_over_budget_becomes_an_error_entry():
    async def slow():
        await asyncio.sleep(5)

    async def boom():
        raise ValueError("bug")

    async def main():
        return await _guarded(slow(), 0.05), await _guarded(boom(), 1)

    (v1, e1), (v2, e2) = asyncio.run(main())
    assert v1 is None and e1.startswith("timed out")
    assert v2 is None and e2 == "internal error: ValueError: bug"
