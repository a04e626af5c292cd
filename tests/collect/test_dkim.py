"""collect_dkim asks all its selectors in one DnsClient.query_many batch: the evidence is
what one ``query`` per selector gives, in plan order, each name asked once."""
from __future__ import annotations

import pytest

from scanner.collect.dkim import collect_dkim, plan
from scanner.dns.client import DnsClient
from scanner.evidence import DnsOutcome
from scanner.evidence.records import DkimEvidence, DkimProbe
from tests.collect.records_lab import run

pytestmark = pytest.mark.lab


def test_same_evidence_as_one_query_per_selector(lab, unique_zone):
    z, provider = unique_zone(), unique_zone()
    lab.dns.add_zone(provider, 'key TXT "v=DKIM1; k=rsa; p=SHARED"\n')
    lab.dns.add_zone(z, f"""
mine._domainkey      TXT "v=DKIM1; k=ed25519; p=MINE"
google._domainkey    CNAME key.{provider}.
selector1._domainkey CNAME key.{provider}.
""")
    lab.dns.add_records(f"k1._domainkey.{z}", "TXT", ['"v=DKIM1; p=X"'])
    lab.dns.set_behaviour(f"k1._domainkey.{z}", "servfail")
    selectors = ("Mine", "bad selector", "k1")

    async def both(ctx):
        got = await collect_dkim(ctx, z, selectors)
        probes, rejected = plan(selectors)
        host, port = lab.nameserver.split(":")
        fresh = DnsClient([(host, int(port))], timeout=2)
        want = DkimEvidence(tuple([DkimProbe(sel, source,
                                             await fresh.query(f"{sel}._domainkey.{z}", "TXT"))
                                   for sel, source in probes]), rejected)
        return got, want

    got, want = run(lab, both)
    assert got == want
    by_selector = {p.selector: p.lookup for p in got.probes}
    assert by_selector["mine"].records == ("v=DKIM1; k=ed25519; p=MINE",)
    assert by_selector["google"].records == by_selector["selector1"].records == (
        "v=DKIM1; k=rsa; p=SHARED",)
    assert by_selector["k1"].outcome is DnsOutcome.SERVFAIL
    assert got.rejected == ("bad selector",)
    assert all(lab.dns.query_counts[(f"{p.selector}._domainkey.{z}", "TXT")] == 2
               for p in got.probes)         # once by the batch, once by the reference
