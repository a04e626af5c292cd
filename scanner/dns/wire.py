"""DNS over UDP, multiplexed: a few sockets per nameserver shared by the in-flight queries.

Why: dnspython's asyncio resolver opens (and registers with the event loop) a new UDP socket
for every query; profiling a 2,000-domain bench run showed that setup as the largest single
cost of a scan (~60% of CPU). Here a query is a message ID in a dict and one ``sendto``;
responses are matched by socket, ID and question. A socket (a random source port) carries
a few queries and is retired (see ``UdpMux``): spoofing needs the port, the ID and the
question. Truncated answers are retried over TCP with dnspython's ``asyncquery.tcp``.
Sockets close when nothing is in flight, so an idle client holds no file descriptor.

Responses to the client's queries are read by ``parse_reply``, a hand parser of the common
case (one question; A, AAAA, MX, TXT, CNAME, NS, PTR answers; the CNAME chase) that gives
what the client needs directly: dnspython's ``from_wire`` + ``resolve_chaining`` was ~30% of
the scanner's CPU. Whatever it is not sure of goes to the dnspython path, unchanged, so
results cannot differ (tests/perf/test_dnswire_parse.py compares the two on thousands of
responses and mutations of them).
"""
from __future__ import annotations

import asyncio
import functools
import math
import re
import secrets
import socket
import struct
from collections.abc import Callable

import dns.asyncquery
import dns.exception
import dns.flags
import dns.ipv4
import dns.ipv6
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype


_HEADER = struct.pack("!HHHHHH", 0, dns.flags.RD, 1, 0, 0, 1)   # ID 0, RD, 1 question, 1 OPT
_OPT = struct.pack("!BHHIH", 0, dns.rdatatype.OPT, 1232, 0, 0)  # EDNS0, payload 1232, no options
_OPT_DO = struct.pack("!BHHIH", 0, dns.rdatatype.OPT, 1232, dns.flags.DO, 0)  # the same, DO set


def answers(response: dns.message.Message, qname: dns.name.Name | None, rdtype: int) -> bool:
    """``Message.is_response`` for a standard query of (qname, rdtype, IN) (the ID already
    matched): a response, same opcode, the same single question, whatever the RCODE.
    dnspython accepts an empty question with FORMERR, SERVFAIL, NOTIMP or REFUSED; here it
    is refused, so an off-path attacker who guessed the ID and port must also know the
    question to forge even a failure (RFC 5452 9.1)."""
    if not response.flags & dns.flags.QR or dns.opcode.from_flags(response.flags) != dns.opcode.QUERY:
        return False
    if not response.question:
        return qname is None
    return qname is not None and all(
        q.name == qname and q.rdtype == rdtype and q.rdclass == dns.rdataclass.IN
        for q in response.question)


def answer_part(data: bytes) -> bytes:
    """The response cut after its answer section (authority and additional counts zeroed),
    when that changes nothing the client reads: the client uses the header, the question
    and the answer only, and parsing (and hashing, to de-duplicate) the SOA that every
    negative answer carries was ~1/3 of the DNS parse in the bench profile. The whole
    message is returned, for dnspython to parse (or reject) as before, when it does not
    walk cleanly to its last byte or its EDNS OPT record carries extended RCODE bits
    (which ``rcode()`` needs)."""
    try:
        qd, an, ns, ar = struct.unpack_from("!HHHH", data, 4)
        i = 12
        for _ in range(qd):
            i = _skip_name(data, i) + 4
        for _ in range(an):
            i = _skip_rr(data, i)
    except (IndexError, struct.error, ValueError):
        return data
    if not ns + ar or not _rest_is_cut(data, i, ns, ar):
        return data
    return data[:8] + b"\x00\x00\x00\x00" + data[12:i]


def _skip_name(data: bytes, i: int) -> int:
    while True:
        length = data[i]
        if length == 0:
            return i + 1
        if length & 0xC0 == 0xC0:
            if i + 1 >= len(data):
                raise IndexError
            return i + 2
        if length & 0xC0:
            raise ValueError("bad label type")
        i += 1 + length


