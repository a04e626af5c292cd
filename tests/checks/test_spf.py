"""spf.* checks on hand-made evidence: exact (check, status) per rule of CHECKS.md."""
from __future__ import annotations

import pytest

from scanner.evidence.records import RecordsEvidence, SpfMxResult, SpfTermLookup
from tests.checks.records_ev import (D, E, F, I, NX, P, S, SERVFAIL, W, ev, fail_res, messages,
                                     res, spf_ev, spf_node, spf_simple, statuses)

GOOD = "v=spf1 ip4:192.0.2.0/24 include:_spf.provider.test -all"


def good_tree(**kw):
    return spf_ev(spf_node(D, GOOD, lookups=1),
                  spf_node("_spf.provider.test", "v=spf1 ip4:198.51.100.0/24 -all",
                           via="include", parent=0), **kw)


@pytest.mark.parametrize("txt,expected", [
    (res(D, "TXT", GOOD), [P]),
    (res(D, "TXT", "google-site-verification=x"), [F]),
    (res(D, "TXT"), [F]),                                   # NODATA
    (fail_res(D), [E]),                                     # SERVFAIL: could not determine
    (res(D, "TXT", "v=spf10 -all"), [F]),                   # not exactly v=spf1
])
def test_spf_present(txt, expected):
    node = spf_node(D, *txt.records, txt=txt)
    assert statuses("spf.present", ev(spf=spf_ev(node))) == expected


def test_spf_missing_family_is_error():
    assert statuses("spf.present", ev(RecordsEvidence(errors={"spf": "timed out"}))) == [E]
    assert "timed out" in messages("spf.present", ev(RecordsEvidence(errors={"spf": "timed out"})))[0]


@pytest.mark.parametrize("records,expected", [
    ((GOOD,), [P]),
    ((GOOD, "v=spf1 -all"), [F]),
    ((), [S]),
])
def test_spf_single(records, expected):
    assert statuses("spf.single", ev(spf=spf_ev(spf_node(D, *records)))) == expected


@pytest.mark.parametrize("record,expected", [
    (GOOD, P),
    ("v=spf1 -all", P),
    ("v=spf1 a mx/24 a:mail.example.test/24//64 ptr exists:%{i}.rbl.example.test ~all", P),
    ("v=spf1 ip4:192.0.2.300 -all", F),
    ("v=spf1 ip4:192.0.2.0/33 -all", F),
    ("v=spf1 ip6:2001:db8::/129 -all", F),
    ("v=spf1 include -all", F),
    ("v=spf1 foo:bar -all", F),
    ("v=spf1 include:single-label -all", F),
    ("v=spf1 redirect=a.example.test redirect=b.example.test", F),
    ("v=spf1 exists:%{z}.example.test -all", F),            # invalid macro letter
    ("v=spf1 -all extra=%{", F),                            # broken macro in a modifier
    ("v=spf1 ip4:192.0.2.1 =bad -all", F),
    ("v=spf1 -all:foo", F),
    ("v=spf1 -all unknown=ok", P),                        # unknown modifiers are legal
    ("v=spf1 <script>alert(1)</script> -all", F),             # hostile payload: a finding
])
def test_spf_syntax_root(record, expected):
    assert statuses("spf.syntax", ev(spf=spf_simple(record))) == [expected]


def test_spf_syntax_in_include_tree():
    tree = spf_ev(spf_node(D, GOOD, lookups=1),
                  spf_node("_spf.provider.test", "v=spf1 ip4:bogus -all", via="include", parent=0))
    assert statuses("spf.syntax", ev(spf=tree)) == [F]
    assert "_spf.provider.test" in messages("spf.syntax", ev(spf=tree))[0]


def test_spf_syntax_include_without_record_loop_and_dns_error():
    missing = spf_ev(spf_node(D, GOOD, lookups=1),
                     spf_node("_spf.provider.test", via="include", parent=0))
    assert statuses("spf.syntax", ev(spf=missing)) == [F]
    loop = spf_ev(spf_node(D, "v=spf1 include:example.test -all", lookups=1),
                  spf_node(D, via="include", parent=0, note="include loop", txt=res(D, "TXT", GOOD)))
    assert statuses("spf.syntax", ev(spf=loop)) == [F]
    broken = spf_ev(spf_node(D, GOOD, lookups=1),
                    spf_node("_spf.provider.test", via="include", parent=0,
                             txt=fail_res("_spf.provider.test")))
    assert statuses("spf.syntax", ev(spf=broken)) == [E]
    assert statuses("spf.syntax", ev(spf=good_tree())) == [P]
    several = spf_ev(spf_node(D, GOOD, lookups=1),
                     spf_node("_spf.provider.test", "v=spf1 -all", "v=spf1 +all", via="include",
                              parent=0))
    assert statuses("spf.syntax", ev(spf=several)) == [F]


