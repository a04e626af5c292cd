"""NSEC denial proofs on the RFC 4035 Appendix A zone (its NSEC chain, as if verified), the
Appendix B responses, and forged proofs that must not prove anything."""
from __future__ import annotations

import dns.name
import dns.rdata
import dns.rdatatype
import pytest

from scanner.dns.dnssec import nsec
from scanner.evidence.dnssec import Security

N = dns.name.from_text
CHAIN = {       # RFC 4035 Appendix A
    "example.": "a.example. NS SOA MX RRSIG NSEC DNSKEY",
    "a.example.": "ai.example. NS DS RRSIG NSEC",
    "ai.example.": "b.example. A HINFO AAAA RRSIG NSEC",
    "b.example.": "ns1.example. NS RRSIG NSEC",
    "ns1.example.": "ns2.example. A RRSIG NSEC",
    "ns2.example.": "*.w.example. A RRSIG NSEC",
    "*.w.example.": "x.w.example. MX RRSIG NSEC",
    "x.w.example.": "x.y.w.example. MX RRSIG NSEC",
    "x.y.w.example.": "xx.example. MX RRSIG NSEC",
    "xx.example.": "example. A HINFO AAAA RRSIG NSEC",
}


def records(*owners: str):
    return [(N(o), dns.rdata.from_text("IN", "NSEC", CHAIN[o])) for o in owners]


T = dns.rdatatype.from_text


def test_b2_name_error():
    d = nsec.prove_nxdomain(N("ml.example."), records("b.example.", "example."))
    assert d.state is Security.SECURE, d.detail
    assert "no wildcard at example." in d.detail


def test_b3_no_data():
    d = nsec.prove_nodata(N("ns1.example."), T("MX"), records("ns1.example."))
    assert d.state is Security.SECURE and not d.delegation


def test_b5_ds_denied_at_an_unsigned_delegation():
    d = nsec.prove_nodata(N("b.example."), T("DS"), records("b.example."))
    assert d.state is Security.SECURE and d.delegation


def test_b6_wildcard_expansion():
    d = nsec.prove_wildcard_answer(N("a.z.w.example."), N("w.example."), records("x.y.w.example."))
    assert d.state is Security.SECURE, d.detail


def test_b7_wildcard_no_data():
    d = nsec.prove_nodata(N("a.z.w.example."), T("AAAA"), records("x.y.w.example.", "*.w.example."))
    assert d.state is Security.SECURE, d.detail
    # without the wildcard's NSEC there is no proof (RFC 4035 3.1.3.4)
    assert nsec.prove_nodata(N("a.z.w.example."), T("AAAA"),
                             records("x.y.w.example.")).state is Security.BOGUS
    # and the wildcard has MX: a wildcard NODATA for MX is a lie
    assert nsec.prove_nodata(N("a.z.w.example."), T("MX"),
                             records("x.y.w.example.", "*.w.example.")).state is Security.BOGUS


def test_b8_ds_denied_by_the_child_apex_is_no_proof():
    d = nsec.prove_nodata(N("example."), T("DS"), records("example."))
    assert d.state is Security.BOGUS and "wrong side" in d.detail


def test_empty_non_terminal_no_data():
    # w.example owns nothing but exists: ns2.example -> *.w.example lies below it
    d = nsec.prove_nodata(N("w.example."), T("A"), records("ns2.example."))
    assert d.state is Security.SECURE and "empty non-terminal" in d.detail


@pytest.mark.parametrize("qname, owners, why", [
    # the wildcard at the closest encloser is not denied
    ("ml.example.", ("b.example.",), "no NSEC denies the wildcard *.example."),
    # an NSEC that does not cover the name (owner and next both before it)
    ("ml.example.", ("a.example.", "example."), "no NSEC covers ml.example."),
    # the name is an empty non-terminal: an NXDOMAIN for it is forged
    ("w.example.", ("ns2.example.", "example."), "exists (an empty non-terminal)"),
    # a delegation point's NSEC cannot deny names below the cut (RFC 6840 4.1)
    ("foo.b.example.", ("b.example.", "example."), "no NSEC covers foo.b.example."),
    # a wildcard that exists: the name would have been synthesised
    ("a.w.example.", ("*.w.example.", "ns2.example."), "should have been synthesised"),
    # a name that exists (it is the NSEC's next name)
    ("x.y.w.example.", ("x.w.example.", "*.w.example."), "no NSEC covers x.y.w.example."),
])
def test_forged_name_errors_prove_nothing(qname, owners, why):
    d = nsec.prove_nxdomain(N(qname), records(*owners))
    assert d.state is Security.BOGUS
    assert why in d.detail


@pytest.mark.parametrize("qname, qtype, owners", [
    ("ns1.example.", "A", ("ns1.example.",)),          # the NSEC lists A
    ("x.w.example.", "MX", ("x.w.example.",)),
    ("a.example.", "DS", ("a.example.",)),              # the DS exists
    ("b.example.", "A", ("b.example.",)),               # parent-side NSEC for a child's type
    ("ml.example.", "A", ("b.example.",)),              # covered, not matched, no wildcard NSEC
])
def test_forged_no_data_proves_nothing(qname, qtype, owners):
    assert nsec.prove_nodata(N(qname), T(qtype), records(*owners)).state is Security.BOGUS


def test_covers_wraps_at_the_end_of_the_chain():
    owner, nxt = N("xx.example."), N("example.")
    assert nsec.covers(owner, nxt, N("z.example."))
    assert nsec.covers(owner, nxt, N("a.xx.example."))
    assert not nsec.covers(owner, nxt, N("b.example."))


def test_canonical_order_is_rfc4034_6_1():
    ordered = ["example.", "a.example.", "yljkjljk.a.example.", "Z.a.example.",
               "zABC.a.EXAMPLE.", "z.example.", "\\001.z.example.", "*.z.example.",
               "\\200.z.example."]
    names = [N(n) for n in ordered]
    assert sorted(reversed(names)) == names