def _skip_rr(data: bytes, i: int) -> int:
    i = _skip_name(data, i)
    if i + 10 > len(data):
        raise IndexError
    end = i + 10 + int.from_bytes(data[i + 8:i + 10], "big")
    if end > len(data):
        raise IndexError
    return end


# --- the fast path: queries and responses without dnspython objects -------------------------

_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-]{1,63}(?:\.[A-Za-z0-9_-]{1,63})*")


def plain_name_wire(name: str) -> bytes | None:
    """The wire form of an ordinary name (LDH and underscore ASCII labels of 1..63 bytes, no
    final dot), or None for anything else (escapes, IDNA, the root, empty labels, too long):
    those take ``dns.name.from_text``. Equal to ``dns.name.from_text(name).to_wire()`` (a
    test checks); ``from_text`` per query was ~3% of the scanner's CPU."""
    if len(name) > 253 or not _PLAIN_NAME.fullmatch(name):
        return None
    wire = bytearray()
    for label in name.encode("ascii").split(b"."):
        wire.append(len(label))
        wire += label
    wire.append(0)
    return bytes(wire)


def name_query_wire(name_wire: bytes, rdtype: int) -> bytes:
    """The bytes of ``dns.message.make_query(name, rdtype, use_edns=0, payload=1232)`` with
    ID 0 (a test checks they are identical), ``name_wire`` being the name in wire form,
    without building a Message."""
    return _HEADER + name_wire + struct.pack("!HH", rdtype, dns.rdataclass.IN) + _OPT


def dnssec_query_wire(name_wire: bytes, rdtype: int, *, cd: bool) -> bytes:
    """``name_query_wire`` with the DO bit set in the OPT record (RFC 3225: send the DNSSEC
    records) and, with ``cd``, the CD bit (RFC 4035 3.2.2: do not validate for me, give me
    the data even if you think it bogus). The answers are parsed whole by dnspython: the
    validator needs the authority section (NSEC/NSEC3 proofs, the SOA of a denial)."""
    flags = dns.flags.RD | (dns.flags.CD if cd else 0)
    return (struct.pack("!HHHHHH", 0, flags, 1, 0, 0, 1) + name_wire
            + struct.pack("!HH", rdtype, dns.rdataclass.IN) + _OPT_DO)


class DnsReply:
    """What the client reads of a response the fast parser understood completely: the
    header flags, the RCODE and, for NOERROR, the outcome of the CNAME chase (``records``
    None: NODATA; ``error`` set: the chain was too long). Duck-types the two things the
    client asks a ``dns.message.Message`` for: ``.flags`` and ``.rcode()``."""

    __slots__ = ("flags", "rc", "canonical", "records", "error")

    def __init__(self, flags: int, rc: int, canonical: str = "",
                 records: tuple[str, ...] | None = None, error: str = "") -> None:
        self.flags, self.rc, self.canonical, self.records, self.error = (
            flags, rc, canonical, records, error)

    def rcode(self) -> int:
        return self.rc

    def __repr__(self) -> str:
        return (f"DnsReply(flags={self.flags:#x}, rc={self.rc}, canonical={self.canonical!r}, "
                f"records={self.records!r}, error={self.error!r})")


class _Unsure(Exception):
    """The fast parser cannot vouch for this datagram: dnspython decides."""


_A, _NS, _CNAME, _PTR, _MX, _TXT, _AAAA = 1, 2, 5, 12, 15, 16, 28
_MAX_CHAIN = dns.message.MAX_CHAIN
_MAX_POINTERS = dns.name.MAX_COMPRESSION_POINTER_CHAIN
# Bytes dnspython prints as themselves in a name (``dns.name._escapify``): other names take
# ``Name.to_text`` so their escapes are dnspython's.
_NAME_SAFE = bytes(c for c in range(0x21, 0x7F) if c not in b'"().;\\@$')


