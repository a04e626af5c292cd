"""RRSIG checks and the crypto, against the standards' own test vectors: RFC 5702 (RSA/SHA-2),
RFC 6605 (ECDSA), RFC 8080 with errata 4935 (EdDSA), RFC 4034/4509/6605/8080 key tags and DS
digests, RFC 4035 Appendix B (RSASHA1, accepted only by the SHA-1 test policy), and the
validity window in serial-number arithmetic at its edges."""
from __future__ import annotations

import base64

import dns.name
import dns.rdata
import dns.rrset
import pytest
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519

from scanner.dns.dnssec.policy import DEFAULT_POLICY
from scanner.dns.dnssec.signatures import (ds_digest, key_tag, label_count, signed_data,
                                           verify_rrset, window_problem)

N = dns.name.from_text


def rdata(rdtype: str, text: str):
    return dns.rdata.from_text("IN", rdtype, text)


def rrset(owner: str, rdtype: str, *values: str, ttl: int = 3600):
    return dns.rrset.from_text_list(owner, ttl, "IN", rdtype, list(values))


# (zone, DNSKEY, RRset owner/type/value, RRSIG, a time inside the window)
VECTORS = {
    "RFC 5702 6.1 RSASHA256": (
        "example.net.",
        "256 3 8 AwEAAcFcGsaxxdgiuuGmCkVImy4h99CqT7jwY3pexPGcnUFtR2Fh36BponcwtkZ4cAgtvd4Qs8PkxUdp6p/DlUmObdk=",
        ("www.example.net.", "A", "192.0.2.91"),
        "A 8 3 3600 20300101000000 20000101000000 9033 example.net. kRCOH6u7l0QGy9qpC9l1sLncJcOK"
        "FLJ7GhiUOibu4teYp5VE9RncriShZNz85mwlMgNEacFYK/lPtPiVYP4bwg==", 1_300_000_000),
    "RFC 5702 6.2 RSASHA512": (
        "example.net.",
        "256 3 10 AwEAAdHoNTOW+et86KuJOWRDp1pndvwb6Y83nSVXXyLA3DLroROUkN6X0O6pnWnjJQujX/AyhqFDxj"
        "13tOnD9u/1kTg7cV6rklMrZDtJCQ5PCl/D7QNPsgVsMu1J2Q8gpMpztNFLpPBz1bWXjDtaR7ZQBlZ3PFY12ZTS"
        "ncorffcGmhOL",
        ("www.example.net.", "A", "192.0.2.91"),
        "A 10 3 3600 20300101000000 20000101000000 3740 example.net. tsb4wnjRUDnB1BUi+t6TMTXThj"
        "VnG+eCkWqjvvjhzQL1d0YRoOe0CbxrVDYd0xDtsuJRaeUw1ep94PzEWzr0iGYgZBWm/zpq+9fOuagYJRfDqfRe"
        "KBzMweOLDiNa8iP5g9vMhpuv6OPlvpXwm9Sa9ZXIbNl1MBGk0fthPgxdDLw=", 1_300_000_000),
    "RFC 6605 6.1 ECDSAP256SHA256": (
        "example.net.",
        "257 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==",
        ("www.example.net.", "A", "192.0.2.1"),
        "A 13 3 3600 20100909100439 20100812100439 55648 example.net. qx6wLYqmh+l9oCKTN6qIc+bw6y"
        "a+KJ8oMz0YP107epXAyGmt+3SNruPFKG7tZoLBLlUzGGus7ZwmwWep666VCw==", 1_283_000_000),
    "RFC 6605 6.2 ECDSAP384SHA384": (
        "example.net.",
        "257 3 14 xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1w/egsXvSADtNJhyem5RCOpgQ6K8X1DRSEkrb"
        "YQ+OB+v8/uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40",
        ("www.example.net.", "A", "192.0.2.1"),
        "A 14 3 3600 20100909102025 20100812102025 10771 example.net. /L5hDKIvGDyI1fcARX3z65qrmP"
        "sVz73QD1Mr5CEqOiLP95hxQouuroGCeZOvzFaxsT8Glr74hbavRKayJNuydCuzWTSSPdz7wnqXL5bdcJzusdnI"
        "0RSMROxxwGipWcJm", 1_283_000_000),
    # RFC 8080 6.1 as corrected by errata 4935 (the RFC's own Labels/signature were wrong)
    "RFC 8080 6.1 ED25519 key 3613": (
        "example.com.", "257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=",
        ("example.com.", "MX", "10 mail.example.com."),
        "MX 15 2 3600 1440021600 1438207200 3613 example.com. oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15"
        "jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg==", 1_439_000_000),
    "RFC 8080 6.1 ED25519 key 35217": (
        "example.com.", "257 3 15 zPnZ/QwEe7S8C5SPz2OfS5RR40ATk2/rYnE9xHIEijs=",
        ("example.com.", "MX", "10 mail.example.com."),
        "MX 15 2 3600 1440021600 1438207200 35217 example.com. zXQ0bkYgQTEFyfLyi9QoiY6D8ZdYo4wyU"
        "hVioYZXFdT410QPRITQSqJSnzQoSm5poJ7gD7AQR0O7KuI5k2pcBg==", 1_439_000_000),
}


