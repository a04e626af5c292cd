"""Counting tests for the DNS fast path (scanner/dns/wire.py): one query per question per scan,
however many askers; concurrent queries share one socket; stray datagrams are ignored."""
from __future__ import annotations

import asyncio
import socket

import dns.message
import pytest

from scanner.dns.client import DnsClient
from scanner.dns.wire import UdpMux
from scanner.evidence.dns import DnsOutcome

pytestmark = pytest.mark.lab


def _ns(lab) -> tuple[str, int]:
    host, port = lab.nameserver.split(":")
    return host, int(port)


def test_many_askers_many_names_one_query_each(lab, unique_zone):
    zone = unique_zone()
    lab.dns.add_zone(zone, "".join(f"h{i} A 127.0.1.{i + 1}\n" for i in range(50)))

    async def main():
        client = DnsClient([_ns(lab)], timeout=2)
        names = [f"h{i}.{zone}" for i in range(50)] * 4
        return client.stats, await asyncio.wait_for(
            asyncio.gather(*(client.query(n, "A") for n in names)), 10)

    stats, results = asyncio.run(main())
    assert {r.outcome for r in results} == {DnsOutcome.OK}
    assert all(r.records == (f"127.0.1.{int(r.name.split('.')[0][1:]) + 1}",) for r in results)
    assert [lab.dns.query_counts[(f"h{i}.{zone}", "A")] for i in range(50)] == [1] * 50


def test_concurrent_queries_share_one_socket_and_close_when_idle(lab, unique_zone):
    zone = unique_zone()
    lab.dns.add_zone(zone, "a A 127.0.1.1\nb A 127.0.1.2\n")
    mux = UdpMux(*_ns(lab))
    opened = []

    async def main():
        real = mux._open

        def counting():
            opened.append((mux.ip, mux.port))
            return real()
        mux._open = counting
        queries = [dns.message.make_query(f"{n}.{zone}", "A") for n in ("a", "b", "a")]
        answers = await asyncio.wait_for(asyncio.gather(*(mux.exchange(q, 2) for q in queries)), 10)
        return answers, mux._port

    answers, after = asyncio.run(main())
    assert [a.answer[0][0].to_text() for a in answers] == ["127.0.1.1", "127.0.1.2", "127.0.1.1"]
    assert opened == [_ns(lab)]        # three concurrent queries, one socket
    assert after is None               # closed once nothing was in flight


def test_stray_datagrams_are_ignored():
    """A reply with an unknown ID, or garbage, never completes a query: it times out."""
    async def main():
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        mux = UdpMux("127.0.0.1", sock.getsockname()[1])
        loop = asyncio.get_running_loop()

        async def liar():
            data, addr = await loop.sock_recvfrom(sock, 512)
            q = dns.message.from_wire(data)
            wrong = dns.message.make_response(q)
            wrong.id = (q.id + 1) % 65536
            await loop.sock_sendto(sock, wrong.to_wire(), addr)
            await loop.sock_sendto(sock, b"\x00" * 5, addr)
            await loop.sock_sendto(sock, data[:2] + b"junk" * 3, addr)

        liar_task = asyncio.ensure_future(liar())
        got = await mux.exchange(dns.message.make_query("x.test", "A"), 0.3)
        await asyncio.wait_for(liar_task, 2)
        sock.close()
        return got

    assert asyncio.run(main()) is None


def test_lab_answers_take_the_fast_path(lab, unique_zone, monkeypatch):
    """Ordinary answers from a real server are read by ``parse_reply``: dnspython's parser
    is not called for them (it is the fallback, checked in test_dnswire_parse.py)."""
    from scanner.dns import wire as dnswire

    zone = unique_zone()
    lab.dns.add_zone(zone, f"""
@      MX 10 mx1.{zone}.
@      TXT "v=spf1 " "-all"
mx1    A 127.0.1.1
mx1    AAAA ::1
alias  CNAME mx1.{zone}.
""")
    slow = []
    real = dnswire.parse_with_dnspython
    monkeypatch.setattr(dnswire, "parse_with_dnspython", lambda *a: slow.append(a) or real(*a))

    async def main():
        client = DnsClient([_ns(lab)], timeout=2)
        asks = [(zone, "MX"), (zone, "TXT"), (f"mx1.{zone}", "A"), (f"alias.{zone}", "AAAA"),
                (f"nx.{zone}", "TXT"), (f"mx1.{zone}", "TXT")]
        return [await asyncio.wait_for(client.query(n, t), 5) for n, t in asks]

    mx, txt, a, aaaa, nx, nodata = asyncio.run(main())
    assert (mx.records, txt.records, a.records) == ((f"10 mx1.{zone}",), ("v=spf1 -all",), ("127.0.1.1",))
    assert (aaaa.records, aaaa.canonical_name) == (("::1",), f"mx1.{zone}")
    assert (nx.outcome, nodata.outcome) == (DnsOutcome.NXDOMAIN, DnsOutcome.NODATA)
    assert slow == []
