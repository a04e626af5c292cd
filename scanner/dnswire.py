"""DNS over UDP, multiplexed: one socket per nameserver shared by every in-flight query.

Why: dnspython's asyncio resolver opens (and registers with the event loop) a new UDP socket
for every query; profiling a 2,000-domain bench run showed that setup as the largest single
cost of a scan (~60% of CPU). Here a query is a message ID in a dict and one ``sendto``;
responses are matched by ID and checked with ``Message.is_response``. Truncated answers are
retried over TCP with dnspython's ``asyncquery.tcp``. The socket closes when nothing is in
flight, so an idle client holds no file descriptor.
"""
from __future__ import annotations

import asyncio
import secrets
import struct

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype


_HEADER = struct.pack("!HHHHHH", 0, dns.flags.RD, 1, 0, 0, 1)   # ID 0, RD, 1 question, 1 OPT
_OPT = struct.pack("!BHHIH", 0, dns.rdatatype.OPT, 1232, 0, 0)  # EDNS0, payload 1232, no options


def query_wire(qname: dns.name.Name, rdtype: int) -> bytes:
    """The bytes of ``dns.message.make_query(qname, rdtype, use_edns=0, payload=1232)``
    with ID 0 (a test checks they are identical), without building a Message."""
    return _HEADER + qname.to_wire() + struct.pack("!HH", rdtype, dns.rdataclass.IN) + _OPT


def answers(response: dns.message.Message, qname: dns.name.Name | None, rdtype: int) -> bool:
    """``Message.is_response`` for a standard query of (qname, rdtype, IN) (the ID already
    matched): a response, same opcode, the same single question (an empty question is
    allowed with FORMERR, SERVFAIL, NOTIMP or REFUSED, as dnspython allows)."""
    if not response.flags & dns.flags.QR or dns.opcode.from_flags(response.flags) != dns.opcode.QUERY:
        return False
    if not response.question:
        return qname is None or response.rcode() in _EMPTY_QUESTION_OK
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
        cut = i
        for _ in range(ns):
            i = _skip_rr(data, i)
        for _ in range(ar):
            if data[i] == 0 and data[i + 1:i + 3] == b"\x00\x29" and data[i + 5]:
                return data    # OPT with extended RCODE bits
            i = _skip_rr(data, i)
        if i != len(data) or not ns + ar:
            return data
    except (IndexError, struct.error, ValueError):
        return data
    return data[:8] + b"\x00\x00\x00\x00" + data[12:cut]


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


_EMPTY_QUESTION_OK = {dns.rcode.FORMERR, dns.rcode.SERVFAIL, dns.rcode.NOTIMP, dns.rcode.REFUSED}


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, mux: "UdpMux") -> None:
        self.mux = mux

    def datagram_received(self, data: bytes, addr) -> None:
        self.mux._received(data)

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP unreachable and the like: the query times out, as with an unconnected socket

    def connection_lost(self, exc: Exception | None) -> None:
        self.mux._lost(self)


class UdpMux:
    def __init__(self, ip: str, port: int) -> None:
        self.ip, self.port = ip, port
        self._transport: asyncio.DatagramTransport | None = None
        self._opening: asyncio.Future | None = None
        self._pending: dict[int, tuple[asyncio.Future, tuple[dns.name.Name | None, int]]] = {}

    async def _ensure(self) -> asyncio.DatagramTransport:
        while self._transport is None:
            if self._opening is None:
                loop = asyncio.get_running_loop()
                self._opening = loop.create_future()
                try:
                    transport, _ = await loop.create_datagram_endpoint(
                        lambda: _Protocol(self), remote_addr=(self.ip, self.port))
                    self._transport = transport
                finally:
                    opening, self._opening = self._opening, None
                    opening.set_result(None)
            else:
                await asyncio.shield(self._opening)
        return self._transport

    async def exchange(self, query: dns.message.Message, timeout: float) -> dns.message.Message | None:
        """The response, or None on timeout."""
        if not query.question:
            return await self.exchange_wire(query.to_wire(), None, 0, timeout)
        question = query.question[0]
        return await self.exchange_wire(query.to_wire(), question.name, question.rdtype, timeout)

    async def exchange_wire(self, wire: bytes, qname: dns.name.Name | None, rdtype: int,
                            timeout: float) -> dns.message.Message | None:
        """``wire``: a query (ID bytes are replaced) asking (qname, rdtype, IN). The response,
        or None on timeout. Rendering the query once (``query_wire``) instead of building a
        dnspython Message per lookup was ~1/3 of the DNS client's CPU in the bench profile."""
        transport = await self._ensure()
        qid = secrets.randbits(16)
        while qid in self._pending:
            qid = secrets.randbits(16)
        fut = asyncio.get_running_loop().create_future()
        self._pending[qid] = (fut, (qname, rdtype))
        try:
            transport.sendto(qid.to_bytes(2, "big") + wire[2:])
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            return None
        finally:
            self._pending.pop(qid, None)
            if not self._pending and self._transport is not None:
                self._transport.close()
                self._transport = None

    async def exchange_tcp(self, query: dns.message.Message, timeout: float) -> dns.message.Message | None:
        try:
            return await dns.asyncquery.tcp(query, self.ip, timeout=timeout, port=self.port)
        except (dns.exception.DNSException, OSError, EOFError):
            return None

    def _received(self, data: bytes) -> None:
        if len(data) < 12:
            return
        entry = self._pending.get(int.from_bytes(data[:2], "big"))
        if entry is None or entry[0].done():
            return
        fut, question = entry
        try:
            response = dns.message.from_wire(answer_part(data))
        except Exception:   # garbage: keep waiting for the real answer (or time out)
            return
        if answers(response, *question):
            fut.set_result(response)

    def _lost(self, protocol: _Protocol) -> None:
        if self._transport is not None and self._transport.get_protocol() is protocol:
            self._transport = None
