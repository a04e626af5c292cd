"""NSEC3 on the RFC 5155 Appendix A zone: its hashes, and the Appendix B responses as proofs
(the zone uses Opt-Out everywhere, which makes name errors and wildcard answers insecure;
the same chain without the flag proves them secure); iteration limits (RFC 9276)."""
from __future__ import annotations

import dns.name
import dns.rdata
import dns.rdatatype
import pytest

from scanner.dns.dnssec import nsec3
from scanner.dns.dnssec.policy import DEFAULT_POLICY, Policy
from scanner.evidence.dnssec import Security

N = dns.name.from_text
T = dns.rdatatype.from_text
ZONE = N("example.")
HASHES = {      # RFC 5155 Appendix A
    "example": "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom", "a.example": "35mthgpgcu1qg68fab165klnsnk3dpvl",
    "ai.example": "gjeqe526plbf1g8mklp59enfd789njgi", "ns1.example": "2t7b4g4vsa5smi47k61mv5bv1a22bojr",
    "ns2.example": "q04jkcevqvmu85r014c7dkba38o0ji5r", "w.example": "k8udemvp1j2f7eg6jebps17vp3n8i58h",
    "*.w.example": "r53bq7cc2uvmubfu5ocmm6pers9tk9en", "x.w.example": "b4um86eghhds6nea196smvmlo4ors995",
    "y.w.example": "ji6neoaepv8b5o6k4ev33abha8ht9fgc", "x.y.w.example": "2vptu5timamqttgl4luu9kg21e0aor3s",
    "xx.example": "t644ebqk9bibcna874givr6joj62mlhv",
    "2t7b4g4vsa5smi47k61mv5bv1a22bojr.example": "kohar7mbb8dc2ce8a9qvl8hon4k53uhi",
}
CHAIN = {       # RFC 5155 Appendix A: owner -> next hashed owner, types
    "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom": "2t7b4g4vsa5smi47k61mv5bv1a22bojr NS SOA MX RRSIG DNSKEY NSEC3PARAM",
    "2t7b4g4vsa5smi47k61mv5bv1a22bojr": "2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG",
    "2vptu5timamqttgl4luu9kg21e0aor3s": "35mthgpgcu1qg68fab165klnsnk3dpvl MX RRSIG",
    "35mthgpgcu1qg68fab165klnsnk3dpvl": "b4um86eghhds6nea196smvmlo4ors995 NS DS RRSIG",
    "b4um86eghhds6nea196smvmlo4ors995": "gjeqe526plbf1g8mklp59enfd789njgi MX RRSIG",
    "gjeqe526plbf1g8mklp59enfd789njgi": "ji6neoaepv8b5o6k4ev33abha8ht9fgc A HINFO AAAA RRSIG",
    "ji6neoaepv8b5o6k4ev33abha8ht9fgc": "k8udemvp1j2f7eg6jebps17vp3n8i58h",
    "k8udemvp1j2f7eg6jebps17vp3n8i58h": "kohar7mbb8dc2ce8a9qvl8hon4k53uhi",
    "kohar7mbb8dc2ce8a9qvl8hon4k53uhi": "q04jkcevqvmu85r014c7dkba38o0ji5r A RRSIG",
    "q04jkcevqvmu85r014c7dkba38o0ji5r": "r53bq7cc2uvmubfu5ocmm6pers9tk9en A RRSIG",
    "r53bq7cc2uvmubfu5ocmm6pers9tk9en": "t644ebqk9bibcna874givr6joj62mlhv MX RRSIG",
    "t644ebqk9bibcna874givr6joj62mlhv": "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom A HINFO AAAA RRSIG",
}


def records(*owners: str, flags: int = 1, iterations: int = 12):
    return [(N(f"{o}.example."), dns.rdata.from_text(
        "IN", "NSEC3", f"1 {flags} {iterations} aabbccdd {CHAIN[o]}")) for o in owners]


@pytest.mark.parametrize("name, hashed", list(HASHES.items()))
def test_appendix_a_hashes(name, hashed):
    assert nsec3.hash_text(nsec3.nsec3_hash(N(name), bytes.fromhex("aabbccdd"), 12)) == hashed


B1 = ("b4um86eghhds6nea196smvmlo4ors995", "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom",
      "35mthgpgcu1qg68fab165klnsnk3dpvl")


def test_b1_name_error_is_insecure_under_opt_out_and_secure_without():
    d = nsec3.prove_nxdomain(N("a.c.x.w.example."), ZONE, records(*B1), DEFAULT_POLICY)
    assert d.state is Security.INSECURE and "Opt-Out" in d.detail
    d = nsec3.prove_nxdomain(N("a.c.x.w.example."), ZONE, records(*B1, flags=0), DEFAULT_POLICY)
    assert d.state is Security.SECURE, d.detail
    assert "closest encloser x.w.example." in d.detail


def test_b2_no_data():
    d = nsec3.prove_nodata(N("ns1.example."), T("MX"), ZONE,
                           records("2t7b4g4vsa5smi47k61mv5bv1a22bojr"), DEFAULT_POLICY)
    assert d.state is Security.SECURE


def test_b2_1_no_data_at_an_empty_non_terminal():
    d = nsec3.prove_nodata(N("y.w.example."), T("A"), ZONE,
                           records("ji6neoaepv8b5o6k4ev33abha8ht9fgc"), DEFAULT_POLICY)
    assert d.state is Security.SECURE