def _name(data: bytes, i: int, end: int) -> tuple[bytes, int]:
    """The name at ``i`` as uncompressed wire bytes without the root label (original case),
    and the offset after it; the rules of ``dns.name.from_wire_parser``: a pointer must point
    before the start of the name part that holds it (so no loops, no forward pointers), and
    what it points to must end before that start; at most 16 pointers; labels < 64 bytes;
    at most 255 bytes in all. Raises _Unsure on any break of them (dnspython would reject
    the message), and on pointers into the header (the client parses a copy whose counts
    are zeroed, see ``answer_part``)."""
    parts = []
    start = i
    after = -1
    hops = 0
    while True:
        if i >= end:
            raise _Unsure
        c = data[i]
        if c == 0:
            i += 1
            break
        if c < 64:
            j = i + 1 + c
            if j > end:
                raise _Unsure
            parts.append(data[i:j])
            i = j
        elif c >= 192:
            if i + 2 > end:
                raise _Unsure
            target = (c & 0x3F) << 8 | data[i + 1]
            hops += 1
            if target >= start or target < 12 or hops > _MAX_POINTERS:
                raise _Unsure
            if after < 0:
                after = i + 2
            end = start
            start = i = target
        else:
            raise _Unsure
    wire = b"".join(parts)
    if len(wire) > 254:
        raise _Unsure
    return wire, (i if after < 0 else after)


def _name_text(wire: bytes) -> str:
    """``Name.to_text(omit_final_dot=True).lower()`` of a name from ``_name``."""
    labels = []
    i = 0
    while i < len(wire):
        labels.append(wire[i + 1:i + 1 + wire[i]])
        i += 1 + wire[i]
    if not labels:
        return "."
    if b"".join(labels).translate(None, _NAME_SAFE):
        return dns.name.Name(labels + [b""]).to_text(omit_final_dot=True).lower()
    return b".".join(labels).decode("ascii").lower()


def _rdata(data: bytes, rtype: int, i: int, end: int) -> tuple[bytes, object]:
    """(the key dnspython de-duplicates the record by, what the text is made of) for the
    record data in ``data[i:end]``, validated as dnspython's ``from_wire_parser`` of the
    type does; _Unsure for any other type."""
    if rtype == _A or rtype == _AAAA:
        if end - i != (4 if rtype == _A else 16):
            raise _Unsure
        raw = data[i:end]
        return raw, raw
    if rtype == _TXT:
        if end == i:
            raise _Unsure          # no strings: dnspython raises
        start = i
        strings = []
        while i < end:
            j = i + 1 + data[i]
            if j > end:
                raise _Unsure
            strings.append(data[i + 1:j])
            i = j
        return data[start:end], b"".join(strings)
    if rtype == _MX:
        if i + 2 > end:
            raise _Unsure
        target, j = _name(data, i + 2, end)
        if j != end:
            raise _Unsure
        return data[i:i + 2] + target.lower(), (int.from_bytes(data[i:i + 2], "big"), target)
    if rtype == _CNAME or rtype == _NS or rtype == _PTR:
        target, j = _name(data, i, end)
        if j != end:
            raise _Unsure
        return target.lower(), target
    raise _Unsure


def _text(rtype: int, value) -> str:
    """``dnsclient.rdata_text`` of a value from ``_rdata``."""
    if rtype == _TXT:
        return value.decode("utf-8", "backslashreplace")
    if rtype == _A:
        return dns.ipv4.inet_ntoa(value)      # what the A rdata holds as its text, and prints
    if rtype == _AAAA:
        return dns.ipv6.inet_ntoa(value)
    if rtype == _MX:
        return f"{value[0]} {_name_text(value[1])}"
    return _name_text(value)


