"""The DNS layer against the lab's DNS server: answers, the error taxonomy, retries, the cache."""
from __future__ import annotations

import asyncio
import socket

import pytest

from scanner.dns.client import DnsClient
from scanner.errors import UsageError
from scanner.evidence import DnsOutcome
from scanner.options import parse_nameserver

pytestmark = pytest.mark.lab


def ns(lab) -> tuple[str, int]:
    host, port = lab.nameserver.split(":")
    return host, int(port)


def run(coro_fn, *args, timeout=20):
    async def main():
        return await asyncio.wait_for(coro_fn(*args), timeout)
    return asyncio.run(main())


def closed_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def zone(lab, unique_zone):
    name = unique_zone()
    lab.dns.add_zone(name, f"""
@      MX 10 mx1.{name}.
@      MX 20 MX2.{name}.
@      TXT "v=spf1 " "-all"
@      TXT "caf\\195\\169 \\255"
mx1    A 127.0.1.1
alias  CNAME mx1.{name}.
loop1  CNAME loop2.{name}.
loop2  CNAME loop1.{name}.
""")
    return name


def test_answers_as_text(lab, zone):
    async def main():
        c = DnsClient([ns(lab)], timeout=2)
        return [await c.query(zone, "MX"), await c.query(zone, "TXT"),
                await c.query(f"mx1.{zone}", "A")]
    mx, txt, a = run(main)
    assert (mx.outcome, sorted(mx.records)) == (DnsOutcome.OK, [f"10 mx1.{zone}", f"20 mx2.{zone}"])
    assert (txt.outcome, sorted(txt.records)) == (DnsOutcome.OK, ["caf\u00e9 \\xff", "v=spf1 -all"])
    assert (a.outcome, a.records, a.canonical_name, a.via_cname) == (
        DnsOutcome.OK, ("127.0.1.1",), f"mx1.{zone}", False)


def test_cname_is_followed_and_recorded(lab, zone):
    res = run(lambda: DnsClient([ns(lab)], timeout=2).query(f"alias.{zone}", "A"))
    assert (res.outcome, res.records, res.canonical_name, res.via_cname) == (
        DnsOutcome.OK, ("127.0.1.1",), f"mx1.{zone}", True)


def test_cname_loop_is_an_error_not_a_hang(lab, zone):
    res = run(lambda: DnsClient([ns(lab)], timeout=2).query(f"loop1.{zone}", "A"))
    assert res.outcome is DnsOutcome.ERROR


@pytest.mark.parametrize("name, behaviour, outcome", [
    ("nx", None, DnsOutcome.NXDOMAIN),
    ("mx1", None, DnsOutcome.NODATA),     # exists, no MX
    ("sf", "servfail", DnsOutcome.SERVFAIL),
    ("rf", "refused", DnsOutcome.REFUSED),
])
def test_error_taxonomy(lab, zone, name, behaviour, outcome):
    qname = f"{name}.{zone}"
    if behaviour:
        lab.dns.add_records(qname, "A", ["127.0.1.2"])
        lab.dns.set_behaviour(qname, behaviour)
    res = run(lambda: DnsClient([ns(lab)], timeout=2).query(qname, "MX"))
    assert (res.name, res.rdtype, res.outcome) == (qname, "MX", outcome)


def test_name_outside_every_zone_is_refused(lab):
    res = run(lambda: DnsClient([ns(lab)], timeout=2).query("nowhere.invalid", "A"))
    assert res.outcome is DnsOutcome.REFUSED


def test_timeout_after_retries(lab, zone):
    qname = f"drop.{zone}"
    lab.dns.add_records(qname, "A", ["127.0.1.2"])
    lab.dns.set_behaviour(qname, "drop")
    res = run(lambda: DnsClient([ns(lab)], timeout=0.3, retries=2).query(qname, "A"))
    assert res.outcome is DnsOutcome.TIMEOUT
    assert lab.dns.query_counts[(qname, "A")] >= 2     # it was retried


def test_nothing_listening_is_an_error(lab):
    res = run(lambda: DnsClient([("127.0.0.1", closed_udp_port())], timeout=0.3, retries=1)
              .query("example.test", "A"))
    # UDP: the ICMP "port unreachable" is not seen by an unconnected socket, so it times out
    assert res.outcome is DnsOutcome.TIMEOUT


def test_large_answer_falls_back_to_tcp(lab, unique_zone):
    name = unique_zone()
    lab.dns.add_zone(name, "".join(f"@ MX {i} mx{i}.{name}.\n" for i in range(300)))
    res = run(lambda: DnsClient([ns(lab)], timeout=2).query(name, "MX"))
    assert (res.outcome, len(res.records)) == (DnsOutcome.OK, 300)


def test_one_query_per_question_per_client(lab, zone):
    async def main():
        c = DnsClient([ns(lab)], timeout=2)
        first = await asyncio.gather(*(c.query(n, "A") for n in
                                       [f"mx1.{zone}", f"MX1.{zone}.", f"mx1.{zone}"] * 5))
        again = await c.query(f"mx1.{zone}.", "a")
        return c.stats, first, again
    stats, first, again = run(main)
    assert {r.records for r in first} == {("127.0.1.1",)} and again.records == ("127.0.1.1",)
    assert lab.dns.query_counts[(f"mx1.{zone}", "A")] == 1
    assert (stats.queries, stats.cache_hits) == (1, 15)


