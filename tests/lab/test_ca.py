"""LabCA: certificates verify (or fail) with the stdlib ssl module exactly as the scanner will see them."""

from __future__ import annotations

import asyncio
import ssl
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from scanner.lab.ca import LabCA


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return LabCA(tmp_path_factory.mktemp("ca"))


def handshake(ca, issued, server_name, *, check_hostname=True):
    """Serve ``issued`` on 127.0.0.1 and connect with a client trusting only ca.pem.
    Returns the client's verification error (None when the handshake succeeded)."""
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(issued.cert_path, issued.key_path)
    client_ctx = ssl.create_default_context(cafile=str(ca.cert_path))
    client_ctx.check_hostname = check_hostname

    async def run():
        # the server side of a rejected handshake is expected: keep asyncio from printing it
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: None)

        async def serve(reader, writer):
            try:
                await reader.read(1)
            finally:
                writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        try:
            _, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=client_ctx, server_hostname=server_name)
            writer.close()
            return None
        except ssl.SSLCertVerificationError as exc:
            return exc.verify_message
        finally:
            server.close()

    return asyncio.run(asyncio.wait_for(run(), 5))


def load_leaf(issued):
    return x509.load_pem_x509_certificates(issued.cert_path.read_bytes())


def test_ca_pem_written(ca):
    cert = x509.load_pem_x509_certificate(ca.cert_path.read_bytes())
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_issued_chain_verifies(ca):
    issued = ca.issue(["mx1.example.test", "mx1-alt.example.test"])
    certs = load_leaf(issued)
    assert len(certs) == 2  # leaf then CA
    assert certs[1].subject == certs[0].issuer
    assert handshake(ca, issued, "mx1.example.test") is None
    assert handshake(ca, issued, "mx1-alt.example.test") is None


def test_wrong_hostname_fails(ca):
    issued = ca.issue(["mx1.example.test"])
    assert "mismatch" in handshake(ca, issued, "other.example.test").lower()


def test_ip_san(ca):
    issued = ca.issue(["mx.example.test", "127.0.1.5"])
    san = load_leaf(issued)[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.1.5"]
    assert san.get_values_for_type(x509.DNSName) == ["mx.example.test"]


def test_expired(ca):
    now = datetime.now(timezone.utc)
    issued = ca.issue(["old.example.test"], not_before=now - timedelta(days=100),
                      not_after=now - timedelta(days=1))
    assert "expired" in handshake(ca, issued, "old.example.test").lower()


def test_not_yet_valid(ca):
    now = datetime.now(timezone.utc)
    issued = ca.issue(["new.example.test"], not_before=now + timedelta(days=1),
                      not_after=now + timedelta(days=30))
    assert "not yet valid" in handshake(ca, issued, "new.example.test").lower()


def test_self_signed(ca):
    issued = ca.issue(["self.example.test"], self_signed=True)
    certs = load_leaf(issued)
    assert len(certs) == 1 and certs[0].issuer == certs[0].subject
    assert "self" in handshake(ca, issued, "self.example.test").lower()


@pytest.mark.parametrize("key,kind,bits", [
    ("ec256", ec.EllipticCurvePublicKey, 256),
    ("ec384", ec.EllipticCurvePublicKey, 384),
    ("rsa2048", rsa.RSAPublicKey, 2048),
    ("rsa1024", rsa.RSAPublicKey, 1024),
])
def test_key_types(ca, key, kind, bits):
    issued = ca.issue([f"{key}.example.test"], key=key)
    public = load_leaf(issued)[0].public_key()
    assert isinstance(public, kind) and public.key_size == bits


def test_rsa1024_still_serves(ca):
    """A weak key must reach the scanner (which then grades it), so the lab must be able to
    serve it; this OpenSSL's default security level may refuse, so lower it explicitly."""
    issued = ca.issue(["weak.example.test"], key="rsa1024")
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    server_ctx.load_cert_chain(issued.cert_path, issued.key_path)


def test_unknown_key_type(ca):
    with pytest.raises(ValueError):
        ca.issue(["x.example.test"], key="dsa")


def test_stem_names_files(ca):
    issued = ca.issue(["stem.example.test"], stem="mystem")
    assert issued.cert_path.name == "mystem.pem" and issued.key_path.name == "mystem.key"
    assert issued.key_path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