def parse_reply(data: bytes, qkey: bytes, rdtype: int) -> DnsReply | None:
    """The response to the question (``qkey``: the qname's wire form without the root
    label, lower case; ``rdtype``; class IN), the ID already matched, or None when this
    parser cannot vouch for giving exactly what the dnspython path gives
    (``from_wire(answer_part(data))``, ``answers``, ``resolve_chaining``, ``rdata_text``):
    then the caller runs that path, which also decides whether the datagram is garbage.

    Understood: a response to a QUERY, one question, an answer section of A, AAAA, MX,
    TXT, CNAME, NS and PTR records of class IN, and authority/additional sections that
    ``answer_part`` cuts off (so an OPT with extended RCODE bits is not understood)."""
    try:
        flags, qd, an, ns, ar = struct.unpack_from("!HHHHH", data, 2)
        if flags & 0xF800 != 0x8000 or qd != 1:     # QR set, opcode QUERY
            return None
        n = len(data)
        qname, i = _name(data, 12, n)
        if i + 4 > n or data[i:i + 4] != rdtype.to_bytes(2, "big") + b"\x00\x01" \
                or qname.lower() != qkey:
            return None
        i += 4
        rrsets: dict[tuple[bytes, int], dict[bytes, object]] = {}
        for _ in range(an):
            owner, i = _name(data, i, n)
            if i + 10 > n:
                return None
            rtype, rclass, _ttl, rdlen = struct.unpack_from("!HHIH", data, i)
            i += 10
            end = i + rdlen
            if end > n or rclass != 1:
                return None
            key, value = _rdata(data, rtype, i, end)
            i = end
            rrset = rrsets.get((owner.lower(), rtype))
            if rrset is None or rtype == _CNAME:     # CNAME is a singleton type: last one wins
                rrsets[(owner.lower(), rtype)] = {key: value}
            elif key not in rrset:
                rrset[key] = value
        if not _rest_is_cut(data, i, ns, ar):
            return None
    except (_Unsure, IndexError, struct.error):
        return None
    rc = flags & 0xF
    if rc != dns.rcode.NOERROR:
        return DnsReply(flags, rc)
    return _chase(flags, qname, rdtype, rrsets)


def _chase(flags: int, qname: bytes, rdtype: int,
           rrsets: dict[tuple[bytes, int], dict[bytes, object]]) -> DnsReply:
    """``Message.resolve_chaining`` (dnspython 2.9): from the question's name, take the
    rrset of the asked type, else follow the first (only) CNAME of the name, at most 16
    times (the 16th hop is already too long)."""
    count = 0
    answer = None
    while count < _MAX_CHAIN:
        key = qname.lower()
        answer = rrsets.get((key, rdtype))
        if answer is not None or rdtype == _CNAME:
            break
        cname = rrsets.get((key, _CNAME))
        if cname is None:
            break
        qname = next(iter(cname.values()))
        count += 1
    if count >= _MAX_CHAIN:
        return DnsReply(flags, dns.rcode.NOERROR, error="CNAME chain too long (loop?)")
    canonical = _name_text(qname)
    if answer is None:
        return DnsReply(flags, dns.rcode.NOERROR, canonical)
    return DnsReply(flags, dns.rcode.NOERROR, canonical,
                 tuple(_text(rdtype, value) for value in answer.values()))


def _rest_is_cut(data: bytes, i: int, ns: int, ar: int) -> bool:
    """Whether ``answer_part`` cuts ``data`` at ``i`` (the end of its answer section), or
    there is nothing after ``i``: the authority and additional sections walk cleanly to the
    last byte and no OPT record carries extended RCODE bits."""
    try:
        for _ in range(ns):
            i = _skip_rr(data, i)
        for _ in range(ar):
            if data[i] == 0 and data[i + 1:i + 3] == b"\x00\x29" and data[i + 5]:
                return False
            i = _skip_rr(data, i)
    except (IndexError, struct.error, ValueError):
        return False
    return i == len(data)


# An unanswered datagram is sent again (same ID: an answer to either copy is accepted) after
# 1 s, then 2 s, 4 s, ... until the exchange's timeout. UDP can be lost (a full socket buffer
# on a busy resolver or scanner: the bench saw ~130 drops in 65,000 queries); without this a
# loss cost the whole step timeout (10 s by default) and held its domain that long.
RETRANSMIT_S = 1.0
RCVBUF = 1 << 20     # asked of the kernel for the shared socket (capped by net.core.rmem_max)


def _expire(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)


