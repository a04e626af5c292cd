"""TLS for the SMTP probe: client contexts, certificate facts, trust verification, and the
weak-cipher ClientHello.

Why the certificate is never verified *during* the handshake: a failed verification would
abort the handshake and hide the version, cipher and certificate. The handshake runs with
CERT_NONE; trust is then judged separately on the DER chain with ``cryptography``'s
``x509.verification`` against the system store plus ``--ca-file``. That costs no second
TLS session. Trust is verified against a DNS name taken from the certificate itself and at
a time inside the leaf's validity, so name mismatch (smtp.cert_hostname) and expiry
(smtp.cert_expiry) stay separate findings from trust (smtp.cert_trusted).

Why the weak-cipher probe is a hand-built ClientHello: the local OpenSSL 3 cannot offer
RC4, 3DES or EXPORT suites at all (removed or in the legacy provider), so a probe through
``ssl`` would leave most of BOD 18-01 untested. Whether a server *accepts* a suite is
decided by its ServerHello, which needs no cipher implementation on our side: we send a
TLS 1.0-1.2 ClientHello offering only RC4, 3DES, NULL and EXPORT suites and read the first
record back (ServerHello: accepted, with the suite; alert or close: refused), then drop the
connection.
"""
from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import os
import ssl
import struct
import warnings
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509 import verification as xv

from scanner.evidence.smtp import Attempt, CertificateFacts, HandshakeAttempt

MAX_CHAIN = 5
LEGACY_OFFER = "TLS 1.0-1.1 only"


# ------------------------------------------------------------------ contexts

