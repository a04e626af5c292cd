"""The bench world's SMTP servers (bench/world.py ``SmtpHost``) against the stream version
they replaced (``ReferenceSmtpHost`` below, the old code verbatim apart from keeping its
servers so the test can find the ports and close them).

Both run on 127.0.0.1 (ephemeral ports, no root) on a loop in a thread; each comparison drives the
same client session against both, raw bytes recorded, and asserts the exact reply lines, the
same bytes from old and new, the same certificate, and the same stats counters. No wall-time
assertions: the reply delay is kept small only so the timers are exercised.
"""
from __future__ import annotations

import asyncio
import base64
import importlib.util
import smtplib
import socket
import ssl
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "bench" / "world.py"
_spec = importlib.util.spec_from_file_location("mxaudit_bench_world_smtp_under_test", _PATH)
bw = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = bw
_spec.loader.exec_module(bw)
bw._DKIM_KEY = base64.b64encode(bytes(range(256))).decode()

HOST = "mx1.provider-a.test"
DELAY = 0.005
TIMEOUT = 5.0


class ReferenceSmtpHost:
    """The previous stream-based implementation (reference behaviour)."""

    def __init__(self, hostname: str, ip: str, tls: ssl.SSLContext, delay: float,
                 stats: Counter) -> None:
        self.hostname, self.ip, self.tls, self.delay, self.stats = hostname, ip, tls, delay, stats
        self.servers: list[asyncio.Server] = []

    async def start(self, roles) -> None:
        for role in roles:
            ssl_ctx = self.tls if role.name == "submissions" else None
            self.servers.append(await asyncio.start_server(
                lambda r, w, role=role: self.session(r, w, role),
                self.ip, role.port, ssl=ssl_ctx, backlog=256, reuse_address=True))

    async def stop(self) -> None:
        for server in self.servers:
            server.close()
        for server in self.servers:
            await server.wait_closed()

    async def reply(self, writer: asyncio.StreamWriter, text: str) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        writer.write(text.encode())
        await writer.drain()

    async def session(self, reader, writer, role) -> None:
        self.stats["smtp_connections"] += 1
        tls = role.name == "submissions"
        if tls:
            self.stats["tls_sessions"] += 1
        try:
            await self.reply(writer, f"220 {self.hostname} ESMTP bench\r\n")
            while True:
                line = await asyncio.wait_for(reader.readline(), 30)
                if not line:
                    return
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    caps = ["SIZE 10240000", "8BITMIME", "PIPELINING"]
                    caps += ["AUTH PLAIN LOGIN"] if tls else ["STARTTLS"]
                    await self.reply(writer, "".join(f"250-{c}\r\n" for c in [self.hostname] + caps[:-1])
                                     + f"250 {caps[-1]}\r\n")
                elif verb == b"STAR" and not tls:
                    await self.reply(writer, "220 2.0.0 Ready to start TLS\r\n")
                    await writer.start_tls(self.tls)
                    tls = True
                    self.stats["tls_sessions"] += 1
                elif verb == b"MAIL":
                    if role.name == "submission" and not tls:
                        await self.reply(writer, "530 5.7.0 Must issue a STARTTLS command first\r\n")
                    else:
                        await self.reply(writer, "250 2.1.0 Ok\r\n")
                elif verb in (b"RSET", b"NOOP"):
                    await self.reply(writer, "250 2.0.0 Ok\r\n")
                elif verb == b"QUIT":
                    await self.reply(writer, "221 2.0.0 Bye\r\n")
                    return
                else:
                    await self.reply(writer, "502 5.5.2 Error: command not recognized\r\n")
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, TimeoutError, OSError):
            pass
        finally:
            writer.close()