class _Pending:
    """One query in flight. ``qkey`` set: parse with ``parse_reply`` first (the qname for
    the dnspython path is then read back from the query's wire, only when needed).
    ``whole``: dnspython parses every section (DNSSEC answers)."""

    __slots__ = ("fut", "qname", "rdtype", "qkey", "wire", "port", "whole",
                 "datagram", "due", "deadline", "interval")

    def __init__(self, fut: asyncio.Future, qname: dns.name.Name | None, rdtype: int,
                 qkey: bytes | None = None, wire: bytes = b"", whole: bool = False) -> None:
        self.fut, self.qname, self.rdtype, self.qkey, self.wire = fut, qname, rdtype, qkey, wire
        self.whole = whole

    def decode(self, data: bytes) -> "DnsReply | dns.message.Message | None":
        """The reply, or None: garbage, or not an answer to this question."""
        if self.qkey is not None:
            reply = parse_reply(data, self.qkey, self.rdtype)
            if reply is not None:
                return reply
            if self.qname is None:
                self.qname = dns.name.from_wire(self.wire, 12)[0]
        return parse_with_dnspython(data, self.qname, self.rdtype, whole=self.whole)


def parse_with_dnspython(data: bytes, qname: dns.name.Name | None,
                         rdtype: int, *, whole: bool = False) -> dns.message.Message | None:
    """The dnspython path: the response to (qname, rdtype, IN), or None when ``data`` is
    garbage or answers something else (the query keeps waiting). Cut after the answer
    section (``answer_part``) unless ``whole``."""
    try:
        response = dns.message.from_wire(data if whole else answer_part(data))
    except Exception:   # garbage: keep waiting for the real answer (or time out)
        return None
    return response if answers(response, qname, rdtype) else None


QUERIES_PER_PORT = 8   # queries one UDP socket (one source port) carries before it is retired


class _Port:
    """One connected UDP socket, i.e. one source port the kernel picked at random from its
    ephemeral range, with the queries sent from it (keyed by message ID)."""

    __slots__ = ("sock", "pending", "uses")

    def __init__(self, sock: socket.socket) -> None:
        self.sock: socket.socket | None = sock
        self.pending: dict[int, _Pending] = {}
        self.uses = 0


