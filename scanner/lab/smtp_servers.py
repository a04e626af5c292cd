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
- raw asyncio servers for what aiosmtpd cannot do: ``tarpit`` (accept, say nothing),
  ``greet_554``, ``reset`` (RST once the client waits for the greeting / TLS hello), ``starttls_454`` (advertise STARTTLS,
  answer 454), ``endless_line`` (a greeting line that never ends), ``huge_reply`` (a 1 MB
  EHLO reply), ``close_mid_handshake`` (220 to STARTTLS, then close when the ClientHello
  arrives; on submissions: close at the ClientHello), ``hostile_greeting`` (a 554 greeting
  whose text carries ESC/OSC sequences, C1 controls, a bidi override, rich markup and an
  emoji code: ``HOSTILE_GREETING``; what a terminal must never interpret).
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

from aiosmtpd.smtp import SMTP, AuthResult

from scanner.lab.ca import IssuedCert

__all__ = ["BEHAVIOURS", "LabSmtpHost", "start_smtp_host"]

AIOSMTPD_BEHAVIOURS = ("good", "no_starttls", "auth_before_tls", "mail_in_clear",
                       "tls10_only", "weak_cipher")
RAW_BEHAVIOURS = ("tarpit", "greet_554", "reset", "starttls_454", "endless_line",
                  "huge_reply", "close_mid_handshake", "hostile_greeting")
HOSTILE_GREETING = ("554 5.7.1 \x1b[2J\x1b[H\x1b]0;pwned\x07 \x9b31m [bold green]PASS[/bold green] "
                    "[link=file:///etc/passwd]x[/link] :warning: \u202eevil\r\n").encode()
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


@dataclass
class LabSmtpHost:
    ip: str
    hostname: str
    behaviour: str
    ports: dict[str, int]
    cert: IssuedCert
    connections: Counter = field(default_factory=Counter)
    _servers: list[asyncio.base_events.Server] = field(default_factory=list)
    _transports: set[Any] = field(default_factory=set)
    _protocols: list[SMTP] = field(default_factory=list)

    def connections_on(self, role: str) -> int:
        return self.connections[(self.ip, self.ports[role])]

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
            proto = SMTP(
                _RefuseAll(), hostname=self.hostname, ident="lab ESMTP",
                tls_context=None if implicit or self.behaviour == "no_starttls" else tls,
                require_starttls=(role == "submission" and self.behaviour != "mail_in_clear"),
                auth_require_tls=not implicit and self.behaviour != "auth_before_tls",
                authenticator=_deny, timeout=30, loop=loop)
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
        while True:
            line = await reader.readline()
            if not line:
                return
            verb = line.decode("ascii", "replace").strip().split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                if b == "huge_reply":
                    chunk = b"250-" + b"y" * 1000 + b"\r\n"
                    for _ in range(1024):
                        writer.write(chunk)
                        await writer.drain()
                    writer.write(b"250 OK\r\n")
                else:
                    writer.write(f"250-{self.hostname}\r\n250-PIPELINING\r\n250 STARTTLS\r\n"
                                 .encode())
            elif verb == "STARTTLS":
                if b == "starttls_454":
                    writer.write(b"454 4.7.0 TLS not available due to temporary reason\r\n")
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
                    ports: dict[str, int] | None = None) -> LabSmtpHost:
    """Start one lab MX host on ``ip`` (see the module docstring)."""
    if behaviour not in BEHAVIOURS:
        raise ValueError(f"unknown behaviour {behaviour!r}; one of {', '.join(BEHAVIOURS)}")
    cert = cert or world.ca.issue([hostname])
    ports = dict(ports or {role: world.ports[role] for role in ROLES})
    host = LabSmtpHost(ip=ip, hostname=hostname, behaviour=behaviour, ports=ports, cert=cert)
    world.call(host.start())
    world.register(host.stop)
    return host