def test_b3_ds_at_an_opted_out_delegation_is_insecure():
    d = nsec3.prove_nodata(N("c.example."), T("DS"), ZONE,
                           records("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom", "35mthgpgcu1qg68fab165klnsnk3dpvl"),
                           DEFAULT_POLICY)
    assert d.state is Security.INSECURE and d.delegation


def test_b4_wildcard_expansion():
    nc = records("q04jkcevqvmu85r014c7dkba38o0ji5r")
    d = nsec3.prove_wildcard_answer(N("a.z.w.example."), N("w.example."), nc, DEFAULT_POLICY)
    assert d.state is Security.INSECURE                     # opt-out
    d = nsec3.prove_wildcard_answer(N("a.z.w.example."), N("w.example."),
                                    records("q04jkcevqvmu85r014c7dkba38o0ji5r", flags=0), DEFAULT_POLICY)
    assert d.state is Security.SECURE, d.detail


def test_b5_wildcard_no_data():
    owners = ("k8udemvp1j2f7eg6jebps17vp3n8i58h", "q04jkcevqvmu85r014c7dkba38o0ji5r",
              "r53bq7cc2uvmubfu5ocmm6pers9tk9en")
    d = nsec3.prove_nodata(N("a.z.w.example."), T("AAAA"), ZONE, records(*owners, flags=0), DEFAULT_POLICY)
    assert d.state is Security.SECURE, d.detail
    assert nsec3.prove_nodata(N("a.z.w.example."), T("AAAA"), ZONE, records(*owners),
                              DEFAULT_POLICY).state is Security.INSECURE
    # the wildcard owns MX: NODATA for MX is forged
    assert nsec3.prove_nodata(N("a.z.w.example."), T("MX"), ZONE, records(*owners, flags=0),
                              DEFAULT_POLICY).state is Security.BOGUS


def test_b6_ds_denied_by_the_child_apex_is_no_proof():
    d = nsec3.prove_nodata(N("example."), T("DS"), ZONE, records("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"),
                           DEFAULT_POLICY)
    assert d.state is Security.BOGUS and "wrong side" in d.detail


@pytest.mark.parametrize("owners, why", [
    # no wildcard denial
    (B1[:2], "no NSEC3 denies the wildcard *.x.w.example."),
    # the closest encloser x.w.example not shown: the apex is the closest match, and the
    # next closer name below it (w.example) is not covered
    (B1[1:], "no NSEC3 covers the next closer name w.example."),
    # the next closer name's cover missing
    ((B1[0], B1[2]), "no NSEC3 covers the next closer name c.x.w.example."),
])
def test_forged_name_errors_prove_nothing(owners, why):
    d = nsec3.prove_nxdomain(N("a.c.x.w.example."), ZONE, records(*owners, flags=0), DEFAULT_POLICY)
    assert d.state is Security.BOGUS and why in d.detail


def test_a_name_that_exists_cannot_be_denied():
    d = nsec3.prove_nxdomain(N("x.w.example."), ZONE, records(*B1, flags=0), DEFAULT_POLICY)
    assert d.state is Security.BOGUS and "it exists" in d.detail


def test_closest_encloser_at_a_delegation_is_no_proof():
    # names below a.example (a delegation with DS) cannot be denied by the parent
    d = nsec3.prove_nxdomain(N("x.a.example."), ZONE,
                             records("35mthgpgcu1qg68fab165klnsnk3dpvl", "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom",
                                     "2vptu5timamqttgl4luu9kg21e0aor3s", flags=0), DEFAULT_POLICY)
    assert d.state is Security.BOGUS and "delegation point" in d.detail


def test_iterations_above_the_limit_make_it_insecure():
    d = nsec3.prove_nxdomain(N("a.c.x.w.example."), ZONE, records(*B1, flags=0, iterations=151),
                             DEFAULT_POLICY)
    assert d.state is Security.INSECURE and "151 iterations" in d.detail
    strict = Policy(nsec3_iterations=0)           # RFC 9276's recommendation for signers: 0
    assert nsec3.prove_nodata(N("ns1.example."), T("MX"), ZONE,
                              records("2t7b4g4vsa5smi47k61mv5bv1a22bojr"), strict).state is Security.INSECURE


def test_unknown_hash_algorithms_and_flags_are_ignored():
    bad = [(N("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example."),
            dns.rdata.from_text("IN", "NSEC3", f"2 0 12 aabbccdd {CHAIN['0p9mhaveqvm6t7vbl5lop2u3t2rp3tom']}"))]
    assert nsec3.prove_nodata(N("example."), T("A"), ZONE, bad, DEFAULT_POLICY).state is Security.INSECURE
    flags = [(N("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example."),
              dns.rdata.from_text("IN", "NSEC3", f"1 2 12 aabbccdd {CHAIN['0p9mhaveqvm6t7vbl5lop2u3t2rp3tom']}"))]
    assert nsec3.prove_nodata(N("example."), T("A"), ZONE, flags, DEFAULT_POLICY).state is Security.INSECURE
    assert nsec3.prove_nodata(N("example."), T("A"), ZONE, [], DEFAULT_POLICY).state is Security.BOGUS