@pytest.mark.parametrize("lookups,truncated,expected", [
    (0, False, P), (10, False, P), (11, False, F), (1000, False, F), (64, True, F),
])
def test_spf_lookups(lookups, truncated, expected):
    spf = spf_ev(spf_node(D, GOOD, lookups=lookups), truncated=truncated)
    assert statuses("spf.lookups", ev(spf=spf)) == [expected]
    assert str(lookups) in messages("spf.lookups", ev(spf=spf))[0]


def test_spf_lookups_incomplete_tree_is_error_unless_already_over():
    broken = spf_node("_spf.provider.test", via="include", parent=0,
                      txt=fail_res("_spf.provider.test"))
    assert statuses("spf.lookups", ev(spf=spf_ev(spf_node(D, GOOD, lookups=3), broken))) == [E]
    assert statuses("spf.lookups", ev(spf=spf_ev(spf_node(D, GOOD, lookups=12), broken))) == [F]


@pytest.mark.parametrize("voids,expected", [(0, P), (2, P), (3, F)])
def test_spf_void_lookups(voids, expected):
    terms = tuple(SpfTermLookup(f"a:void{i}.example.test", f"void{i}.example.test",
                                (res(f"void{i}.example.test", "A", outcome=NX),), True)
                  for i in range(voids))
    spf = spf_ev(spf_node(D, GOOD, lookups=voids, voids=voids, terms=terms))
    assert statuses("spf.void_lookups", ev(spf=spf)) == [expected]


@pytest.mark.parametrize("record,expected", [
    ("v=spf1 mx -all", P),
    ("v=spf1 mx ~all", W),
    ("v=spf1 mx ?all", F),
    ("v=spf1 mx +all", F),
    ("v=spf1 mx all", F),
    ("v=spf1 mx", F),                            # no all, no redirect: neutral
])
def test_spf_all(record, expected):
    assert statuses("spf.all", ev(spf=spf_simple(record))) == [expected]


@pytest.mark.parametrize("target_record,expected", [
    ("v=spf1 ip4:192.0.2.1 -all", P),
    ("v=spf1 ip4:192.0.2.1 ~all", W),
    ("v=spf1 ip4:192.0.2.1", F),
    (None, F),                                   # redirect to a name without SPF: permerror
])
def test_spf_all_follows_redirect(target_record, expected):
    records = (target_record,) if target_record else ()
    tree = spf_ev(spf_node(D, "v=spf1 redirect=_spf.example.test", lookups=1),
                  spf_node("_spf.example.test", *records, via="redirect", parent=0))
    assert statuses("spf.all", ev(spf=tree)) == [expected]


def test_spf_all_redirect_unanswered_is_error():
    tree = spf_ev(spf_node(D, "v=spf1 redirect=_spf.example.test", lookups=1),
                  spf_node("_spf.example.test", via="redirect", parent=0,
                           txt=fail_res("_spf.example.test")))
    assert statuses("spf.all", ev(spf=tree)) == [E]


def test_spf_ptr_anywhere_in_tree():
    assert statuses("spf.ptr", ev(spf=spf_simple("v=spf1 ptr -all"))) == [W]
    assert statuses("spf.ptr", ev(spf=good_tree())) == [P]
    tree = spf_ev(spf_node(D, GOOD, lookups=1),
                  spf_node("_spf.provider.test", "v=spf1 ptr:example.test -all", via="include",
                           parent=0, lookups=1))
    assert statuses("spf.ptr", ev(spf=tree)) == [W]


def test_spf_mx_authorized_reports_each_address():
    spf = good_tree(mx_results=(SpfMxResult("mx1.example.test", "192.0.2.1", "pass"),
                                SpfMxResult("mx2.example.test", "192.0.2.2", "fail", "not listed")))
    findings = [(s, st) for s, st in [(f, g) for f, g in
                                     zip(messages("spf.mx_authorized", ev(spf=spf)),
                                         statuses("spf.mx_authorized", ev(spf=spf)))]]
    assert [st for _, st in findings] == [I, I]
    assert "pass" in findings[0][0] and "fail" in findings[1][0]
    assert statuses("spf.mx_authorized", ev(spf=good_tree())) == [S]
    assert statuses("spf.mx_authorized", ev(spf=good_tree(mx_error="pyspf timed out"))) == [E]


def test_no_spf_record_skips_dependent_checks():
    spf = spf_ev(spf_node(D))
    for cid in ("spf.single", "spf.syntax", "spf.lookups", "spf.void_lookups", "spf.all",
                "spf.ptr"):
        assert statuses(cid, ev(spf=spf)) == [S], cid
    assert statuses("spf.present", ev(spf=spf)) == [F]