@pytest.mark.parametrize("name", list(VECTORS))
def test_rfc_signature_vectors_verify(name):
    zone, key, (owner, rdtype, value), sig, now = VECTORS[name]
    rs, k, s = rrset(owner, rdtype, value), rdata("DNSKEY", key), rdata("RRSIG", sig)
    checked = verify_rrset(rs.name, rs, [s], N(zone), [k], now, DEFAULT_POLICY)
    assert checked.ok, checked.reason
    assert checked.key == f"{key_tag(k)}/{k.algorithm}"
    # one changed bit in the data, or a record added, and it no longer verifies
    changed = rrset(owner, rdtype, "192.0.2.99" if rdtype == "A" else "20 mail.example.com.")
    assert not verify_rrset(changed.name, changed, [s], N(zone), [k], now, DEFAULT_POLICY).ok
    assert "does not verify" in verify_rrset(changed.name, changed, [s], N(zone), [k], now,
                                             DEFAULT_POLICY).reason


# RFC 8080 6: the example private keys; EdDSA is deterministic, so signing the example RRset
# with them must give signatures that verify (Ed448 has no corrected signature to compare)
EDDSA_PRIVATE = [
    (15, "ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=", "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=",
     "oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg=="),
    (16, "xZ+5Cgm463xugtkY5B0Jx6erFTXp13rYegst0qRtNsOYnaVpMx0Z/c5EiA9x8wWbDDct/U3FhYWA",
     "3kgROaDjrh0H2iuixWBrc8g2EpBBLCdGzHmn+G2MpTPhpj/OiBVHHSfPodx1FYYUcJKm1MDpJtIA", None),
    (16, "WEykD3ht3MHkU8iH4uVOLz8JLwtRBSqiBoM6fF72+Mrp/u5gjxuB1DV6NnPO2BlZdz4hdSTkOdOA",
     "kkreGWoccSDmUBGAe7+zsbG6ZAFQp+syPmYUurBRQc3tDjeMCJcVMRDmgcNLp5HlHAMy12VoISsA", None),
]


@pytest.mark.parametrize("alg, private, public, expected", EDDSA_PRIVATE)
def test_rfc8080_private_keys_sign_what_verifies(alg, private, public, expected):
    cls = ed25519.Ed25519PrivateKey if alg == 15 else ed448.Ed448PrivateKey
    key = cls.from_private_bytes(base64.b64decode(private))
    k = rdata("DNSKEY", f"257 3 {alg} {public}")
    rs = rrset("example.com.", "MX", "10 mail.example.com.")
    head = rdata("RRSIG", f"MX {alg} 2 3600 1440021600 1438207200 {key_tag(k)} example.com. AA==")
    signature = key.sign(signed_data(head, rs.name, rs))
    if expected is not None:
        assert base64.b64encode(signature).decode() == expected
    s = head.replace(signature=signature)
    assert verify_rrset(rs.name, rs, [s], N("example.com."), [k], 1_439_000_000, DEFAULT_POLICY).ok


# key tags and DS digests: RFC 4034 5.4, RFC 4509 2.3, RFC 6605 6, RFC 8080 6
DS_VECTORS = [
    ("dskey.example.com.", "256 3 5 AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9"
     "BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EP"
     "btG9DMBmADjFDc2w/rljwvFw==", 60485, 1, "2bb183af5f22588179a53b0a98631fad1a292118"),
    ("dskey.example.com.", "256 3 5 AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9"
     "BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EP"
     "btG9DMBmADjFDc2w/rljwvFw==", 60485, 2,
     "d4b7d520e7bb5f0f67674a0cceb1e3e0614b93c4f9e99b8383f6a1e4469da50a"),
    ("example.net.", "257 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e"
     "+MAnLr+Wi9xMWyQLc8NAA==", 55648, 2,
     "b4c8c1fe2e7477127b27115656ad6256f424625bf5c1e2770ce6d6e37df61d17"),
    ("example.net.", "257 3 14 xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1w/egsXvSADtNJhyem5RC"
     "OpgQ6K8X1DRSEkrbYQ+OB+v8/uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40", 10771, 4,
     "72d7b62976ce06438e9c0bf319013cf801f09ecc84b8d7e9495f27e305c6a9b0563a9b5f4d288405c3008a946df983d6"),
    ("example.com.", "257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=", 3613, 2,
     "3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b"),
    ("example.com.", "257 3 16 3kgROaDjrh0H2iuixWBrc8g2EpBBLCdGzHmn+G2MpTPhpj/OiBVHHSfPodx1FYYUc"
     "JKm1MDpJtIA", 9713, 2, "6ccf18d5bc5d7fc2fceb1d59d17321402f2aa8d368048db93dd811f5cb2b19c7"),
]