class Served:
    """One host (old or new) on 127.0.0.1 ephemeral ports; ``ports[role]``, ``stats``."""

    def __init__(self, cls, loop, ctx: ssl.SSLContext, delay: float) -> None:
        self.stats: Counter = Counter()
        self.host = cls(HOST, "127.0.0.1", ctx, delay, self.stats)
        roles = [bw.SmtpRole(name, 0) for name in ("smtp", "submissions", "submission")]
        asyncio.run_coroutine_threadsafe(self.host.start(roles), loop).result(TIMEOUT)
        socks = ([server.sockets[0] for server in self.host.servers] if cls is ReferenceSmtpHost
                 else self.host.listeners)
        self.ports = {role.name: sock.getsockname()[1] for role, sock in zip(roles, socks)}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    ca_path, contexts, _ = bw.tls_contexts(tmp_path_factory.mktemp("smtp-ca"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield ca_path, contexts["a"], loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(TIMEOUT)


@pytest.fixture(params=[DELAY, 0.0], ids=["delay", "nodelay"])
def pair(lab, request):
    ca_path, ctx, loop = lab
    old, new = Served(ReferenceSmtpHost, loop, ctx, request.param), Served(bw.SmtpHost, loop, ctx, request.param)
    client = ssl.create_default_context(cafile=ca_path)
    client.check_hostname = False          # 127.0.0.1; the certificate is compared instead
    yield old, new, client
    for served in (old, new):
        asyncio.run_coroutine_threadsafe(served.host.stop(), loop).result(TIMEOUT)


class Raw:
    """A byte-exact SMTP client: every reply as received, TLS on request."""

    def __init__(self, port: int, client: ssl.SSLContext | None = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        if client is not None:
            self.sock = client.wrap_socket(self.sock, server_hostname=HOST)
        self.pending = b""

    def reply(self) -> bytes:
        """One whole reply (through its 'ddd ' line)."""
        out = b""
        while True:
            while b"\r\n" not in self.pending:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return out + self.pending
                self.pending += chunk
            line, self.pending = self.pending.split(b"\r\n", 1)
            out += line + b"\r\n"
            if len(line) < 4 or line[3:4] != b"-":
                return out

    def cmd(self, text: bytes) -> bytes:
        self.sock.sendall(text)
        return self.reply()

    def starttls(self, client: ssl.SSLContext) -> bytes:
        reply = self.cmd(b"STARTTLS\r\n")
        self.sock = client.wrap_socket(self.sock, server_hostname=HOST)
        return reply

    def rest(self) -> bytes:
        """Everything until the server closes."""
        out = self.pending
        try:
            while chunk := self.sock.recv(65536):
                out += chunk
        except (ssl.SSLError, ConnectionError):
            pass
        return out

    def close(self) -> None:
        self.sock.close()


def ehlo(tls: bool) -> bytes:
    last = b"AUTH PLAIN LOGIN" if tls else b"STARTTLS"
    return (b"250-" + HOST.encode() + b"\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n"
            b"250-PIPELINING\r\n250 " + last + b"\r\n")


GREETING = b"220 " + HOST.encode() + b" ESMTP bench\r\n"
OK_MAIL, OK, BYE = b"250 2.1.0 Ok\r\n", b"250 2.0.0 Ok\r\n", b"221 2.0.0 Bye\r\n"
READY = b"220 2.0.0 Ready to start TLS\r\n"
MUST_TLS = b"530 5.7.0 Must issue a STARTTLS command first\r\n"
UNKNOWN = b"502 5.5.2 Error: command not recognized\r\n"


def both(pair, session) -> list:
    """Run ``session(served, client)`` against old and new; the transcripts must match."""
    old, new, client = pair
    transcripts = [session(served, client) for served in (old, new)]
    assert transcripts[0] == transcripts[1]
    assert old.stats == new.stats
    return transcripts[1]


def test_port25_full_session(pair):
    def session(served, client):
        c = Raw(served.ports["smtp"])
        out = [c.reply(), c.cmd(b"EHLO client.test\r\n"), c.cmd(b"MAIL FROM:<a@b.test>\r\n"),
               c.cmd(b"RSET\r\n"), c.cmd(b"noop\r\n"), c.cmd(b"VRFY x\r\n"), c.cmd(b"helo x\r\n"),
               c.starttls(client), c.sock.getpeercert(binary_form=True),
               c.cmd(b"EHLO client.test\r\n"), c.cmd(b"STARTTLS\r\n"),
               c.cmd(b"MAIL FROM:<a@b.test>\r\n"), c.cmd(b"QUIT\r\n"), c.rest()]
        c.close()
        return out

    out = both(pair, session)
    assert out[:8] == [GREETING, ehlo(False), OK_MAIL, OK, OK, UNKNOWN, ehlo(False), READY]
    assert out[9:] == [ehlo(True), UNKNOWN, OK_MAIL, BYE, b""]
    assert pair[1].stats == Counter(smtp_connections=1, tls_sessions=1)


def test_port587_mail_before_tls_is_530(pair):
    def session(served, client):
        c = Raw(served.ports["submission"])
        out = [c.reply(), c.cmd(b"EHLO client.test\r\n"), c.cmd(b"MAIL FROM:<a@b.test>\r\n"),
               c.starttls(client), c.cmd(b"EHLO client.test\r\n"),
               c.cmd(b"MAIL FROM:<a@b.test>\r\n"), c.cmd(b"QUIT\r\n"), c.rest()]
        c.close()
        return out

    assert both(pair, session) == [GREETING, ehlo(False), MUST_TLS, READY, ehlo(True), OK_MAIL,
                                   BYE, b""]


def test_port465_implicit_tls(pair):
    def session(served, client):
        c = Raw(served.ports["submissions"], client)
        out = [c.sock.getpeercert(binary_form=True), c.reply(), c.cmd(b"EHLO client.test\r\n"),
               c.cmd(b"STARTTLS\r\n"), c.cmd(b"MAIL FROM:<a@b.test>\r\n"), c.cmd(b"QUIT\r\n"),
               c.rest()]
        c.close()
        return out

    out = both(pair, session)
    assert out[1:] == [GREETING, ehlo(True), UNKNOWN, OK_MAIL, BYE, b""]
    assert pair[1].stats == Counter(smtp_connections=1, tls_sessions=1)


def test_pipelined_lines_answered_in_order(pair):
    def session(served, client):
        c = Raw(served.ports["submission"])
        greeting = c.reply()
        c.sock.sendall(b"EHLO a\r\nMAIL FROM:<a@b.test>\r\nRSET\r\nXYZW\r\nQUIT\r\nNOOP\r\n")
        out = [greeting, c.rest()]
        c.close()
        return out

    assert both(pair, session) == [GREETING, ehlo(False) + MUST_TLS + OK + UNKNOWN + BYE]


def test_client_eof_lines_still_answered_then_closed(pair):
    def session(served, client):
        c = Raw(served.ports["smtp"])
        greeting = c.reply()
        c.sock.sendall(b"NOOP\r\nRSET")        # the last line has no newline
        c.sock.shutdown(socket.SHUT_WR)
        out = [greeting, c.rest()]
        c.close()
        return out

    assert both(pair, session) == [GREETING, OK + OK]


def test_starttls_handshake_failure_counts_no_tls_session(pair):
    def session(served, client):
        c = Raw(served.ports["smtp"])
        out = [c.reply(), c.cmd(b"STARTTLS\r\n")]
        c.sock.sendall(b"not a client hello\r\n" * 4)
        out.append(c.rest())
        c.close()
        return out

    assert both(pair, session) == [GREETING, READY, b""]
    assert pair[1].stats == Counter(smtp_connections=1)


@pytest.mark.parametrize("role", ["smtp", "submission", "submissions"])
def test_smtplib_session(pair, role):
    """The same session through smtplib: codes and texts as a real client parses them."""
    def session(served, client):
        port = served.ports[role]
        if role == "submissions":
            s = smtplib.SMTP_SSL("127.0.0.1", port, timeout=TIMEOUT, context=client)
        else:
            s = smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT)
        out = [s.ehlo("client.test"), sorted(s.esmtp_features.items())]
        if role != "submissions":
            out.append(s.mail("a@b.test"))
            out.append(s.starttls(context=client))
            out.append(s.ehlo("client.test"))
            out.append(sorted(s.esmtp_features.items()))
        out += [s.mail("a@b.test"), s.rset(), s.docmd("BDAT", "1"), s.quit()]
        return out

    out = both(pair, session)
    assert out[0] == (250, b"\n".join([HOST.encode(), b"SIZE 10240000", b"8BITMIME", b"PIPELINING",
                                       b"AUTH PLAIN LOGIN" if role == "submissions" else b"STARTTLS"]))
    first_mail = (530, b"5.7.0 Must issue a STARTTLS command first") if role == "submission" \
        else (250, b"2.1.0 Ok")
    if role != "submissions":
        assert out[2:4] == [first_mail, (220, b"2.0.0 Ready to start TLS")]
        assert dict(out[5])["auth"].strip() == "PLAIN LOGIN" and "starttls" not in dict(out[5])
    assert out[-4:] == [(250, b"2.1.0 Ok"), (250, b"2.0.0 Ok"),
                        (502, b"5.5.2 Error: command not recognized"), (221, b"2.0.0 Bye")]


def test_idle_and_handshake_timeouts_close_the_connection(lab, monkeypatch):
    """The stream version's wait_for(readline(), 30) and asyncio's 60 s handshake timeout,
    shortened here (new implementation only: the old one hard-codes them)."""
    ca_path, ctx, loop = lab
    monkeypatch.setattr(bw, "_IDLE_TIMEOUT", 0.2)
    monkeypatch.setattr(bw, "_HANDSHAKE_TIMEOUT", 0.2)
    new = Served(bw.SmtpHost, loop, ctx, 0.0)
    try:
        c = Raw(new.ports["submission"])
        assert c.reply() == GREETING
        assert c.rest() == b""                     # closed by the server, nothing sent
        c.close()
        c = Raw(new.ports["submissions"])          # TCP only: no ClientHello
        assert c.rest() == b""
        c.close()
        assert new.stats == Counter(smtp_connections=1)
    finally:
        asyncio.run_coroutine_threadsafe(new.host.stop(), loop).result(TIMEOUT)
