"""dmarc.* checks on hand-made evidence: exact (check, status) per rule of CHECKS.md."""
from __future__ import annotations

import pytest

from scanner.evidence.records import DmarcReportAuth
from tests.checks.records_ev import (D, E, F, NX, P, S, W, dmarc_ev, ev, fail_res, got, messages,
                                     res, statuses)

GOOD = "v=DMARC1; p=reject; rua=mailto:dmarc@example.test"


def run(cid, *records, **kw):
    return statuses(cid, ev(dmarc=dmarc_ev(*records, **kw)))


@pytest.mark.parametrize("records,kw,expected", [
    ((GOOD,), {}, P),
    ((), {}, F),
    (("some other txt",), {}, F),
    ((), {"org_domain": "example.org", "org_records": ["v=DMARC1; p=none"]}, P),
    ((), {"org_domain": "example.org", "org_records": []}, F),
])
def test_dmarc_present(records, kw, expected):
    assert run("dmarc.present", *records, **kw) == [expected]


def test_dmarc_present_says_which_org_domain_supplied_it():
    msg = messages("dmarc.present", ev(dmarc=dmarc_ev(org_domain="example.org",
                                                      org_records=["v=DMARC1; p=none"])))[0]
    assert "organisational domain example.org" in msg


def test_dmarc_dns_errors_are_errors():
    assert statuses("dmarc.present", ev(dmarc=dmarc_ev(lookup=fail_res(f"_dmarc.{D}")))) == [E]
    d = dmarc_ev(org_domain="example.org", org_lookup=fail_res("_dmarc.example.org"))
    assert statuses("dmarc.present", ev(dmarc=d)) == [E]
    assert statuses("dmarc.policy", ev(dmarc=d)) == [E]


@pytest.mark.parametrize("records,expected", [
    ((GOOD,), P), ((GOOD, "v=DMARC1; p=none"), F), ((), S),
])
def test_dmarc_single(records, expected):
    assert run("dmarc.single", *records) == [expected]


@pytest.mark.parametrize("record,expected", [
    (GOOD, P),
    ("v=DMARC1; p=quarantine; sp=reject; adkim=s; aspf=r; pct=50; fo=0:1:d:s; rf=afrf; "
     "ri=86400; rua=mailto:a@example.test!10m, https://r.example.test/x; "
     "ruf=mailto:f@example.test", P),
    ("v=DMARC1; p=reject; np=reject; psd=n; t=y", P),       # DMARCbis tags accepted
    ("v=DMARC1; p=reject; future=whatever", P),             # unknown tags ignored
    ("v=DMARC1; rua=mailto:a@example.test", F),             # missing p
    ("v=DMARC1; p=block", F),
    ("v=DMARC1; p=reject; sp=maybe", F),
    ("v=DMARC1; p=reject; pct=150", F),
    ("v=DMARC1; p=reject; pct=abc", F),
    ("v=DMARC1; p=reject; adkim=x", F),
    ("v=DMARC1; p=reject; fo=2", F),
    ("v=DMARC1; p=reject; rua=dmarc@example.test", F),      # not a URI
    ("v=DMARC1; p=reject; p=none", F),                      # duplicate tag
    ("v=DMARC1; p=reject; =oops", F),
    ("v=dmarc1; p=reject", F),                              # v must be exactly DMARC1
    ("v=DMARC1 p=reject", F),                               # missing separator
    ('v=DMARC1; p=reject; rua=mailto:"><script>@x.test', F),  # hostile payload
    ("v=DMARC1; p=reject; rua==cmd|' /C calc'!A0", F),       # formula payload
])
def test_dmarc_syntax(record, expected):
    assert run("dmarc.syntax", record) == [expected]


@pytest.mark.parametrize("record,kw,expected", [
    ("v=DMARC1; p=reject", {}, P),
    ("v=DMARC1; p=quarantine", {}, P),
    ("v=DMARC1; p=none", {}, W),
    ("v=DMARC1; p=bogus", {}, F),
    # inherited from the organisational domain: sp= governs the (sub)domain
    (None, {"org_domain": "example.org", "org_records": ["v=DMARC1; p=reject; sp=none"]}, W),
    (None, {"org_domain": "example.org", "org_records": ["v=DMARC1; p=none; sp=reject"]}, P),
    (None, {"org_domain": "example.org", "org_records": ["v=DMARC1; p=reject"]}, P),
])
def test_dmarc_policy(record, kw, expected):
    records = (record,) if record else ()
    assert run("dmarc.policy", *records, **kw) == [expected]


@pytest.mark.parametrize("record,expected", [
    ("v=DMARC1; p=reject", P),
    ("v=DMARC1; p=reject; sp=none", W),
    ("v=DMARC1; p=quarantine; sp=none", W),
    ("v=DMARC1; p=none; sp=none", P),
    ("v=DMARC1; p=reject; sp=quarantine", P),
])
def test_dmarc_subdomain_policy(record, expected):
    assert run("dmarc.subdomain_policy", record) == [expected]


@pytest.mark.parametrize("record,expected", [
    ("v=DMARC1; p=reject", P), ("v=DMARC1; p=reject; pct=100", P),
    ("v=DMARC1; p=reject; pct=20", W), ("v=DMARC1; p=reject; pct=0", W),
])
def test_dmarc_pct(record, expected):
    assert run("dmarc.pct", record) == [expected]


@pytest.mark.parametrize("record,expected", [
    (GOOD, P), ("v=DMARC1; p=reject", W), ("v=DMARC1; p=reject; rua=", W),
])
def test_dmarc_rua(record, expected):
    assert run("dmarc.rua", record) == [expected]


def auth(dest, *records, wildcard=None, lookup=None):
    name = f"{D}._report._dmarc.{dest}"
    return DmarcReportAuth(dest, f"mailto:r@{dest}", lookup or res(name, "TXT", *records),
                           wildcard)


def test_dmarc_rua_authorized():
    rec = "v=DMARC1; p=reject; rua=mailto:a@reports.test,mailto:b@wild.test; ruf=mailto:c@none.test"
    d = dmarc_ev(rec, auths=[
        auth("reports.test", "v=DMARC1"),
        auth("wild.test", wildcard=res("*._report._dmarc.wild.test", "TXT", "v=DMARC1")),
        auth("none.test", lookup=res(f"{D}._report._dmarc.none.test", "TXT", outcome=NX),
             wildcard=res("*._report._dmarc.none.test", "TXT", outcome=NX)),
    ])
    assert got("dmarc.rua_authorized", ev(dmarc=d)) == [
        ("none.test", F), ("reports.test", P), ("wild.test", P)]


def test_dmarc_rua_authorized_internal_missing_and_error():
    internal = dmarc_ev("v=DMARC1; p=reject; rua=mailto:a@example.test,mailto:b@sub.example.test")
    assert got("dmarc.rua_authorized", ev(dmarc=internal)) == [(D, P)]
    assert got("dmarc.rua_authorized", ev(dmarc=dmarc_ev("v=DMARC1; p=reject"))) == [(D, S)]
    not_looked = dmarc_ev("v=DMARC1; p=reject; rua=mailto:a@reports.test")
    assert got("dmarc.rua_authorized", ev(dmarc=not_looked)) == [("reports.test", E)]
    failed = dmarc_ev("v=DMARC1; p=reject; rua=mailto:a@reports.test",
                      auths=[auth("reports.test", lookup=fail_res("x._report._dmarc.reports.test"))])
    assert got("dmarc.rua_authorized", ev(dmarc=failed)) == [("reports.test", E)]
