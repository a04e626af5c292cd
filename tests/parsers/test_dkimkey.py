"""DKIM key sizes from p= values (scanner/parsers/dkimkey.py), against the RFCs' example keys
and dkimpy's evaluate_pk (the library verify-dkim uses) on generated and malformed keys."""
from __future__ import annotations

import base64

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from scanner.parsers.dkimkey import BadKey, ed25519_bits, rsa_bits

# RFC 6376 Appendix C: the example 1024-bit key of brisbane._domainkey.example.com
RFC6376_P = ("MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYt"
             "IxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0f"
             "zfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB")
# RFC 8463 Appendix A.2: the ed25519 example key of brisbane._domainkey.football.example.com
RFC8463_P = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="


def _rsa_p(bits: int, fmt=serialization.PublicFormat.SubjectPublicKeyInfo, tail: bytes = b"") -> str:
    # a public key of exactly ``bits`` (no need for primes: only the modulus size matters)
    key = rsa.RSAPublicNumbers(65537, (1 << (bits - 1)) | 0xF1).public_key()
    return base64.b64encode(key.public_bytes(serialization.Encoding.DER, fmt) + tail).decode()


def _dkimpy_bits(p: str) -> int | None:
    try:
        return dkim.evaluate_pk(b"x", f"v=DKIM1; k=rsa; p={p}".encode())[1]
    except Exception:
        return None


def test_rfc_example_keys():
    assert rsa_bits(RFC6376_P) == 1024
    assert ed25519_bits(RFC8463_P) == 256


@pytest.mark.parametrize("bits", [512, 1024, 2048, 3072, 4096])
@pytest.mark.parametrize("fmt", [serialization.PublicFormat.SubjectPublicKeyInfo,
                                 serialization.PublicFormat.PKCS1], ids=["spki", "pkcs1"])
def test_sizes_agree_with_dkimpy(bits, fmt):
    p = _rsa_p(bits, fmt)
    assert rsa_bits(p) == _dkimpy_bits(p) == bits


def test_trailing_bytes_and_stray_characters_are_tolerated_as_verifiers_do():
    p = _rsa_p(2048, tail=b"\0\0")
    assert rsa_bits(p) == _dkimpy_bits(p) == 2048
    spaced = _rsa_p(1024)
    noisy = spaced[:20] + "!*" + spaced[20:]          # not base64: skipped like dkimpy does
    assert rsa_bits(noisy) == _dkimpy_bits(noisy) == 1024


@pytest.mark.parametrize("p", [
    "", "bm90IGEga2V5",                                   # base64 of "not a key"
    _rsa_p(2048)[:100],                                   # truncated
    base64.b64encode(b"\x30\x84\xff\xff\xff\xff").decode(),   # length beyond the data
    base64.b64encode(b"\x30\x03\x02\x01\x00").decode(),      # zero modulus, no exponent
    base64.b64encode(b"\x04\x02\x00\x00").decode(),          # not a SEQUENCE
])
def test_malformed_rsa_keys_are_rejected_by_both(p):
    with pytest.raises(BadKey):
        rsa_bits(p)
    assert not _dkimpy_bits(p)


def test_an_ec_key_is_not_an_rsa_key():
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    p = base64.b64encode(key.public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
    with pytest.raises(BadKey, match="not an RSA key"):
        rsa_bits(p)


@pytest.mark.parametrize("p", ["AAAA", "!!!!", base64.b64encode(b"\0" * 31).decode()])
def test_malformed_ed25519_keys(p):
    with pytest.raises(BadKey):
        ed25519_bits(p)


def test_hostile_bytes_never_raise_anything_else():
    import random

    rng = random.Random(7)
    for _ in range(3000):
        blob = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64)))
        blob = rng.choice([blob, b"\x30" + blob, b"\x30\x82" + blob, b"\x30\x0d\x06\x09" + blob])
        try:
            rsa_bits(base64.b64encode(blob).decode())
        except BadKey:
            pass