@pytest.mark.parametrize("owner, key, tag, digest_type, digest", DS_VECTORS)
def test_key_tags_and_ds_digests(owner, key, tag, digest_type, digest):
    k = rdata("DNSKEY", key)
    assert key_tag(k) == tag
    assert ds_digest(N(owner), k, digest_type).hex() == digest
    assert ds_digest(N(owner.upper()), k, digest_type).hex() == digest    # canonical owner
    assert ds_digest(N(owner), k, 3) is None         # GOST: not implemented


# RFC 4035 Appendix A/B: example. signed with RSASHA1 (key 38519) from 2004-04-09 18:36:19
# to 2004-05-09 18:36:19
RFC4035_KEY = ("256 3 5 AQOy1bZVvpPqhg4j7EJoM9rI3ZmyEx2OzDBVrZy/lvI5CQePxXHZS4i8dANH4DX3tbHol61ek8"
               "EFMcsGXxKciJFHyhl94C+NwILQdzsUlSFovBZsyl/NX6yEbtw/xN9ZNcrbYvgjjZ/UVPZIySFNsgEYvh0z2"
               "542lzMKR4Dh8uZffQ==")
RFC4035_WINDOW = "20040509183619 20040409183619 38519 example."
RFC4035_NOW = 1_083_412_800      # 2004-05-01 12:00:00


def rfc4035_sig(covered: str, labels: int, signature: str):
    return rdata("RRSIG", f"{covered} 5 {labels} 3600 {RFC4035_WINDOW} {signature}")


RFC4035_B1_MX = rfc4035_sig("MX", 3, "Il2WTZ+Bkv+OytBx4LItNW5mjB4RCwhOO8y1XzPHZmZUTVYL7LaA63f6T9ysVB"
                                     "zJRI3KRjAPH3U1qaYnDoN1DrWqmi9RJe4FoObkbcdm7P3Ikx70ePCoFgRz1Yq+"
                                     "bVVXCvGuAU4xALv3W/Y1jNSlwZ2mSWKHfxFQxPtLj8s32+k=")
RFC4035_B6_MX = rfc4035_sig("MX", 2, "OMK8rAZlepfzLWW75Dxd63jy2wswESzxDKG2f9AMN1CytCd10cYISAxfAdvXSZ"
                                     "7xujKAtPbctvOQ2ofO7AZJ+d01EeeQTVBPq4/6KCWhqe2XTjnkVLNvvhnc0u28"
                                     "aoSsG0+4InvkkOHknKxw4kX18MMR34i8lC36SR5xBni8vHI=")


def test_rfc4035_rsasha1_verifies_only_under_the_sha1_policy():
    k = rdata("DNSKEY", RFC4035_KEY)
    rs = rrset("x.w.example.", "MX", "1 xx.example.")
    sha1 = DEFAULT_POLICY.with_sha1()
    assert verify_rrset(rs.name, rs, [RFC4035_B1_MX], N("example."), [k], RFC4035_NOW, sha1).ok
    default = verify_rrset(rs.name, rs, [RFC4035_B1_MX], N("example."), [k], RFC4035_NOW, DEFAULT_POLICY)
    assert not default.ok and default.unsupported
    assert "RSASHA1 is not accepted" in default.reason


def test_rfc4035_wildcard_expansion_signs_the_wildcard_owner():
    """B.6: a.z.w.example MX came from *.w.example; the RRSIG's Labels (2) says so, and the
    signed data is rebuilt with the wildcard owner."""
    k = rdata("DNSKEY", RFC4035_KEY)
    rs = rrset("a.z.w.example.", "MX", "1 ai.example.")
    checked = verify_rrset(rs.name, rs, [RFC4035_B6_MX], N("example."), [k], RFC4035_NOW,
                           DEFAULT_POLICY.with_sha1())
    assert checked.ok and checked.labels == 2 < label_count(rs.name) == 4


def test_labels_larger_than_the_owner_is_refused():
    k = rdata("DNSKEY", RFC4035_KEY)
    rs = rrset("w.example.", "MX", "1 xx.example.")       # 2 labels; the RRSIG says 3
    checked = verify_rrset(rs.name, rs, [RFC4035_B1_MX], N("example."), [k], RFC4035_NOW,
                           DEFAULT_POLICY.with_sha1())
    assert not checked.ok and "Labels 3 exceeds the owner's 2" in checked.reason