def test_each_client_has_its_own_cache(lab, zone):
    async def main():
        for _ in range(2):
            await DnsClient([ns(lab)], timeout=2).query(zone, "TXT")
    run(main)
    assert lab.dns.query_counts[(zone, "TXT")] == 2


@pytest.mark.parametrize("text, parsed", [
    ("127.0.0.1", ("127.0.0.1", 53)),
    ("127.0.0.1:5353", ("127.0.0.1", 5353)),
    (" 10.0.0.1:53 ", ("10.0.0.1", 53)),
    ("::1", ("::1", 53)),
    ("[::1]", ("::1", 53)),
    ("[::1]:5353", ("::1", 5353)),
])
def test_parse_nameserver(text, parsed):
    assert parse_nameserver(text) == parsed


@pytest.mark.parametrize("text", ["dns.example", "127.0.0.1:0", "127.0.0.1:99999", "127.0.0.1:x",
                                  "[::1]:x", ""])
def test_parse_nameserver_rejects(text):
    with pytest.raises(UsageError):
        parse_nameserver(text)


def test_system_nameservers_reads_resolv_conf_without_querying(monkeypatch, tmp_path):
    """Without --nameserver the system's resolvers are used: addresses from resolv.conf
    come back as strings from dnspython, with the resolver's port."""
    import dns.resolver

    from scanner.dns import client as dnsclient
    from scanner.errors import UsageError

    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 127.0.0.9\nnameserver ::1\n")
    real = dns.resolver.Resolver
    monkeypatch.setattr(dns.resolver, "Resolver",
                        lambda configure=True: real(filename=str(conf), configure=configure))
    assert dnsclient.system_nameservers() == [("127.0.0.9", 53), ("::1", 53)]
    conf.write_text("# nothing\n")
    with pytest.raises(UsageError, match="--nameserver"):
        dnsclient.system_nameservers()


class _LossyResponder(asyncio.DatagramProtocol):
    """Answers A queries with 127.0.1.9, but only the second copy of each query: the first
    is "lost", as a datagram dropped by a full socket buffer would be."""

    def __init__(self) -> None:
        self.seen: dict[bytes, int] = {}

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        import dns.message
        self.seen[data[:2]] = copies = self.seen.get(data[:2], 0) + 1
        if copies == 2:
            query = dns.message.from_wire(data)
            reply = dns.message.make_response(query)
            reply.answer.append(dns.rrset.from_text(query.question[0].name, 60, "IN", "A",
                                                    "127.0.1.9"))
            self.transport.sendto(reply.to_wire(), addr)


def test_a_lost_datagram_is_sent_again_within_the_step(monkeypatch):
    """The same query (same ID) goes out again after RETRANSMIT_S, well before the step's
    timeout, and its answer is taken: a loss costs a second, not the whole timeout."""
    import dns.rrset  # noqa: F401  (used by the responder)
    from scanner.dns import wire as dnswire
    monkeypatch.setattr(dnswire, "RETRANSMIT_S", 0.05)

    async def main():
        loop = asyncio.get_running_loop()
        transport, responder = await loop.create_datagram_endpoint(
            _LossyResponder, local_addr=("127.0.0.1", 0))
        try:
            client = DnsClient([transport.get_extra_info("sockname")[:2]], timeout=30, retries=0)
            res = await client.query("lossy.example.test", "A")
            return res, responder.seen, client._servers[0].retransmits
        finally:
            transport.close()
    res, seen, retransmits = run(main)   # (run() gives up long before the 30 s timeout)
    assert (res.outcome, res.records) == (DnsOutcome.OK, ("127.0.1.9",))
    assert list(seen.values()) == [2] and retransmits == 1   # one ID, sent twice


def test_retransmits_and_expiry_follow_each_querys_own_timeout(monkeypatch):
    """One sweep per nameserver handles due queries (no timer per query): a short-timeout
    query asked while a long one waits still expires first, each is sent again on its own
    schedule, and the same UdpMux works in a second event loop (no sweep left armed on the
    first one's)."""
    import socket
    from scanner.dns import wire as dnswire
    monkeypatch.setattr(dnswire, "RETRANSMIT_S", 0.05)
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)    # hears, never answers
    silent.bind(("127.0.0.1", 0))
    mux = dnswire.UdpMux(*silent.getsockname()[:2])
    wire = dnswire.name_query_wire(dnswire.plain_name_wire("quiet.example.test"), 1)
    ended: list[str] = []

    async def ask(name: str, timeout: float):
        got = await mux.ask(wire, 1, timeout)
        ended.append(name)
        return got

    async def main():
        return await asyncio.gather(ask("long", 2.0), ask("short", 0.12))

    try:
        assert run(main) == [None, None]
        assert ended == ["short", "long"]
        # short: sent at 0 and 0.05, expires at 0.12; long: sent at 0, 0.05, 0.15, 0.35, 0.75,
        # 1.55, expires at 2.0 (fewer copies if the machine stalls the loop)
        assert mux.retransmits >= 2
        assert run(lambda: ask("again", 0.12)) is None    # a new loop: armed there
        assert mux.in_flight == 0
    finally:
        silent.close()
