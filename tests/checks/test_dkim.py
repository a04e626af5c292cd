"""dkim.* checks on hand-made evidence: key records built from real keys of each size."""
from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from scanner.evidence.records import RecordsEvidence
from tests.checks.records_ev import (D, E, F, I, P, S, SERVFAIL, W, dkim_ev, dmarc_ev, ev,
                                     fail_res, got, messages, mx, res, spf_ev, spf_node, statuses)


def rsa_p(bits: int) -> str:
    """Base64 SubjectPublicKeyInfo of an RSA key with a ``bits``-bit modulus (not a real key
    for tiny sizes: the checks only read the modulus length)."""
    n = (1 << (bits - 1)) | 0x10001 | 1
    key = rsa.RSAPublicNumbers(65537, n).public_key()
    der = key.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


ED = base64.b64encode(ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
    serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()
K2048 = f"v=DKIM1; k=rsa; p={rsa_p(2048)}"


def sel(name):
    return f"{name}._domainkey.{D}"


def test_dkim_present():
    assert statuses("dkim.present", ev(dkim=dkim_ev(google=K2048, selector1=None))) == [P]
    assert statuses("dkim.present", ev(dkim=dkim_ev(google=None, selector1=None))) == [W]
    msg = messages("dkim.present", ev(dkim=dkim_ev(google=None, selector1=None)))[0]
    assert "google" in msg and "selector1" in msg                # says which were tried
    assert statuses("dkim.present", ev(dkim=dkim_ev(s1="v=DKIM1; p="))) == [W]   # revoked only
    assert statuses("dkim.present", ev(dkim=dkim_ev(s1="v=spf1 -all"))) == [W]   # wildcard junk
    failed = dkim_ev(google=fail_res(sel("google")), s1=None)
    assert statuses("dkim.present", ev(dkim=failed)) == [E]
    assert statuses("dkim.present", ev(RecordsEvidence())) == [E]


def non_sending_ev(spf="v=spf1 -all", p="reject"):
    return ev(mx_ev=mx(null=True), dkim=dkim_ev(google=None),
              spf=spf_ev(spf_node(D, spf)), dmarc=dmarc_ev(f"v=DMARC1; p={p}"))


def test_dkim_present_skipped_for_non_sending_domains():
    assert statuses("dkim.present", non_sending_ev()) == [S]
    assert statuses("dkim.present", non_sending_ev(spf="v=spf1 ~all")) == [W]
    assert statuses("dkim.present", non_sending_ev(p="quarantine")) == [W]
    sending_mx = ev(dkim=dkim_ev(google=None), spf=spf_ev(spf_node(D, "v=spf1 -all")),
                    dmarc=dmarc_ev("v=DMARC1; p=reject"))
    assert statuses("dkim.present", sending_mx) == [W]


@pytest.mark.parametrize("record,expected", [
    (K2048, P),
    (f"v=DKIM1; k=rsa; p={rsa_p(4096)}", P),
    (f"p={rsa_p(2048)}", P),                       # v= and k= are optional
    (f"v=DKIM1; k=ed25519; p={ED}", P),
    (f"v=DKIM1; k=rsa; p={rsa_p(1024)}", W),
    (f"v=DKIM1; k=rsa; p={rsa_p(1536)}", W),
    (f"v=DKIM1; k=rsa; p={rsa_p(512)}", F),
    ("v=DKIM1; k=rsa; p=bm90IGEga2V5", F),        # base64 of junk
    ("v=DKIM1; k=ed25519; p=AAAA", F),             # wrong length
    ("v=DKIM1; k=dsa; p=AAAA", F),
])
def test_dkim_key(record, expected):
    assert got("dkim.key", ev(dkim=dkim_ev(s1=record))) == [(sel("s1"), expected)]


def test_dkim_key_per_selector_and_revoked_skipped():
    d = dkim_ev(a=K2048, b=f"p={rsa_p(1024)}", c="v=DKIM1; p=", missing=None)
    assert got("dkim.key", ev(dkim=d)) == [(sel("a"), P), (sel("b"), W)]
    assert got("dkim.key", ev(dkim=dkim_ev(missing=None))) == [(D, S)]


@pytest.mark.parametrize("record,expected", [
    (K2048, P),
    ("v=DKIM1; p=", I),                            # revoked key
    (f"v=DKIM1; k=rsa; h=sha256; s=email; p={rsa_p(2048)}", P),
    (f"v=DKIM1; k=rsa; h=md5; p={rsa_p(2048)}", F),
    (f"v=DKIM1; k=foo; p={rsa_p(2048)}", F),
    (f"v=DKIM1; s=tlsrpt; p={rsa_p(2048)}", F),
    (f"k=rsa; v=DKIM1; p={rsa_p(2048)}", F),       # v= must come first
    (f"v=DKIM1; p={rsa_p(2048)}; p={rsa_p(2048)}", F),
    (f"v=DKIM1; k=rsa; junk; p={rsa_p(2048)}", F),
    ("v=DKIM1; k=rsa", F),                          # no p= (located by v=DKIM1)
])
def test_dkim_syntax(record, expected):
    assert got("dkim.syntax", ev(dkim=dkim_ev(s1=record))) == [(sel("s1"), expected)]


@pytest.mark.parametrize("record,expected", [
    (K2048, P), (f"v=DKIM1; t=y; p={rsa_p(2048)}", W), (f"v=DKIM1; t=s:y; p={rsa_p(2048)}", W),
    (f"v=DKIM1; t=s; p={rsa_p(2048)}", P),
])
def test_dkim_testing(record, expected):
    assert got("dkim.testing", ev(dkim=dkim_ev(s1=record))) == [(sel("s1"), expected)]


@pytest.mark.parametrize("record,expected", [
    (K2048, P), (f"v=DKIM1; h=sha1; p={rsa_p(2048)}", W),
    (f"v=DKIM1; h=sha1:sha256; p={rsa_p(2048)}", P), (f"v=DKIM1; h=sha256; p={rsa_p(2048)}", P),
])
def test_dkim_hash(record, expected):
    assert got("dkim.hash", ev(dkim=dkim_ev(s1=record))) == [(sel("s1"), expected)]


def test_hostile_key_records_are_findings_not_crashes():
    for record in ("v=DKIM1; p=<script>alert(1)</script>", "=SUM(A1:A9)", "v=DKIM1; p=\\xff\\xfe",
                   "v=DKIM1; k=rsa; p=" + "A" * 65000):
        evidence = ev(dkim=dkim_ev(s1=record))
        for cid in ("dkim.present", "dkim.key", "dkim.syntax", "dkim.testing", "dkim.hash"):
            assert E not in statuses(cid, evidence), (cid, record)   # no internal error
