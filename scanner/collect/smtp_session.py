"""The SMTP line protocol for the probe: bounded replies, a bounded transcript, and the
translation of socket/stream errors into the evidence's Failure classes.

Replies are hostile input: a line is at most MAX_LINE bytes (the StreamReader limit) and a
reply at most MAX_REPLY bytes / MAX_REPLY_LINES lines; beyond that the session is a
protocol error and the connection is dropped. Nothing of a reply is kept but its code and
a truncated first line.
"""
from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field

from scanner.evidence.smtp import Failure

MAX_LINE = 4096
MAX_REPLY = 64 * 1024
MAX_REPLY_LINES = 200
TRANSCRIPT_LINES = 40
TRANSCRIPT_WIDTH = 160
MAX_EXTENSIONS = 40


class ProbeError(Exception):
    """A session step failed; carries its Failure class and a short reason."""

    def __init__(self, failure: Failure, detail: str) -> None:
        super().__init__(detail)
        self.failure = failure
        self.detail = detail


def classify(exc: BaseException, step: str) -> ProbeError:
    """Socket / stream / TLS exceptions -> ProbeError (the boundary of the exception tree)."""
    if isinstance(exc, ProbeError):
        return exc
    if isinstance(exc, ConnectionRefusedError):
        return ProbeError(Failure.REFUSED, f"{step}: connection refused")
    if isinstance(exc, TimeoutError):
        return ProbeError(Failure.TIMEOUT, f"{step}: timed out")
    if isinstance(exc, ssl.SSLError):
        return ProbeError(Failure.TLS, f"{step}: {exc.reason or exc}"[:200])
    if isinstance(exc, (asyncio.IncompleteReadError, EOFError)):
        return ProbeError(Failure.RESET, f"{step}: connection closed by the server")
    if isinstance(exc, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        return ProbeError(Failure.RESET, f"{step}: connection reset")
    if isinstance(exc, OSError):
        return ProbeError(Failure.UNREACHABLE, f"{step}: {exc.strerror or exc}"[:200])
    return ProbeError(Failure.PROTOCOL, f"{step}: {type(exc).__name__}: {exc}"[:200])


@dataclass
class Transcript:
    lines: list[str] = field(default_factory=list)
    dropped: int = 0

    def add(self, text: str) -> None:
        if len(self.lines) < TRANSCRIPT_LINES:
            self.lines.append(text[:TRANSCRIPT_WIDTH])
        else:
            self.dropped += 1

    def freeze(self) -> tuple[str, ...]:
        tail = (f"... {self.dropped} more lines",) if self.dropped else ()
        return tuple(self.lines) + tail


@dataclass(frozen=True)
class SmtpReply:
    code: int
    lines: tuple[str, ...]   # text after the code, per line (bounded)

    @property
    def first(self) -> str:
        return self.lines[0] if self.lines else ""


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)


