"""DNS spoofing resistance (issue 14, item 4), against a hostile DNS server on loopback.

The server below answers every query first with forgeries that carry the right message ID
(what an off-path attacker who guessed the ID and port would send: a SERVFAIL or REFUSED
without a question section, an answer to another question, an answer of another type),
then, a little later, with the true answer. It also records the source port of every
query it receives.
"""
from __future__ import annotations

import asyncio
import collections
import socket

import dns.message
import dns.rcode
import dns.rrset

from scanner.dns import wire
from scanner.dns.client import DnsClient
from scanner.evidence import DnsOutcome
from tests.conftest import run_without_loop_errors


class Forger:
    """UDP DNS server: forged replies first, the true one after ``delay`` seconds."""

    def __init__(self, delay: float = 0.05) -> None:
        self.delay = delay
        self.ports: collections.defaultdict = collections.defaultdict(set)   # port -> IDs
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.address = self.sock.getsockname()
        self.later: list[asyncio.TimerHandle] = []

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_reader(self.sock.fileno(), self._readable, loop)

    def close(self) -> None:
        for handle in self.later:
            handle.cancel()
        asyncio.get_running_loop().remove_reader(self.sock.fileno())
        self.sock.close()

    def _send(self, data: bytes, addr) -> None:
        try:
            self.sock.sendto(data, addr)
        except OSError:          # the client's socket is gone (it retransmitted, then ended)
            pass

    def _readable(self, loop) -> None:
        while True:
            try:
                data, addr = self.sock.recvfrom(4096)
            except BlockingIOError:
                return
            query = dns.message.from_wire(data)
            self.ports[addr[1]].add(query.id)   # a retransmission repeats the ID
            for forged in self._forgeries(query):
                self._send(forged, addr)
            self.later.append(loop.call_later(self.delay, self._send, self._truth(query), addr))

    @staticmethod
    def _forgeries(query: dns.message.Message) -> list[bytes]:
        out = []
        for rcode in (dns.rcode.SERVFAIL, dns.rcode.REFUSED, dns.rcode.NXDOMAIN):
            bare = dns.message.make_response(query)
            bare.question = []
            bare.set_rcode(rcode)
            out.append(bare.to_wire())
        other = dns.message.make_response(dns.message.make_query("bank.example", "A"))
        other.id = query.id
        other.answer.append(dns.rrset.from_text("bank.example.", 60, "IN", "A", "6.6.6.6"))
        out.append(other.to_wire())
        wrong_type = dns.message.make_response(
            dns.message.make_query(query.question[0].name, "AAAA"))
        wrong_type.id = query.id
        out.append(wrong_type.to_wire())
        return out

    @staticmethod
    def _truth(query: dns.message.Message) -> bytes:
        response = dns.message.make_response(query)
        q = query.question[0]
        response.answer.append(dns.rrset.from_text(q.name, 60, "IN", "A", "192.0.2.80"))
        return response.to_wire()


def test_forged_failures_and_foreign_answers_are_ignored():
    """Before issue 14 the bare SERVFAIL was taken on its ID alone: the lookup ended as
    ``servfail`` and the true answer was lost."""
    async def main():
        forger = Forger()
        forger.start()
        try:
            client = DnsClient([forger.address], timeout=2, retries=0)
            single = await client.query("www.example", "A")
            many = await client.query_many([f"h{i}.example" for i in range(5)], "A")
            return [single, *many]
        finally:
            forger.close()

    results = run_without_loop_errors(main)
    assert [(r.outcome, r.records) for r in results] == [(DnsOutcome.OK, ("192.0.2.80",))] * 6


def test_queries_leave_from_many_random_ports():
    """200 queries in flight at once: each source port carries at most QUERIES_PER_PORT of
    them (before issue 14: all 200 left from one port)."""
    async def main():
        forger = Forger(delay=0.1)
        forger.start()
        try:
            client = DnsClient([forger.address], timeout=3, retries=0)
            results = await asyncio.gather(*(client.query(f"n{i}.example", "A")
                                             for i in range(200)))
            return results, forger.ports, client._servers[0]
        finally:
            forger.close()

    results, ports, mux = run_without_loop_errors(main)
    assert {r.outcome for r in results} == {DnsOutcome.OK}
    assert sum(len(ids) for ids in ports.values()) == 200
    assert max(len(ids) for ids in ports.values()) <= wire.QUERIES_PER_PORT
    assert len(ports) >= 200 // wire.QUERIES_PER_PORT
    assert mux.in_flight == 0 and mux._port is None          # every socket closed when idle