def modern_context() -> ssl.SSLContext:
    """TLS 1.2+ with the library's default suites; no verification during the handshake."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def legacy_context() -> ssl.SSLContext | None:
    """TLS 1.0/1.1 only at OpenSSL security level 0; None when the library cannot."""
    try:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        return ctx
    except (ssl.SSLError, ValueError):
        return None


def sni_for(host: str) -> str | None:
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        return host


# ------------------------------------------------------------------ certificates

def peer_chain_der(ssl_object: ssl.SSLObject) -> tuple[bytes, ...]:
    """The chain as presented, leaf first. Python 3.13 has get_unverified_chain(); 3.10-3.12
    expose it on the private _sslobj. Fallback: the leaf only."""
    inner = getattr(ssl_object, "_sslobj", None)
    getter = getattr(ssl_object, "get_unverified_chain", None) or getattr(
        inner, "get_unverified_chain", None)
    if getter is not None:
        try:
            certs = getter() or []
            ders = tuple(c if isinstance(c, bytes) else c.public_bytes(ssl._ssl.ENCODING_DER)
                         for c in certs[:MAX_CHAIN])
            if ders:
                return ders
        except Exception:  # private API: never let it break a probe
            pass
    leaf = ssl_object.getpeercert(binary_form=True)
    return (leaf,) if leaf else ()


def _key_facts(key) -> tuple[str, int]:
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    return type(key).__name__, 0


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat()


def certificate_facts(der: bytes) -> CertificateFacts:
    sha = hashlib.sha256(der).hexdigest()
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        return CertificateFacts(subject="", issuer="", sha256=sha,
                                signature_algorithm=f"unparsable: {exc}"[:120])
    dns: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = tuple(n.lower() for n in san.get_values_for_type(x509.DNSName))[:50]
        ips = tuple(str(a) for a in san.get_values_for_type(x509.IPAddress))[:20]
    except (x509.ExtensionNotFound, ValueError):
        pass
    try:
        cns = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        cn = str(cns[0].value) if cns else ""
    except ValueError:
        cn = ""
    try:
        key_type, bits = _key_facts(cert.public_key())
    except Exception:  # unsupported key algorithm
        key_type, bits = "unknown", 0
    try:
        sig = cert.signature_algorithm_oid._name
    except Exception:
        sig = cert.signature_algorithm_oid.dotted_string
    return CertificateFacts(
        subject=cert.subject.rfc4514_string()[:300], issuer=cert.issuer.rfc4514_string()[:300],
        dns_names=dns, ip_addresses=ips, common_name=cn[:255],
        not_before=_iso(cert.not_valid_before_utc), not_after=_iso(cert.not_valid_after_utc),
        key_type=key_type, key_bits=bits, signature_algorithm=sig, sha256=sha,
        self_issued=cert.subject == cert.issuer)


def dane_facts(chain: tuple[CertificateFacts, ...], ders: tuple[bytes, ...]) -> tuple[CertificateFacts, ...]:
    """``chain`` with what DANE matching needs (see CertificateFacts): SHA-512 of each
    certificate, SHA-256/512 of its SubjectPublicKeyInfo, and whether the next certificate
    presented issued it (name and signature: RFC 7671 5.2.2's chain from the leaf up to a
    DANE-TA trust anchor). Unparsable certificates keep empty digests."""
    certs: list[x509.Certificate | None] = []
    for der in ders:
        try:
            certs.append(x509.load_der_x509_certificate(der))
        except ValueError:
            certs.append(None)
    out = []
    for i, (facts, der, cert) in enumerate(zip(chain, ders, certs)):
        if cert is None:
            out.append(facts)
            continue
        try:
            spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
        except Exception:   # a key type cryptography cannot load
            spki = b""
        issuer = certs[i + 1] if i + 1 < len(certs) else None
        signed = None
        if issuer is not None:
            try:
                cert.verify_directly_issued_by(issuer)
                signed = True
            except Exception:    # InvalidSignature, ValueError, TypeError: not issued by it
                signed = False
        out.append(replace(facts, sha512=hashlib.sha512(der).hexdigest(),
                           spki_sha256=hashlib.sha256(spki).hexdigest() if spki else "",
                           spki_sha512=hashlib.sha512(spki).hexdigest() if spki else "",
                           signed_by_next=signed))
    return tuple(out)


def _pem_certificates(data: bytes) -> list[x509.Certificate]:
    """Every parsable certificate of a PEM bundle (one bad entry does not lose the rest)."""
    out = []
    for block in data.split(b"-----END CERTIFICATE-----"):
        start = block.find(b"-----BEGIN CERTIFICATE-----")
        if start < 0:
            continue
        try:
            with warnings.catch_warnings():   # old roots with non-positive serials
                warnings.simplefilter("ignore")
                out.append(x509.load_pem_x509_certificate(
                    block[start:] + b"-----END CERTIFICATE-----\n"))
        except ValueError:
            continue
    return out


class TrustStore:
    """The system store plus the operator's --ca-file; built once per scan."""

    def __init__(self, certs: list[x509.Certificate]) -> None:
        self.size = len(certs)
        self._store = xv.Store(certs) if certs else None

    @classmethod
    def load(cls, ca_file: Path | None) -> "TrustStore":
        paths = ssl.get_default_verify_paths()
        certs: list[x509.Certificate] = []
        for path in (os.environ.get(paths.openssl_cafile_env) or paths.cafile, ca_file):
            if path and Path(path).is_file():
                certs += _pem_certificates(Path(path).read_bytes())
        return cls(certs)

    def verify(self, chain: tuple[bytes, ...], now: datetime) -> tuple[bool | None, str]:
        """(trusted, reason). None when the question cannot be asked (no store, bad DER)."""
        if self._store is None:
            return None, "no trusted certificates available (system store empty, no --ca-file)"
        try:
            certs = [x509.load_der_x509_certificate(d) for d in chain]
        except ValueError as exc:
            return None, f"unparsable certificate: {exc}"
        leaf = certs[0]
        # Judge trust at an instant the leaf was valid (expiry is smtp.cert_expiry's
        # business): now, else the nearest end of its validity, when its issuers were valid
        # too in the ordinary case of a CA older than the leaf.
        at = min(max(now, leaf.not_valid_before_utc), leaf.not_valid_after_utc)
        try:
            verifier = (xv.PolicyBuilder().store(self._store).time(at)
                        .build_server_verifier(_subject_of(leaf)))
            verifier.verify(leaf, certs[1:])
        except xv.VerificationError as exc:
            return False, str(exc)[:300]
        except ValueError as exc:
            return False, f"unusable certificate: {exc}"[:300]
        return True, ""


def _subject_of(leaf: x509.Certificate):
    """A name the certificate itself claims: trust is judged apart from the MX name."""
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        for name in san.get_values_for_type(x509.DNSName):
            name = name.replace("*.", "wildcard.", 1) if name.startswith("*.") else name
            try:
                return xv.DNSName(name)
            except ValueError:
                continue
        for ip in san.get_values_for_type(x509.IPAddress):
            return xv.IPAddress(ip)
    except x509.ExtensionNotFound:
        pass
    return xv.DNSName("no-subject-alt-name.invalid")


# ------------------------------------------------------------------ weak-cipher hello

