"""DKIM public keys (RFC 6376 3.6.1, RFC 8463): the size of the key in a key record's p= tag.

Pure, no I/O, never raises on hostile input. RSA keys are published as a DER
SubjectPublicKeyInfo (what RFC 6376's errata and every signer use) or as a bare PKCS#1
RSAPublicKey (what RFC 6376's text says); both are accepted, as verifiers do. Bytes after the
outer structure are tolerated, as dkimpy's and OpenSSL's DER readers tolerate them, so a key
that verifiers use is never reported as unparsable. ed25519 keys are 32 raw bytes.
tests/parsers/test_dkimkey.py compares the sizes with dkimpy's ``evaluate_pk``.
"""
from __future__ import annotations

import base64
import binascii

_SEQUENCE, _INTEGER, _BIT_STRING, _OID = 0x30, 0x02, 0x03, 0x06
_RSA_ENCRYPTION = bytes.fromhex("2a864886f70d010101")   # 1.2.840.113549.1.1.1


class BadKey(ValueError):
    """Why a key cannot be used (the message is shown in findings)."""


def decode_p(p: str, *, strict: bool = True) -> bytes:
    """The p= value (white space already removed) as bytes; not ``strict``: characters outside
    the base64 alphabet are skipped, as RSA verifiers (dkimpy, OpenDKIM) skip them."""
    try:
        return base64.b64decode(p, validate=strict)
    except (binascii.Error, ValueError):
        raise BadKey("p= is not valid base64") from None


def rsa_bits(p: str) -> int:
    """The RSA modulus size in bits; BadKey when the key cannot be read."""
    der = decode_p(p, strict=False)
    if not der:
        raise BadKey("empty RSA public key")
    tag, body = _element(der, 0)
    if tag != _SEQUENCE:
        raise BadKey("not a DER SubjectPublicKeyInfo or RSAPublicKey")
    first, after = _element_at(der, body[0], body[1])
    if first == _SEQUENCE:                 # SubjectPublicKeyInfo: algorithm, then the key
        algorithm = der[after[0]:after[1]]
        oid_tag, oid = _element_at(algorithm, 0, len(algorithm))
        if oid_tag != _OID or algorithm[oid[0]:oid[1]] != _RSA_ENCRYPTION:
            raise BadKey("not an RSA key (SubjectPublicKeyInfo of another algorithm)")
        bits_tag, bits = _element_at(der, after[2], body[1])
        if bits_tag != _BIT_STRING or bits[1] - bits[0] < 1 or der[bits[0]] != 0:
            raise BadKey("malformed SubjectPublicKeyInfo (no key bit string)")
        inner = der[bits[0] + 1:bits[1]]
        tag, rsa = _element(inner, 0)
        if tag != _SEQUENCE:
            raise BadKey("malformed RSAPublicKey inside SubjectPublicKeyInfo")
        return _modulus_bits(inner, rsa)
    if first == _INTEGER:                  # a bare RSAPublicKey
        return _modulus_bits(der, body)
    raise BadKey("not a DER SubjectPublicKeyInfo or RSAPublicKey")


def ed25519_bits(p: str) -> int:
    if len(decode_p(p)) != 32:
        raise BadKey("an ed25519 key is 32 bytes")
    return 256


def _modulus_bits(der: bytes, seq: tuple[int, int]) -> int:
    tag, n = _element_at(der, seq[0], seq[1])
    if tag != _INTEGER:
        raise BadKey("malformed RSAPublicKey (no modulus)")
    e_tag, e = _element_at(der, n[2], seq[1])
    if e_tag != _INTEGER or e[1] <= e[0]:
        raise BadKey("malformed RSAPublicKey (no public exponent)")
    modulus = int.from_bytes(der[n[0]:n[1]], "big", signed=False)
    if modulus == 0:
        raise BadKey("malformed RSAPublicKey (zero modulus)")
    return modulus.bit_length()


def _element(data: bytes, pos: int) -> tuple[int, tuple[int, int]]:
    tag, (start, end, _) = _element_at(data, pos, len(data))
    return tag, (start, end)


def _element_at(data: bytes, pos: int, limit: int) -> tuple[int, tuple[int, int, int]]:
    """(tag, (content start, content end, next element)) of the DER element at ``pos``."""
    if pos + 2 > limit:
        raise BadKey("truncated DER key")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > limit:
            raise BadKey("malformed DER length")
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + length > limit:
        raise BadKey("truncated DER key")
    return tag, (pos, pos + length, pos + length)
