"""`mxaudit verify-dkim` against keys published in the lab DNS: pass, tampered, unknown key."""
from __future__ import annotations

import argparse
import base64

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from scanner.commands import verify_dkim
from scanner.errors import UsageError
from tests.collect.records_lab import txt_strings

pytestmark = pytest.mark.lab
MESSAGE = (b"From: Alice <alice@%s>\r\nTo: bob@example.test\r\nSubject: hello\r\n"
           b"Date: Mon, 01 Jan 2024 00:00:00 +0000\r\nMessage-ID: <1@x>\r\n\r\nHello Bob.\r\n")


@pytest.fixture(scope="module")
def signer(lab):
    from tests.conftest import new_zone_name
    z = new_zone_name("dk")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    lab.dns.add_zone(z, f"sel._domainkey TXT {txt_strings('v=DKIM1; k=rsa; p=' + base64.b64encode(der).decode())}\n")

    def sign(message: bytes, selector=b"sel") -> bytes:
        return dkim.sign(message, selector, z.encode(), pem,
                         include_headers=[b"from", b"to", b"subject"]) + message
    return z, sign


def verify(lab, tmp_path, capsys, data: bytes):
    path = tmp_path / "m.eml"
    path.write_bytes(data)
    parser = argparse.ArgumentParser()
    verify_dkim.add_parser(parser.add_subparsers())
    args = parser.parse_args(["verify-dkim", str(path), "--nameserver", lab.nameserver,
                              "--timeout", "2"])
    code = args.func(args)
    return code, capsys.readouterr().out.strip().splitlines()


def test_valid_signature_passes(lab, signer, tmp_path, capsys):
    z, sign = signer
    code, lines = verify(lab, tmp_path, capsys, sign(MESSAGE % z.encode()))
    assert code == 0
    assert lines == [f"signature 1: d={z} s=sel: pass; 2048 bits"]


def test_tampered_body_fails(lab, signer, tmp_path, capsys):
    z, sign = signer
    signed = sign(MESSAGE % z.encode()).replace(b"Hello Bob.", b"Hello Eve.")
    code, lines = verify(lab, tmp_path, capsys, signed)
    assert code == 1
    assert lines[0].startswith(f"signature 1: d={z} s=sel: fail (body hash mismatch")


def test_unknown_key_fails(lab, signer, tmp_path, capsys):
    z, sign = signer
    code, lines = verify(lab, tmp_path, capsys, sign(MESSAGE % z.encode(), selector=b"missing"))
    assert code == 1
    assert lines[0].startswith(f"signature 1: d={z} s=missing: fail (")
    assert "key size unknown" in lines[0]


def test_one_bad_signature_of_two_fails_the_message(lab, signer, tmp_path, capsys):
    z, sign = signer
    good = sign(MESSAGE % z.encode())
    both = sign(good, selector=b"missing")        # outer signature with an unknown key
    code, lines = verify(lab, tmp_path, capsys, both)
    assert code == 1
    assert [line.split(": ")[1:3] for line in lines] == [
        [f"d={z} s=missing", lines[0].split(": ")[2]], [f"d={z} s=sel", "pass; 2048 bits"]]
    assert "fail" in lines[0]


def test_unsigned_message_and_unreadable_file(lab, tmp_path, capsys):
    code, lines = verify(lab, tmp_path, capsys, MESSAGE % b"example.test")
    assert (code, lines) == (1, ["no DKIM-Signature header found"])
    with pytest.raises(UsageError):
        verify_dkim.run(argparse.Namespace(message=str(tmp_path / "nope.eml"), nameserver=[],
                                           timeout=1.0))


def test_ed25519_signature_passes(lab, tmp_path, capsys):
    """RFC 8463 ed25519-sha256 signatures verify (dkimpy needs PyNaCl for them)."""
    from nacl.encoding import Base64Encoder
    from nacl.signing import SigningKey

    from tests.conftest import new_zone_name

    z = new_zone_name("ed")
    key = SigningKey.generate()
    public = key.verify_key.encode(encoder=Base64Encoder).decode()
    lab.dns.add_zone(z, f'ed._domainkey TXT "v=DKIM1; k=ed25519; p={public}"\n')
    message = MESSAGE % z.encode()
    signed = dkim.sign(message, b"ed", z.encode(), key.encode(encoder=Base64Encoder),
                       signature_algorithm=b"ed25519-sha256",
                       include_headers=[b"from", b"to", b"subject"]) + message
    code, lines = verify(lab, tmp_path, capsys, signed)
    assert code == 0, lines
    assert lines[0].startswith(f"signature 1: d={z} s=ed: pass")
