"""The real-Postfix peer behaves as the scanner's integration tests expect.

Only greetings, EHLO, STARTTLS, a refused MAIL FROM and QUIT are sent: never
RCPT, DATA or AUTH.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import socket
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.peers.postfix import (
    HOSTNAME,
    IP,
    PostfixPeer,
    postfix_unavailable_reason,
    start_postfix,
)

pytestmark = pytest.mark.postfix

CLIENT_NAME = "scanner.mxaudit.test"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_throwaway_ca(directory: Path, hostname: str) -> tuple[Path, Path, Path]:
    """Write ca.pem, leaf.pem, leaf.key (EC P-256, SAN=hostname); return (ca, cert, key)."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("mxaudit throwaway test CA"))
        .issuer_name(_name("mxaudit throwaway test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name(hostname))
        .issuer_name(ca_cert.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "leaf.pem", directory / "leaf.key"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(_pem_key(leaf_key))
    key_path.chmod(0o600)
    return ca_path, cert_path, key_path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_throwaway_ca(tmp_path_factory.mktemp("postfix-pki"), HOSTNAME)


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory, pki: tuple[Path, Path, Path]):
    reason = postfix_unavailable_reason()
    ca, cert, key = pki
    started = start_postfix(tmp_path_factory.mktemp("postfix-peer"), cert, key, ca)
    if started is None:
        pytest.skip(reason or "Postfix peer unavailable")
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def tls_ctx(pki: tuple[Path, Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki[0]))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def _smtp(port: int) -> smtplib.SMTP:
    s = smtplib.SMTP(IP, port, local_hostname=CLIENT_NAME, timeout=15)
    # starttls() verifies against self._host; the peer's cert names its host, not its IP.
    s._host = HOSTNAME  # noqa: SLF001
    return s


def test_port_25_greets_and_offers_starttls_but_no_auth(peer: PostfixPeer, tls_ctx: ssl.SSLContext) -> None:
    s = _smtp(peer.ports["smtp"])
    try:
        code, _ = s.ehlo()
        assert code == 250
        assert s.has_extn("starttls")
        assert not s.has_extn("auth")
        code, _ = s.starttls(context=tls_ctx)
        assert code == 220
        assert s.sock.version() in ("TLSv1.2", "TLSv1.3")
        s.ehlo()
        assert not s.has_extn("starttls")
    finally:
        s.quit()


def test_port_25_greeting_text(peer: PostfixPeer) -> None:
    with socket.create_connection((peer.ip, peer.ports["smtp"]), timeout=15) as sock:
        greeting = sock.makefile("rb").readline()
        sock.sendall(b"QUIT\r\n")
    assert greeting.startswith(b"220 " + HOSTNAME.encode() + b" ESMTP")


def test_port_587_refuses_mail_before_starttls(peer: PostfixPeer) -> None:
    s = _smtp(peer.ports["submission"])
    try:
        s.ehlo()
        assert s.has_extn("starttls")
        assert not s.has_extn("auth")
        code, msg = s.mail("probe@scanner.mxaudit.test")
        assert code == 530, msg
    finally:
        s.quit()


def test_port_587_offers_auth_plain_login_after_starttls(peer: PostfixPeer, tls_ctx: ssl.SSLContext) -> None:
    s = _smtp(peer.ports["submission"])
    try:
        s.ehlo()
        code, _ = s.starttls(context=tls_ctx)
        assert code == 220
        cert = s.sock.getpeercert()
        assert ("DNS", HOSTNAME) in cert["subjectAltName"]
        s.ehlo()
        assert s.has_extn("auth")
        assert set(s.esmtp_features["auth"].upper().split()) == {"PLAIN", "LOGIN"}
    finally:
        s.quit()


def test_port_465_implicit_tls_verified_and_greets(peer: PostfixPeer, tls_ctx: ssl.SSLContext) -> None:
    raw = socket.create_connection((peer.ip, peer.ports["submissions"]), timeout=15)
    with tls_ctx.wrap_socket(raw, server_hostname=HOSTNAME) as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        f = tls.makefile("rb")
        greeting = f.readline()
        assert greeting.startswith(b"220 " + HOSTNAME.encode())
        tls.sendall(b"EHLO " + CLIENT_NAME.encode() + b"\r\n")
        lines = []
        while True:
            line = f.readline()
            lines.append(line)
            if line[3:4] != b"-":
                break
        assert lines[0].startswith(b"250")
        assert any(line[4:].upper().startswith(b"AUTH PLAIN LOGIN") for line in lines)
        assert not any(b"STARTTLS" in line for line in lines)
        tls.sendall(b"QUIT\r\n")
        assert f.readline().startswith(b"221")


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
def test_tls_1_1_is_refused(peer: PostfixPeer, pki: tuple[Path, Path, Path]) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=str(pki[0]))
    try:
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        pytest.skip("local OpenSSL cannot even offer TLS 1.1")
    raw = socket.create_connection((peer.ip, peer.ports["submissions"]), timeout=15)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        with ctx.wrap_socket(raw, server_hostname=HOSTNAME):
            pass
    raw.close()


def test_only_127_0_2_25_listens(peer: PostfixPeer) -> None:
    # Nothing of the peer on 127.0.0.1: a connection there must not reach Postfix.
    for port in peer.ports.values():
        with socket.socket() as sock:
            sock.settimeout(2)
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                continue
            sock.sendall(b"QUIT\r\n")
            data = sock.recv(200)
            assert HOSTNAME.encode() not in data, f"peer answers on 127.0.0.1:{port}"


def test_stop_then_restart(peer: PostfixPeer, pki: tuple[Path, Path, Path]) -> None:
    """Starting again on a running instance is harmless; stop really stops; start works again."""
    ca, cert, key = pki
    again = start_postfix(peer.workdir, cert, key, ca)   # already running: reload
    assert again is not None and again.is_running()
    again.stop()
    assert not peer.is_running()
    for port in peer.ports.values():
        with socket.socket() as sock:
            sock.settimeout(2)
            assert sock.connect_ex((peer.ip, port)) != 0, f"port {port} still open after stop"
    restarted = start_postfix(peer.workdir, cert, key, ca)
    assert restarted is not None and restarted.is_running()   # the fixture stops it at the end