class UdpMux:
    """UDP to one nameserver, many queries in flight, read straight off the event loop's
    selector: each wake-up drains every waiting answer (asyncio's datagram transport reads
    one per loop iteration, and its ``sendto``/``_read_ready`` layers were ~8% of the scan's
    CPU in the bench profile).

    Spoofing resistance (RFC 5452): an off-path attacker must guess the message ID *and*
    the source port. Each socket is connected (only the server's address and port get
    through) and left unbound, so the kernel picks a random ephemeral source port; it
    carries at most ``QUERIES_PER_PORT`` queries and is then retired (closed once its last
    query ends), so a scan's queries leave from thousands of ports, not one. A response
    must also repeat the question (name, type, class IN), whatever its RCODE: a SERVFAIL or
    REFUSED without a question is not an answer. Nothing is held when idle."""

    def __init__(self, ip: str, port: int) -> None:
        self.ip, self.port = ip, port
        self._port: _Port | None = None        # the socket new queries go out on
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ids: list[int] = []
        self._in_flight = 0
        self._live: set[_Port] = set()         # sockets with queries in flight
        self._sweep: asyncio.TimerHandle | None = None
        self._sweep_at = math.inf
        self._sweep_loop: asyncio.AbstractEventLoop | None = None
        self.retransmits = 0
        self.ports_opened = 0

    @property
    def in_flight(self) -> int:
        """Queries sent and not ended yet, over every open socket."""
        return self._in_flight

    def _open(self) -> _Port:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET6 if ":" in self.ip else socket.AF_INET,
                             socket.SOCK_DGRAM)
        port = _Port(sock)
        try:
            sock.setblocking(False)
            try:   # room for a burst of answers while the loop is busy (default ~150 DKIM keys)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
            except OSError:
                pass
            sock.connect((self.ip, self.port))
            loop.add_reader(sock.fileno(), self._drain, port)
        except BaseException:
            sock.close()
            raise
        self._loop = loop
        self.ports_opened += 1
        return port

    def _close(self, port: _Port) -> None:
        sock, port.sock = port.sock, None
        if port is self._port:
            self._port = None
        if sock is not None:
            self._loop.remove_reader(sock.fileno())
            sock.close()

    def _drain(self, port: _Port) -> None:
        for _ in range(512):      # bounded, so one busy socket cannot starve the loop
            sock = port.sock
            if sock is None:
                return
            try:
                data = sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:       # ICMP unreachable and the like: that query times out
                continue
            self._received(port, data)

    @staticmethod
    def _send(port: _Port, datagram: bytes) -> None:
        try:
            port.sock.send(datagram)
        except (OSError, AttributeError):   # a full buffer, an ICMP error (sent again), closed
            pass

    def _new_id(self, port: _Port) -> int:
        """An unused message ID from the OS CSPRNG (``secrets``), drawn 32 at a time: one
        ``secrets.randbits`` call per query showed in the profile; the IDs stay as
        unpredictable (each is 16 fresh random bits, none is sent before it is used)."""
        while True:
            if not self._ids:
                self._ids = list(struct.unpack("!32H", secrets.token_bytes(64)))
            qid = self._ids.pop()
            if qid not in port.pending:
                return qid

    async def exchange(self, query: dns.message.Message, timeout: float) -> dns.message.Message | None:
        """The response, or None on timeout."""
        if not query.question:
            return await self.exchange_wire(query.to_wire(), None, 0, timeout)
        question = query.question[0]
        return await self.exchange_wire(query.to_wire(), question.name, question.rdtype, timeout)

    async def exchange_wire(self, wire: bytes, qname: dns.name.Name | None, rdtype: int,
                            timeout: float, *, whole: bool = False) -> dns.message.Message | None:
        """``wire``: a query (ID bytes are replaced) asking (qname, rdtype, IN). The response
        as a dnspython Message, or None on timeout. Rendering the query once (``name_query_wire``)
        instead of building a dnspython Message per lookup was ~1/3 of the DNS client's CPU
        in the bench profile. ``whole``: every section parsed (see ``parse_with_dnspython``)."""
        return await self._exchange(wire, _Pending(None, qname, rdtype, whole=whole), timeout)

    async def ask(self, wire: bytes, rdtype: int, timeout: float) -> "DnsReply | dns.message.Message | None":
        """``wire``: from ``query_wire``/``name_query_wire`` (one question). The response,
        parsed by ``parse_reply`` when it can (a ``DnsReply``), else by dnspython (a Message);
        None on timeout."""
        return await self._exchange(wire, _Pending(None, None, rdtype, wire[12:-16].lower(), wire),
                                    timeout)

    def ask_soon(self, wire: bytes, rdtype: int, timeout: float,
                 then: Callable[[asyncio.Future], None], *, fast: bool = True) -> asyncio.Future:
        """``ask`` without a coroutine: sends the query now and returns its future (a
        ``DnsReply``, a Message, or None on timeout; cancel it to abandon the query). Once it is
        done and the query's bookkeeping is cleared, ``then(future)`` is called, as a done
        callback would be (one callback per query, no Task: ``DnsClient.query_many`` sends a
        domain's DKIM questions this way). ``fast=False``: dnspython parses the answer, as
        ``exchange_wire`` does (types ``parse_reply`` does not read)."""
        if fast:
            pending = _Pending(None, None, rdtype, wire[12:-16].lower(), wire)
        else:
            pending = _Pending(None, dns.name.from_wire(wire, 12)[0], rdtype)
        qid = self._start(wire, pending, timeout)
        pending.fut.add_done_callback(functools.partial(self._ended, qid, pending, then))
        return pending.fut

    def _ended(self, qid: int, pending: _Pending, then: Callable[[asyncio.Future], None],
               fut: asyncio.Future) -> None:
        self._end(qid, pending)
        then(fut)

    async def _exchange(self, wire: bytes, pending: _Pending, timeout: float):
        qid = self._start(wire, pending, timeout)
        try:
            return await pending.fut
        finally:
            self._end(qid, pending)

    def _start(self, wire: bytes, pending: _Pending, timeout: float) -> int:
        """Registers ``pending`` under a fresh ID on the current socket (a new one, from a
        new random source port, every ``QUERIES_PER_PORT`` queries), sends the query and
        arms its timer; the message ID, for ``_end``."""
        port = self._port
        if port is None or port.uses >= QUERIES_PER_PORT:
            if port is not None:
                self._port = None           # retired: closes when its last query ends
                if not port.pending:
                    self._close(port)
            port = self._port = self._open()
        port.uses += 1
        loop = self._loop
        qid = self._new_id(port)
        pending.fut = loop.create_future()
        pending.port = port
        port.pending[qid] = pending
        self._live.add(port)
        self._in_flight += 1
        # no timer per query (a TimerHandle made, pushed on the loop's heap and cancelled
        # for each of ~65,000 queries was ~4% of the scan process): each query notes when
        # it is due (retransmit or expiry) and one sweep per mux, armed for the earliest
        # due time, handles what is due; cancelling the caller cancels ``fut`` as before
        pending.datagram = datagram = qid.to_bytes(2, "big") + wire[2:]
        now = loop.time()
        pending.deadline = now + timeout
        pending.interval = RETRANSMIT_S
        pending.due = due = now + min(RETRANSMIT_S, timeout)
        if due < self._sweep_at or self._sweep_loop is not loop:
            self._arm(loop, due)
        try:
            self._send(port, datagram)
        except BaseException:
            self._end(qid, pending)
            raise
        return qid

    def _end(self, qid: int, pending: _Pending) -> None:
        port = pending.port
        if port.pending.pop(qid, None) is not None:
            self._in_flight -= 1
        if not port.pending:
            self._live.discard(port)
            self._close(port)

    def _arm(self, loop: asyncio.AbstractEventLoop, at: float) -> None:
        """The sweep runs at ``at`` (and no earlier one is pending)."""
        if self._sweep is not None:
            self._sweep.cancel()
        self._sweep_at, self._sweep_loop = at, loop
        self._sweep = loop.call_at(at, self._sweeper)

    def _sweeper(self) -> None:
        """Every query in flight that is due: retransmitted or expired (``_unanswered``);
        then armed again for the earliest due time left, if any."""
        self._sweep, self._sweep_at = None, math.inf
        loop = self._sweep_loop
        now = loop.time()
        earliest = math.inf
        for port in tuple(self._live):
            for pending in tuple(port.pending.values()):
                if pending.fut.done():
                    continue
                if pending.due <= now + 0.001:
                    self._unanswered(pending, now)
                    if pending.fut.done():
                        continue
                earliest = min(earliest, pending.due)
        if earliest < math.inf and earliest < self._sweep_at:
            self._arm(loop, earliest)

    def _unanswered(self, pending: _Pending, now: float) -> None:
        """No answer yet: past the deadline, give up; else send the query again (after
        ``RETRANSMIT_S``, then twice as long each time, within the deadline)."""
        left = pending.deadline - now
        if left <= 0.001 or pending.port.sock is None:
            _expire(pending.fut)
            return
        self._send(pending.port, pending.datagram)
        self.retransmits += 1
        pending.interval *= 2
        pending.due = now + min(pending.interval, left)

    async def exchange_tcp(self, query: dns.message.Message, timeout: float) -> dns.message.Message | None:
        try:
            return await dns.asyncquery.tcp(query, self.ip, timeout=timeout, port=self.port)
        except (dns.exception.DNSException, OSError, EOFError):
            return None

    def _received(self, port: _Port, data: bytes) -> None:
        if len(data) < 12:
            return
        pending = port.pending.get(int.from_bytes(data[:2], "big"))
        if pending is None or pending.fut.done():
            return
        reply = pending.decode(data)
        if reply is not None:
            pending.fut.set_result(reply)