class SmtpSession:
    """One connection's SMTP conversation. Every reply and write is bounded by ``timeout``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 timeout: float, transcript: Transcript) -> None:
        self.reader = reader
        self.writer = writer
        self.timeout = timeout
        self.transcript = transcript
        self.injected = ""   # what the server sent between STARTTLS's 220 and the handshake

    def drop_plaintext(self) -> None:
        """Call at the TLS upgrade, right before the handshake starts (no await between).

        Whatever the server (or a man in the middle) sent after its 220 to STARTTLS is still
        in the reader's buffer, and would be read *after* the handshake as if it had come
        over TLS: an injected ``250 AUTH PLAIN LOGIN`` becomes a post-TLS fact (the
        CVE-2011-0411 class; RFC 3207 4.2 and 6: the client discards what it learnt before
        TLS). It is dropped here, on every path that upgrades a connection, and a short
        escaped sample is kept in ``injected`` for the evidence. ``StreamReader`` has no
        public way to see its buffer, hence ``_buffer`` (a bytearray in every CPython)."""
        buffer = self.reader._buffer
        if not buffer:
            return
        text = bytes(buffer[:80]).decode("utf-8", "replace").rstrip("\r\n")
        sample = _printable(text.replace("\r\n", " | "))
        self.injected = f"{len(buffer)} bytes: {sample}"[:160]
        self.transcript.add(f"!: {len(buffer)} plaintext bytes after STARTTLS's 220, "
                            "before the handshake: discarded")
        buffer.clear()

    async def read_reply(self, step: str) -> SmtpReply:
        """One whole reply within one step timeout (a server that drips a long reply line by
        line cannot stretch it). ``asyncio.timeout``, not ``wait_for``: no Task per read."""
        try:
            async with asyncio.timeout(self.timeout):
                return await self._read_reply(step)
        except TimeoutError as exc:
            raise classify(exc, step) from None

    async def _read_reply(self, step: str) -> SmtpReply:
        lines: list[str] = []
        total = 0
        code = None
        while True:
            try:
                raw = await self.reader.readuntil(b"\n")
            except (asyncio.LimitOverrunError, ValueError):
                raise ProbeError(Failure.PROTOCOL, f"{step}: reply line longer than {MAX_LINE} bytes")
            except asyncio.IncompleteReadError as exc:
                if len(exc.partial) > MAX_LINE:
                    raise ProbeError(Failure.PROTOCOL, f"{step}: reply line longer than {MAX_LINE} bytes")
                raise classify(exc, step) from None
            except Exception as exc:
                raise classify(exc, step) from None
            total += len(raw)
            if total > MAX_REPLY or len(lines) >= MAX_REPLY_LINES:
                raise ProbeError(Failure.PROTOCOL,
                                 f"{step}: reply larger than {MAX_REPLY} bytes / {MAX_REPLY_LINES} lines")
            line = _printable(raw.decode("utf-8", "replace").rstrip("\r\n"))
            if len(line) < 3 or not line[:3].isdigit() or (len(line) > 3 and line[3] not in " -"):
                raise ProbeError(Failure.PROTOCOL, f"{step}: malformed reply {line[:60]!r}")
            this = int(line[:3])
            if code is not None and this != code:
                raise ProbeError(Failure.PROTOCOL, f"{step}: reply codes differ ({code}, {this})")
            code = this
            lines.append(line[4:200])
            if len(line) == 3 or line[3] == " ":
                break
        extra = f" (+{len(lines) - 1} lines)" if len(lines) > 1 else ""
        self.transcript.add(f"S: {code} {lines[0]}{extra}")
        return SmtpReply(code, tuple(lines))

    async def send(self, command: str, step: str | None = None) -> None:
        self.transcript.add(f"C: {command}")
        self.writer.write(command.encode("ascii", "replace") + b"\r\n")
        try:
            async with asyncio.timeout(self.timeout):
                await self.writer.drain()
        except Exception as exc:
            raise classify(exc, step or command.split(" ", 1)[0]) from None

    async def command(self, command: str) -> SmtpReply:
        """Send a command, read its reply. A 421 (RFC 5321 3.8: the service is closing the
        channel, try again later) at any step raises a TRANSIENT ProbeError quoting it."""
        step = command.split(" ", 1)[0].split(":", 1)[0]
        await self.send(command, step)
        reply = await self.read_reply(step)
        if reply.code == 421:
            raise ProbeError(Failure.TRANSIENT, transient_text(f"{step} answered", reply))
        return reply

    async def ehlo(self, name: str) -> tuple[SmtpReply, int | None]:
        """EHLO, falling back to HELO when EHLO is refused: not implemented (500, 501, 502,
        504) or refused for now (4yz, RFC 5321 4.2.5). Returns (reply, the EHLO reply's code
        when HELO was used instead, else None)."""
        reply = await self.command(f"EHLO {name}")
        if reply.code in (500, 501, 502, 504) or 400 <= reply.code < 500:
            helo = await self.command(f"HELO {name}")
            return helo, reply.code
        return reply, None

    async def quit(self) -> None:
        """Polite QUIT; any failure is irrelevant by now."""
        try:
            await self.send("QUIT")
            async with asyncio.timeout(min(self.timeout, 2.0)):
                await self.read_reply("QUIT")
        except Exception:
            pass


def transient_text(what: str, reply: SmtpReply) -> str:
    """'greeting 421 4.7.0 Too many connections': a transient refusal, quoted (bounded)."""
    return f"{what} {reply.code} {reply.first}".strip()[:160]


def extensions_of(reply: SmtpReply) -> tuple[str, ...]:
    """EHLO reply -> extension lines, keyword upper-cased ('AUTH PLAIN LOGIN', 'STARTTLS')."""
    if reply.code != 250:
        return ()
    out = []
    for line in reply.lines[1:MAX_EXTENSIONS + 1]:
        keyword, _, params = line.strip().partition(" ")
        out.append(f"{keyword.upper()} {params.strip()}".strip()[:120])
    return tuple(out)


def auth_mechanisms(extensions: tuple[str, ...]) -> tuple[str, ...]:
    """Mechanisms from 'AUTH ...' (and the pre-RFC 'AUTH=...') lines, upper case, unique."""
    mechs: list[str] = []
    for ext in extensions:
        keyword, _, params = ext.partition(" ")
        if keyword == "AUTH":
            words = params.split()
        elif keyword.startswith("AUTH="):
            words = [keyword[5:]] + params.split()
        else:
            continue
        for w in words:
            w = w.upper()[:40]
            if w and w not in mechs:
                mechs.append(w)
    return tuple(mechs[:20])


async def open_stream(ip: str, port: int, timeout: float):
    """TCP connect with the line limit set; raises ProbeError."""
    try:
        async with asyncio.timeout(timeout):
            return await asyncio.open_connection(ip, port, limit=MAX_LINE)
    except Exception as exc:
        raise classify(exc, "connect") from None


def abort(writer: asyncio.StreamWriter | None) -> None:
    """Drop the connection without waiting on the peer (no close_notify dance to hang on)."""
    if writer is not None and writer.transport is not None:
        writer.transport.abort()
