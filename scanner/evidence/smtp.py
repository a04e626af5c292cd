"""Evidence of SMTP sessions, one per (MX host, IP, port). Filled in by the SMTP probe.

A probe is up to three connections to one endpoint (see scanner/collect/smtp.py):

1. the *main* session: greeting, EHLO, (587: MAIL FROM in clear, RSET), STARTTLS or
   implicit TLS with a modern client (TLS 1.2+, certificate NOT verified during the
   handshake so the facts are always recorded), EHLO again, QUIT;
2. a *legacy* handshake offering only TLS 1.0/1.1 (`legacy`);
3. a *weak-cipher* hello offering only RC4/3DES/NULL/EXPORT suites (`weak_cipher`).

Everything here is plain data: no judgement (that is scanner/checks/smtp.py), small
(transcript and replies are bounded), and serialisable by scanner/serde.py.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

ROLES = ("smtp", "submission", "submissions")


@dataclass(frozen=True)
class PortSpec:
    """A port and how to speak to it.

    smtp: STARTTLS, opportunistic (MX port 25); submission: STARTTLS, required (587);
    submissions: implicit TLS (465, RFC 8314).
    """

    port: int
    role: str

    def __str__(self) -> str:
        return f"{self.port}:{self.role}"


DEFAULT_PORTS = (PortSpec(25, "smtp"), PortSpec(465, "submissions"), PortSpec(587, "submission"))


class Failure(str, enum.Enum):
    """Why a connection, a session or a handshake stopped. CHECKS.md maps these to
    `fail` (the server said no) or `error` (we could not find out)."""

    REFUSED = "refused"              # TCP connection refused (RST to SYN)
    TIMEOUT = "timeout"              # a step or the probe deadline ran out (tarpit)
    RESET = "reset"                  # the peer reset or closed the connection mid-session
    UNREACHABLE = "unreachable"      # other socket errors (no route, ...)
    BAD_GREETING = "bad_greeting"    # a greeting other than 220 (e.g. 554)
    PROTOCOL = "protocol"            # unparsable reply, endless line, oversized reply
    TLS = "tls"                      # the TLS handshake failed (alert, bad record, close)
    REJECTED = "rejected"            # the server answered a command with an error (STARTTLS 454)
    TRANSIENT = "transient"          # a transient refusal: a 4yz greeting, or 421 at any step
    #                                  (RFC 5321 4.2.5: "try again later"), after one retry

    def __str__(self) -> str:
        return self.value


class Attempt(str, enum.Enum):
    """The end of an extra handshake (legacy TLS, weak ciphers)."""

    ACCEPTED = "accepted"      # the server negotiated what was offered
    REFUSED = "refused"        # alert, or the connection closed at the hello
    ERROR = "error"            # could not get as far as the hello (timeout, reset before it)
    NOT_TESTED = "not_tested"  # not attempted (e.g. the endpoint offers no TLS at all)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class CertificateFacts:
    """One certificate of the presented chain, as seen (never judged here)."""

    subject: str                 # RFC 4514 string
    issuer: str
    dns_names: tuple[str, ...] = ()   # subjectAltName dNSName entries, lower case
    ip_addresses: tuple[str, ...] = ()
    common_name: str = ""
    not_before: str = ""         # ISO 8601 UTC
    not_after: str = ""
    key_type: str = ""           # "RSA", "EC", "Ed25519", "Ed448", "DSA", other class name
    key_bits: int = 0            # RSA modulus bits; EC curve size; Ed25519 256
    signature_algorithm: str = ""   # e.g. "sha256WithRSAEncryption", "ecdsa-with-SHA256"
    sha256: str = ""             # fingerprint of the DER encoding, hex
    self_issued: bool = False    # subject == issuer


@dataclass(frozen=True)
class TlsFacts:
    """One TLS handshake: what was negotiated and presented, and whether it verified."""

    completed: bool
    version: str = ""            # "TLSv1.3", "TLSv1.2", "TLSv1", ...
    cipher: str = ""             # OpenSSL name of the negotiated suite
    chain: tuple[CertificateFacts, ...] = ()   # leaf first, as presented (bounded)
    trusted: bool | None = None  # chain verified against system store + --ca-file (name ignored)
    trust_error: str = ""
    failure: Failure | None = None
    error: str = ""              # short reason when not completed

    @property
    def leaf(self) -> CertificateFacts | None:
        return self.chain[0] if self.chain else None


@dataclass(frozen=True)
class HandshakeAttempt:
    """An extra handshake offering only legacy versions or only weak suites."""

    outcome: Attempt
    version: str = ""            # what the server picked, when accepted
    cipher: str = ""
    offered: str = ""            # what was offered, for the report ("TLS 1.0-1.1", suites)
    detail: str = ""             # alert / error text, "not testable ..." and the like
    # Filled only when the main (modern) handshake failed and this one completed, so the
    # certificate of a TLS-1.0-only server is still recorded and judged.
    chain: tuple[CertificateFacts, ...] = ()
    trusted: bool | None = None
    trust_error: str = ""
    # Implicit-TLS port whose modern handshake failed: the greeting read over this session,
    # so a TLS-1.0-only submissions server still counts as reachable.
    greeting_code: int | None = None


@dataclass(frozen=True)
class SmtpProbe:
    host: str
    ip: str
    port: int
    role: str     # "smtp" | "submission" | "submissions"
    connected: bool = False             # the TCP connection was established
    failure: Failure | None = None      # why the main session stopped early (None: ran to QUIT)
    error: str = ""                     # short detail of the failure
    greeting_code: int | None = None
    greeting: str = ""                  # first greeting line, truncated
    ehlo_code: int | None = None        # final reply to EHLO (or HELO) before TLS
    used_helo: bool = False             # EHLO refused, HELO used instead (no extensions)
    ehlo_refused: int | None = None     # the reply to EHLO when HELO was used instead
    extensions: tuple[str, ...] = ()    # EHLO keywords+params before TLS (upper-cased keyword)
    starttls_code: int | None = None    # the reply to STARTTLS, when it was sent
    tls: TlsFacts | None = None         # the main handshake (STARTTLS or implicit)
    extensions_tls: tuple[str, ...] = ()   # EHLO after TLS
    auth_before_tls: tuple[str, ...] = ()  # AUTH mechanisms in the clear EHLO (upper case)
    auth_after_tls: tuple[str, ...] = ()
    mail_from_code: int | None = None   # submission: reply to MAIL FROM before TLS
    legacy: HandshakeAttempt | None = None
    weak_cipher: HandshakeAttempt | None = None
    tls_sessions: int = 0               # TLS handshakes attempted (ClientHellos sent)
    connections: int = 0                # TCP connections opened for this probe
    transcript: tuple[str, ...] = ()    # "C: EHLO ..." / "S: 250 ..." lines, bounded
    # A transient refusal (4yz greeting, 421 later) of the first attempt, quoted; the probe was
    # then redone after ``retried_after`` seconds (None: not redone, e.g. no time was left).
    # The fields above are the last attempt's.
    transient: str = ""
    retried_after: float | None = None
    # The scan-environment note (env.ipv6, env.port25) that kept this endpoint from being
    # probed (``connections`` 0), or that explains why its connection failed; ``error`` says how.
    environment: str = ""
    # STARTTLS ports: bytes the server sent after its 220 to STARTTLS and before the TLS
    # handshake, on any of the probe's connections ("N bytes: sample", escaped); discarded,
    # never read as post-TLS replies (RFC 3207 4.2, the CVE-2011-0411 class)
    starttls_injection: str = ""

    @property
    def starttls_offered(self) -> bool:
        return any(e.split(" ", 1)[0] == "STARTTLS" for e in self.extensions)