WEAK_SUITES: dict[int, str] = {
    # RC4
    0x0004: "RC4-MD5", 0x0005: "RC4-SHA", 0xC007: "ECDHE-ECDSA-RC4-SHA",
    0xC011: "ECDHE-RSA-RC4-SHA",
    # 3DES
    0x000A: "DES-CBC3-SHA", 0x0016: "EDH-RSA-DES-CBC3-SHA", 0x0013: "EDH-DSS-DES-CBC3-SHA",
    0xC008: "ECDHE-ECDSA-DES-CBC3-SHA", 0xC012: "ECDHE-RSA-DES-CBC3-SHA",
    # NULL
    0x0001: "NULL-MD5", 0x0002: "NULL-SHA", 0x003B: "NULL-SHA256",
    0xC006: "ECDHE-ECDSA-NULL-SHA", 0xC010: "ECDHE-RSA-NULL-SHA",
    # EXPORT
    0x0003: "EXP-RC4-MD5", 0x0006: "EXP-RC2-CBC-MD5", 0x0008: "EXP-DES-CBC-SHA",
    0x0014: "EXP-EDH-RSA-DES-CBC-SHA", 0x0011: "EXP-EDH-DSS-DES-CBC-SHA",
    0x0062: "EXP1024-DES-CBC-SHA", 0x0064: "EXP1024-RC4-SHA",
}
WEAK_OFFER = "RC4, 3DES, NULL and EXPORT suites (TLS 1.0-1.2)"
_VERSIONS = {0x0300: "SSLv3", 0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2"}
_ALERTS = {40: "handshake_failure", 70: "protocol_version", 71: "insufficient_security",
           47: "illegal_parameter", 80: "internal_error", 112: "unrecognized_name"}


def _ext(kind: int, body: bytes) -> bytes:
    return struct.pack("!HH", kind, len(body)) + body


def weak_client_hello(sni: str | None) -> bytes:
    suites = b"".join(struct.pack("!H", s) for s in WEAK_SUITES) + b"\x00\xff"  # + reneg SCSV
    groups = struct.pack("!HHH", 0x001D, 0x0017, 0x0018)
    sigalgs = struct.pack("!9H", 0x0403, 0x0503, 0x0804, 0x0805, 0x0401, 0x0501, 0x0601,
                          0x0201, 0x0203)
    exts = _ext(0x000A, struct.pack("!H", len(groups)) + groups)
    exts += _ext(0x000B, b"\x01\x00")
    exts += _ext(0x000D, struct.pack("!H", len(sigalgs)) + sigalgs)
    if sni:
        name = sni.encode("idna")
        entry = b"\x00" + struct.pack("!H", len(name)) + name
        exts = _ext(0x0000, struct.pack("!H", len(entry)) + entry) + exts
    body = (b"\x03\x03" + os.urandom(32) + b"\x00" + struct.pack("!H", len(suites)) + suites
            + b"\x01\x00" + struct.pack("!H", len(exts)) + exts)
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake


def parse_hello_reply(record_type: int, body: bytes) -> HandshakeAttempt:
    """Judge the first record a server sent back to ``weak_client_hello``."""
    if record_type == 0x15 and len(body) >= 2:
        alert = _ALERTS.get(body[1], str(body[1]))
        return HandshakeAttempt(Attempt.REFUSED, offered=WEAK_OFFER, detail=f"alert {alert}")
    if record_type != 0x16 or len(body) < 4 + 2 + 32 + 1 or body[0] != 0x02:
        return HandshakeAttempt(Attempt.ERROR, offered=WEAK_OFFER,
                                detail=f"unexpected reply to ClientHello (record type {record_type})")
    version = struct.unpack("!H", body[4:6])[0]
    sid_len = body[38]
    at = 39 + sid_len
    if len(body) < at + 2:
        return HandshakeAttempt(Attempt.ERROR, offered=WEAK_OFFER, detail="truncated ServerHello")
    suite = struct.unpack("!H", body[at:at + 2])[0]
    name = WEAK_SUITES.get(suite)
    if name is None:
        return HandshakeAttempt(Attempt.ERROR, offered=WEAK_OFFER,
                                detail=f"server chose suite 0x{suite:04x}, which was not offered")
    return HandshakeAttempt(Attempt.ACCEPTED, version=_VERSIONS.get(version, hex(version)),
                            cipher=name, offered=WEAK_OFFER)


async def weak_hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     sni: str | None, timeout: float) -> HandshakeAttempt:
    """Send the weak ClientHello on a (plain, post-STARTTLS) stream and read the answer."""
    writer.write(weak_client_hello(sni))
    try:
        async with asyncio.timeout(timeout):
            await writer.drain()
            header = await reader.readexactly(5)
            length = struct.unpack("!H", header[3:5])[0]
            body = await reader.readexactly(min(length, 2048))
    except (asyncio.IncompleteReadError, ConnectionError) as exc:
        return HandshakeAttempt(Attempt.REFUSED, offered=WEAK_OFFER,
                                detail=f"connection closed at the hello ({type(exc).__name__})")
    except TimeoutError:
        return HandshakeAttempt(Attempt.ERROR, offered=WEAK_OFFER,
                                detail=f"no answer to ClientHello within {timeout:g}s")
    return parse_hello_reply(header[0], body)