def test_label_count():
    assert label_count(N(".")) == 0
    assert label_count(N("example.")) == 1
    assert label_count(N("*.w.example.")) == 2      # the leading wildcard does not count


def test_wrong_signer_key_and_flags():
    zone, key, (owner, rdtype, value), sig, now = VECTORS["RFC 6605 6.1 ECDSAP256SHA256"]
    rs, k, s = rrset(owner, rdtype, value), rdata("DNSKEY", key), rdata("RRSIG", sig)
    assert "not the zone" in verify_rrset(rs.name, rs, [s], N("net."), [k], now, DEFAULT_POLICY).reason
    assert "no such key" in verify_rrset(rs.name, rs, [s], N(zone), [], now, DEFAULT_POLICY).reason
    no_zone_flag = rdata("DNSKEY", key.replace("257", "1", 1))
    assert not verify_rrset(rs.name, rs, [s], N(zone), [no_zone_flag], now, DEFAULT_POLICY).ok
    revoked = rdata("DNSKEY", key.replace("257", "385", 1))          # RFC 5011 REVOKE bit
    assert not verify_rrset(rs.name, rs, [s], N(zone), [revoked], now, DEFAULT_POLICY).ok
    assert verify_rrset(rs.name, rs, [], N(zone), [k], now, DEFAULT_POLICY).reason == "no RRSIG"


# the window: [inception, expiration], both inclusive, in 32-bit serial arithmetic
INCEPTION, EXPIRATION = 1_281_607_479, 1_284_026_679      # RFC 6605 6.1's window


@pytest.mark.parametrize("now, problem", [
    (INCEPTION - 1, "not yet valid (inception 2010-08-12T10:04:39Z)"),
    (INCEPTION, ""),
    (EXPIRATION, ""),
    (EXPIRATION + 1, "expired (expiration 2010-09-09T10:04:39Z)"),
    (EXPIRATION + 365 * 86400, "expired (expiration 2010-09-09T10:04:39Z)"),
])
def test_signature_window_edges(now, problem):
    zone, key, (owner, rdtype, value), sig, _ = VECTORS["RFC 6605 6.1 ECDSAP256SHA256"]
    rs, k, s = rrset(owner, rdtype, value), rdata("DNSKEY", key), rdata("RRSIG", sig)
    assert window_problem(s, now) == problem
    checked = verify_rrset(rs.name, rs, [s], N(zone), [k], now, DEFAULT_POLICY)
    assert checked.ok is (problem == "")
    assert problem in checked.reason


def test_window_wraps_around_2106():
    """RFC 4034 3.1.5: an expiration numerically below the inception (past 2^32 seconds)."""
    s = rdata("RRSIG", "A 13 3 3600 100 4294960000 55648 example.net. AA==")
    assert window_problem(s, 4294967000) == ""            # 2106-02-07, before the wrap
    assert window_problem(s, 4294967296 + 50) == ""       # just after it
    assert window_problem(s, 4294967296 + 101).startswith("expired")
    assert window_problem(s, 4294959999).startswith("not yet valid")


def test_keytrap_rrsets_cost_a_bounded_number_of_verifications(monkeypatch):
    """CVE-2023-50387: RRSIGs x keys sharing a key tag. 40 forged RRSIGs before the real one,
    and 40 keys with its tag: at most MAX_VERIFICATIONS public-key operations, then bogus."""
    from scanner.dns.dnssec import signatures
    zone, key, (owner, rdtype, value), sig, now = VECTORS["RFC 6605 6.1 ECDSAP256SHA256"]
    rs, k, s = rrset(owner, rdtype, value), rdata("DNSKEY", key), rdata("RRSIG", sig)
    forged = s.replace(signature=bytes(len(s.signature)))
    calls = []
    real = signatures.verify_signature
    monkeypatch.setattr(signatures, "verify_signature", lambda *a: calls.append(1) or real(*a))
    checked = verify_rrset(rs.name, rs, [forged] * 40 + [s], N(zone), [k], now, DEFAULT_POLICY)
    assert not checked.ok and len(calls) == signatures.MAX_VERIFICATIONS
    assert checked.reason.startswith("gave up after 8 signature verifications")
    calls.clear()
    checked = verify_rrset(rs.name, rs, [forged, s], N(zone), [k] * 40, now, DEFAULT_POLICY)
    assert not checked.ok and len(calls) == signatures.MAX_VERIFICATIONS
    calls.clear()
    # an honest RRset: the forged RRSIG and then the real one, one key: two verifications
    assert verify_rrset(rs.name, rs, [forged, s], N(zone), [k], now, DEFAULT_POLICY).ok
    assert len(calls) == 2
