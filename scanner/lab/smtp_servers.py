"""Lab SMTP servers: well-behaved and hostile MX hosts on loopback, for tests and the demo.

API::

    from scanner.lab.smtp_servers import start_smtp_host, BEHAVIOURS

    host = start_smtp_host(world, ip, "mx1.example.test", behaviour="good", cert=issued)
    host.ports                 # {"smtp": P1, "submissions": P2, "submission": P3} (world.ports)
    host.connections           # {(ip, port): accepted TCP connections}, live counter
    host.connections_on("smtp")  # the same, by role
    world.call(host.stop())    # optional: the world stops every host it registered

``start_smtp_host`` is called from test (non-lab) threads; it starts the three listeners on
the lab loop (``world.call``) bound to ``ip`` and the world's three SMTP ports, and
registers ``stop`` with the world. ``cert`` is an ``IssuedCert`` from ``world.ca.issue``
(default: a fresh EC P-256 certificate for ``hostname`` from the lab CA); pass an expired,
self-signed, wrong-name or rsa1024 certificate to get those servers.

Behaviours (``BEHAVIOURS``):

- ``good``: aiosmtpd; STARTTLS on smtp and submission, implicit TLS on submissions; AUTH
  PLAIN/LOGIN only after TLS; submission refuses MAIL FROM before STARTTLS (530); TLS 1.2+.
- ``no_starttls``: aiosmtpd without STARTTLS (submissions still TLS).
- ``auth_before_tls``: like good, but AUTH PLAIN LOGIN is advertised in the clear EHLO.
- ``mail_in_clear``: like good, but submission accepts MAIL FROM before STARTTLS.
- ``tls10_only``: like good, TLS 1.0 only (security level 0).
- ``weak_cipher``: like good, and NULL suites are accepted when a client offers only them
  (the only weak suites this machine's OpenSSL can serve).
- transient refusals (RFC 5321 4.2.5), aiosmtpd otherwise ``good``: ``greet_421`` (every
  connection greeted with 421 and closed; on submissions after the TLS handshake),
  ``greet_421_once`` (only the first connection on each port), ``ehlo_421_once`` (the first
  EHLO on each port answered 421, the connection closed), ``mail_451`` (submission: MAIL
  FROM before STARTTLS answered 451), ``throttle`` (421 to a connection beyond
  ``max_concurrent`` open ones, or beyond ``max_per_window`` in ``window`` seconds, per host
  across its ports: a provider's per-client limits; ``host.refused`` counts them and
  ``host.peak`` is the most simultaneous connections it saw).
- raw asyncio servers for what aiosmtpd cannot do: ``tarpit`` (accept, say nothing),
  ``greet_554``, ``reset`` (RST once the client waits for the greeting / TLS hello), ``starttls_454`` (advertise STARTTLS,
  answer 454), ``endless_line`` (a greeting line that never ends), ``huge_reply`` (a 1 MB
  EHLO reply), ``close_mid_handshake`` (220 to STARTTLS, then close when the ClientHello
  arrives; on submissions: close at the ClientHello), ``hostile_greeting`` (a 554 greeting
  whose text carries ESC/OSC sequences, C1 controls, a bidi override, rich markup and an
  emoji code: ``HOSTILE_GREETING``; what a terminal must never interpret), ``starttls_421``
  (advertise STARTTLS, answer 421), ``ehlo_451`` (EHLO answered 451, HELO accepted),
  ``starttls_inject`` (the 220 to STARTTLS comes in one write with ``250-...``/``250 AUTH
  PLAIN LOGIN`` behind it, as a man in the middle would inject them; then a real TLS
  handshake and an honest post-TLS EHLO without AUTH: CVE-2011-0411 seen from the client).
"""
from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import struct
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, syntax

from scanner.lab.ca import IssuedCert

__all__ = ["BEHAVIOURS", "LabSmtpHost", "start_smtp_host"]

