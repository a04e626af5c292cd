"""A private certificate authority for the loopback lab.

Lab servers (SMTP, HTTPS) need certificates in every shape the scanner must judge:
trusted, expired, self-signed, wrong host name, weak key. Real ACME is out of the question
offline, so the lab mints them here from its own root; the scanner trusts that root via
``--ca-file <ca.pem>`` exactly like an operator's internal CA.

Everything is written as unencrypted PEM files because ``ssl.SSLContext.load_cert_chain``
(used by both aiosmtpd and the lab HTTPS server) only takes paths.

Serving a ``rsa1024`` certificate: OpenSSL 3 at its default security level refuses to load
it (``EE_KEY_TOO_SMALL``); the serving context must first ``set_ciphers("DEFAULT:@SECLEVEL=0")``
(level 1 also suffices for RSA-1024).
"""

from __future__ import annotations

import ipaddress
import itertools
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["IssuedCert", "LabCA", "KEY_TYPES"]

KEY_TYPES = ("ec256", "ec384", "rsa2048", "rsa1024")

# RSA key generation costs 50-500 ms; tests issue dozens of certificates, so reuse one
# key per size within the process. Lab keys protect nothing, sharing them is harmless.
_rsa_key_cache: dict[int, rsa.RSAPrivateKey] = {}
_rsa_lock = threading.Lock()


@dataclass(frozen=True)
class IssuedCert:
    """PEM files of one issued certificate.

    ``cert_path`` holds the leaf followed by the CA certificate for CA-issued certificates
    (so servers present the full chain), only the leaf for self-signed ones.
    """

    cert_path: Path
    key_path: Path


def _new_key(key: str):
    if key == "ec256":
        return ec.generate_private_key(ec.SECP256R1())
    if key == "ec384":
        return ec.generate_private_key(ec.SECP384R1())
    if key in ("rsa2048", "rsa1024"):
        bits = int(key[3:])
        with _rsa_lock:
            if bits not in _rsa_key_cache:
                # cryptography refuses sizes < 1024 but accepts 1024: fine for weak-key tests.
                _rsa_key_cache[bits] = rsa.generate_private_key(public_exponent=65537, key_size=bits)
            return _rsa_key_cache[bits]
    raise ValueError(f"unknown key type {key!r}; expected one of {', '.join(KEY_TYPES)}")


def _san_entries(names: Sequence[str]) -> list[x509.GeneralName]:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name.rstrip(".").lower()))
    return entries


def _pem_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class LabCA:
    """A root CA (EC P-256) living in ``directory``; ``issue`` writes leaf certificates there."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(timezone.utc)
        name = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mxaudit lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, "mxaudit lab root CA"),
        ])
        self._name = name
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=True,
                    crl_sign=True, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self._ca_pem = self.certificate.public_bytes(serialization.Encoding.PEM)
        self.cert_path = self.directory / "ca.pem"
        self.cert_path.write_bytes(self._ca_pem)

    def issue(
        self,
        names: Sequence[str],
        *,
        key: str = "ec256",
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        self_signed: bool = False,
        stem: str | None = None,
    ) -> IssuedCert:
        """Issue a server certificate for ``names`` (DNS names or IP literals) and write it.

        Expired or not-yet-valid certificates: pass the validity bounds. ``self_signed``
        makes the leaf its own issuer (not chained to the lab root).
        """
        if not names:
            raise ValueError("a certificate needs at least one name")
        now = datetime.now(timezone.utc)
        not_before = not_before or now - timedelta(days=1)
        not_after = not_after or now + timedelta(days=90)
        leaf_key = _new_key(key)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0].rstrip(".")[:64])])
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject if self_signed else self._name)
            .public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName(_san_entries(names)), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        )
        if not self_signed:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False
            )
        signer = leaf_key if self_signed else self._key
        cert = builder.sign(signer, hashes.SHA256())
        pem = cert.public_bytes(serialization.Encoding.PEM)
        if not self_signed:
            pem += self._ca_pem
        with self._lock:
            base = stem or f"{next(self._counter):03d}-{_safe(names[0])}"
        cert_path = self.directory / f"{base}.pem"
        key_path = self.directory / f"{base}.key"
        key_path.write_bytes(_pem_key(leaf_key))
        key_path.chmod(0o600)
        cert_path.write_bytes(pem)
        return IssuedCert(cert_path=cert_path, key_path=key_path)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "_", name)[:60] or "cert"


def tlsa_data(cert_path: Path, *, usage: int = 3, selector: int = 1, matching: int = 1,
              depth: int = 0) -> str:
    """The TLSA rdata ("3 1 1 <hex>", RFC 6698 2.1) for certificate ``depth`` of a PEM
    chain file: the lab's DANE records, computed from the certificate a server presents."""
    import hashlib

    certs = x509.load_pem_x509_certificates(Path(cert_path).read_bytes())
    cert = certs[depth]
    data = (cert.public_bytes(serialization.Encoding.DER) if selector == 0 else
            cert.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo))
    if matching == 1:
        data = hashlib.sha256(data).digest()
    elif matching == 2:
        data = hashlib.sha512(data).digest()
    return f"{usage} {selector} {matching} {data.hex()}"
