"""Hand-made evidence for the policy-record checks (spf, dmarc, dkim, mta_sts, tls_rpt, info)."""
from __future__ import annotations

from dataclasses import replace

from scanner.evidence import (AddressEvidence, DnsOutcome, DnsResult, DomainEvidence, MxEvidence,
                              MxHostEvidence, MxRecord)
from scanner.evidence.records import (DkimEvidence, DkimProbe, DmarcEvidence, HttpFetch,
                                      MtaStsEvidence, RecordsEvidence, SpfEvidence, SpfNode)
from scanner.findings import Status
from scanner.registry import run_check
from scanner.checks import all_checks
from scanner.parsers.tagvalue import locate

P, W, F, I, E, S = (Status.PASS, Status.WARN, Status.FAIL, Status.INFO, Status.ERROR,
                    Status.SKIPPED)
OK, NODATA, NX, SERVFAIL, TIMEOUT = (DnsOutcome.OK, DnsOutcome.NODATA, DnsOutcome.NXDOMAIN,
                                     DnsOutcome.SERVFAIL, DnsOutcome.TIMEOUT)
D = "example.test"
MX1 = "mx1.example.test"


def res(name, rdtype="TXT", *records, outcome=None):
    if outcome is None:
        outcome = OK if records else NODATA
    return DnsResult(name, rdtype, outcome, tuple(records), name)


def fail_res(name, rdtype="TXT", outcome=SERVFAIL):
    return DnsResult(name, rdtype, outcome, (), "", "server failure")


def mx(*hosts, null=False):
    if null:
        return MxEvidence(res(D, "MX", "0 ."), (MxRecord(0, ""),))
    recs = tuple(MxRecord(10, h) for h in hosts)
    hs = tuple(MxHostEvidence(h, 10, a=res(h, "A", "192.0.2.1"),
                              addresses=(AddressEvidence("192.0.2.1", 4, True, True),))
               for h in hosts)
    return MxEvidence(res(D, "MX", *(f"10 {h}" for h in hosts)), recs, hs)


def ev(records: RecordsEvidence | None = None, *, mx_ev=None, **families):
    if records is None:
        records = RecordsEvidence(**families)
    return DomainEvidence(0, D, D, mx=mx_ev if mx_ev is not None else mx(MX1), records=records)


def got(check_id, evidence):
    return [(f.subject, f.status) for f in run_check(all_checks()[check_id], evidence)]


def statuses(check_id, evidence):
    return [f.status for f in run_check(all_checks()[check_id], evidence)]


def messages(check_id, evidence):
    return [f.message for f in run_check(all_checks()[check_id], evidence)]


# ----------------------------------------------------------------------------- SPF
def spf_node(domain=D, *records, via="", parent=-1, txt=None, lookups=0, voids=0, terms=(),
             note=""):
    if txt is None and note != "not fetched":
        txt = res(domain, "TXT", *records)
    return SpfNode(domain, via, parent, txt, locate(records, "spf1", spf=True),
                   lookups, voids, tuple(terms), note)


def spf_ev(*nodes, lookups=None, voids=None, truncated=False, mx_results=(), mx_error=""):
    lookups = sum(n.lookups for n in nodes) if lookups is None else lookups
    voids = sum(n.void_lookups for n in nodes) if voids is None else voids
    return SpfEvidence(tuple(nodes), lookups, voids, truncated, tuple(mx_results), mx_error)


def spf_simple(record, **kw):
    return spf_ev(spf_node(D, record), **kw)


# ---------------------------------------------------------------------------- DMARC
def dmarc_ev(*records, org_domain=D, org_records=None, lookup=None, org_lookup=None, auths=()):
    lookup = lookup or res(f"_dmarc.{D}", "TXT", *records)
    if org_records is not None and org_lookup is None:
        org_lookup = res(f"_dmarc.{org_domain}", "TXT", *org_records)
    return DmarcEvidence(lookup, org_domain, org_lookup, tuple(auths))


# ----------------------------------------------------------------------------- DKIM
def dkim_ev(**selectors):
    """selector=record text (or a DnsResult)."""
    probes = []
    for sel, rec in selectors.items():
        name = f"{sel}._domainkey.{D}"
        lookup = rec if isinstance(rec, DnsResult) else res(name, "TXT", *([rec] if rec else []))
        probes.append(DkimProbe(sel, "operator", lookup))
    return DkimEvidence(tuple(probes))


# -------------------------------------------------------------------------- MTA-STS
POLICY = "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\nmax_age: 604800\r\n"


def fetch(body=POLICY, **kw):
    base = dict(url=f"https://mta-sts.{D}/.well-known/mta-sts.txt", host=f"mta-sts.{D}",
                ip="192.0.2.80", status=200, content_type="text/plain", body=body,
                size=len(body.encode()))
    base.update(kw)
    return HttpFetch(**base)


def sts_ev(record="v=STSv1; id=20240101", fetched=None, txt=None):
    txt = txt or res(f"_mta-sts.{D}", "TXT", *([record] if record else []))
    return MtaStsEvidence(txt, res(f"mta-sts.{D}", "A", "192.0.2.80"), None, fetched)


__all__ = [name for name in dir() if not name.startswith("_")] + ["replace"]