AIOSMTPD_BEHAVIOURS = ("good", "no_starttls", "auth_before_tls", "mail_in_clear",
                       "tls10_only", "weak_cipher", "greet_421", "greet_421_once",
                       "ehlo_421_once", "mail_451", "throttle")
RAW_BEHAVIOURS = ("tarpit", "greet_554", "reset", "starttls_454", "endless_line",
                  "huge_reply", "close_mid_handshake", "hostile_greeting", "starttls_421",
                  "ehlo_451", "starttls_inject")
HOSTILE_GREETING = ("554 5.7.1 \x1b[2J\x1b[H\x1b]0;pwned\x07 \x9b31m [bold green]PASS[/bold green] "
                    "[link=file:///etc/passwd]x[/link] :warning: \u202eevil\r\n").encode()
REFUSAL_421 = "421 4.7.0 lab: too many connections, try again later"
BEHAVIOURS = AIOSMTPD_BEHAVIOURS + RAW_BEHAVIOURS
ROLES = ("smtp", "submissions", "submission")


def server_tls_context(cert: IssuedCert, behaviour: str = "good") -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.load_cert_chain(cert.cert_path, cert.key_path)
    except ssl.SSLError:   # e.g. an rsa1024 key (EE_KEY_TOO_SMALL): serve it anyway
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.load_cert_chain(cert.cert_path, cert.key_path)
    if behaviour == "tls10_only":
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1
    elif behaviour == "weak_cipher":
        ctx.set_ciphers("HIGH:eNULL:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    else:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


class _RefuseAll:
    """aiosmtpd handler: accepts envelopes in principle, the scanner never sends DATA."""

    async def handle_DATA(self, server, session, envelope):  # pragma: no cover
        return "554 lab server accepts no mail"


def _deny(server, session, envelope, mechanism, auth_data) -> AuthResult:
    return AuthResult(success=False, handled=False)


class _LabSMTP(SMTP):
    """aiosmtpd with the lab's transient refusals. A connection counts as open from its
    ``connection_made`` (after the handshake on an implicit-TLS port) to its
    ``connection_lost``; a refused one is greeted with 421 and closed at once."""

    def __init__(self, *args, lab: "LabSmtpHost", role: str, **kw) -> None:
        super().__init__(*args, **kw)
        self._lab, self._role = lab, role
        self._counted = self._refused = False

    def connection_made(self, transport) -> None:
        lab = self._lab
        if not self._counted:              # the connection itself, not STARTTLS's new layer
            self._counted = True
            lab.open += 1
            lab.peak = max(lab.peak, lab.open)
            if lab._refuses(self._role):
                lab.refused += 1
                self._refused = True
                transport.write(f"{REFUSAL_421}\r\n".encode())
                transport.close()
                return
        super().connection_made(transport)

    @syntax("EHLO hostname")
    async def smtp_EHLO(self, hostname: str):
        if (self._lab.behaviour == "ehlo_421_once" and not self._tls_protocol
                and self._lab._first(("ehlo", self._role))):
            await self.push(REFUSAL_421)
            self._handler_coroutine.cancel()
            self.transport.close()
            return
        await super().smtp_EHLO(hostname)

    @syntax("MAIL FROM: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_MAIL(self, arg):
        if self._lab.behaviour == "mail_451" and not self._tls_protocol:
            await self.push("451 4.3.0 lab: try again later")
            return
        await super().smtp_MAIL(arg)

    def eof_received(self):
        return False if self._refused else super().eof_received()

    def connection_lost(self, error) -> None:
        if self._counted:
            self._counted = False
            self._lab.open -= 1
        if not self._refused:
            super().connection_lost(error)


@dataclass
class LabSmtpHost:
    ip: str
    hostname: str
    behaviour: str
    ports: dict[str, int]
    cert: IssuedCert
    connections: Counter = field(default_factory=Counter)
    max_concurrent: int = 0          # throttle: 421 beyond this many open connections (0: no limit)
    max_per_window: int = 0          # throttle: 421 beyond this many connections per window
    window: float = 60.0
    refused: int = 0                 # connections answered 421
    open: int = 0                    # connections open now (aiosmtpd behaviours)
    peak: int = 0                    # the most open at once
    _firsts: set = field(default_factory=set)
    _recent: list = field(default_factory=list)
    _servers: list[asyncio.base_events.Server] = field(default_factory=list)
    _transports: set[Any] = field(default_factory=set)
    _protocols: list[SMTP] = field(default_factory=list)

    def connections_on(self, role: str) -> int:
        return self.connections[(self.ip, self.ports[role])]

    def _first(self, key: object) -> bool:
        """True the first time ``key`` is asked about (per host)."""
        if key in self._firsts:
            return False
        self._firsts.add(key)
        return True

    def _refuses(self, role: str) -> bool:
        """Whether a connection arriving now (already counted in ``open``) is refused."""
        b = self.behaviour
        if b == "greet_421":
            return True
        if b == "greet_421_once":
            return self._first(("greet", role))
        if b != "throttle":
            return False
        now = asyncio.get_running_loop().time()
        self._recent = [t for t in self._recent if now - t < self.window] + [now]
        return ((self.max_concurrent and self.open > self.max_concurrent)
                or (self.max_per_window and len(self._recent) > self.max_per_window))

    async def start(self) -> None:
        # aiosmtpd logs every aborted TLS handshake with a traceback: hostile probes are the point
        logging.getLogger("mail.log").setLevel(logging.CRITICAL)
        for role in ROLES:
            port = self.ports[role]
            if self.behaviour in AIOSMTPD_BEHAVIOURS:
                server = await self._start_aiosmtpd(role, port)
            else:
                server = await asyncio.start_server(
                    lambda r, w, port=port, role=role: self._raw(r, w, port, role),
                    self.ip, port, reuse_address=True)
            self._servers.append(server)

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for transport in list(self._transports):
            transport.abort()
        for proto in self._protocols:   # aiosmtpd sessions still open
            if proto.transport is not None:
                proto.transport.abort()
        self._protocols.clear()
        for server in self._servers:
            try:
                await asyncio.wait_for(server.wait_closed(), 2)
            except (TimeoutError, asyncio.TimeoutError):
                pass
        self._servers.clear()

    # ---------------------------------------------------------- aiosmtpd
    async def _start_aiosmtpd(self, role: str, port: int):
        tls = server_tls_context(self.cert, self.behaviour)
        loop = asyncio.get_running_loop()
        implicit = role == "submissions"

        def factory():
            self.connections[(self.ip, port)] += 1
            proto = _LabSMTP(
                _RefuseAll(), hostname=self.hostname, ident="lab ESMTP",
                tls_context=None if implicit or self.behaviour == "no_starttls" else tls,
                require_starttls=(role == "submission"
                                  and self.behaviour not in ("mail_in_clear", "mail_451")),
                auth_require_tls=not implicit and self.behaviour != "auth_before_tls",
                authenticator=_deny, timeout=30, loop=loop, lab=self, role=role)
            self._protocols.append(proto)
            return proto

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return await loop.create_server(factory, self.ip, port, reuse_address=True,
                                            ssl=tls if implicit else None)

    # ---------------------------------------------------------- raw hostile servers
    async def _raw(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   port: int, role: str) -> None:
        self.connections[(self.ip, port)] += 1
        self._transports.add(writer.transport)
        try:
            await asyncio.wait_for(self._behave(reader, writer, role), 30)
        except Exception:
            pass
        finally:
            self._transports.discard(writer.transport)
            writer.transport.abort()

    async def _behave(self, reader, writer, role: str) -> None:
        b = self.behaviour
        if b == "tarpit":
            await reader.read()          # until the client gives up
            return
        if b == "reset":
            # RST once the client surely sits in its first read (greeting, or TLS hello on
            # submissions), so the client sees "reset" and not a racy failed connect
            try:
                await asyncio.wait_for(reader.read(5), 0.05)
            except (TimeoutError, asyncio.TimeoutError):
                pass
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return                       # abort() with linger 0 sends RST
        if b == "close_mid_handshake" and role == "submissions":
            await reader.read(5)         # the ClientHello's record header, then hang up
            return
        if b == "endless_line":
            writer.write(b"220-")
            for _ in range(2000):        # ~2 MB, never a newline
                writer.write(b"x" * 1024)
                await writer.drain()
            return
        if role == "submissions":        # the remaining behaviours speak SMTP in clear
            return
        if b in ("greet_554", "hostile_greeting"):
            writer.write(HOSTILE_GREETING if b == "hostile_greeting"
                         else b"554 5.7.1 lab: no service for you\r\n")
            await writer.drain()
            await reader.read(1024)
            return
        writer.write(f"220 {self.hostname} lab ESMTP\r\n".encode())
        await writer.drain()
        tls = False
        while True:
            line = await reader.readline()
            if not line:
                return
            verb = line.decode("ascii", "replace").strip().split(" ", 1)[0].upper()
            if verb == "EHLO" and b == "ehlo_451":
                writer.write(b"451 4.3.0 lab: EHLO not available now, try again later\r\n")
            elif verb == "HELO" and b == "ehlo_451":
                writer.write(f"250 {self.hostname}\r\n".encode())
            elif verb in ("EHLO", "HELO"):
                if b == "starttls_inject":
                    last = "SIZE 1000000" if tls else "STARTTLS"
                    writer.write(f"250-{self.hostname}\r\n250 {last}\r\n".encode())
                elif b == "huge_reply":
                    chunk = b"250-" + b"y" * 1000 + b"\r\n"
                    for _ in range(1024):
                        writer.write(chunk)
                        await writer.drain()
                    writer.write(b"250 OK\r\n")
                else:
                    writer.write(f"250-{self.hostname}\r\n250-PIPELINING\r\n250 STARTTLS\r\n"
                                 .encode())
            elif verb == "STARTTLS" and b == "starttls_inject" and not tls:
                writer.write(b"220 2.0.0 Ready to start TLS\r\n250-injected.example\r\n"
                             b"250 AUTH PLAIN LOGIN\r\n")
                await writer.drain()
                await writer.start_tls(server_tls_context(self.cert))
                tls = True
                continue
            elif verb == "STARTTLS":
                if b == "starttls_454":
                    writer.write(b"454 4.7.0 TLS not available due to temporary reason\r\n")
                elif b == "starttls_421":
                    writer.write(f"{REFUSAL_421}\r\n".encode())
                    await writer.drain()
                    return
                else:
                    writer.write(b"220 2.0.0 Ready to start TLS\r\n")
                    await writer.drain()
                    await reader.read(5)
                    return
            elif verb == "MAIL":
                writer.write(b"530 5.7.0 Must issue a STARTTLS command first\r\n")
            elif verb == "QUIT":
                writer.write(b"221 Bye\r\n")
                await writer.drain()
                return
            else:
                writer.write(b"250 OK\r\n")
            await writer.drain()


def start_smtp_host(world, ip: str, hostname: str, *, behaviour: str = "good",
                    cert: IssuedCert | None = None,
                    ports: dict[str, int] | None = None, **limits: float) -> LabSmtpHost:
    """Start one lab MX host on ``ip`` (see the module docstring). ``limits``:
    ``max_concurrent``, ``max_per_window``, ``window`` of the ``throttle`` behaviour."""
    if behaviour not in BEHAVIOURS:
        raise ValueError(f"unknown behaviour {behaviour!r}; one of {', '.join(BEHAVIOURS)}")
    cert = cert or world.ca.issue([hostname])
    ports = dict(ports or {role: world.ports[role] for role in ROLES})
    host = LabSmtpHost(ip=ip, hostname=hostname, behaviour=behaviour, ports=ports, cert=cert,
                       **limits)
    world.call(host.start())
    world.register(host.stop)
    return host
