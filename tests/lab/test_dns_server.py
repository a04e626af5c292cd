"""LabDnsServer against dnspython's own client, over real loopback sockets."""

from __future__ import annotations

import asyncio
import socket
import struct

import dns.asyncresolver
import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver
import pytest

from scanner.lab.world import LabWorld

ZONE = """
$TTL 300
@        IN SOA ns1 hostmaster 2024010101 3600 600 86400 60
@        IN NS  ns1
@        IN MX  10 mx1
ns1      IN A   127.0.1.1
mx1      IN A   127.0.1.2
alias    IN CNAME mx1
alias2   IN CNAME alias
loop1    IN CNAME loop2
loop2    IN CNAME loop1
out      IN CNAME www.elsewhere.test.
deep.ent.sub IN TXT "x"
*.wild   IN TXT "wildcard"
long     IN TXT "\\128\\129\\255" "abc"  ; zone-file escapes are decimal
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with LabWorld(tmp_path_factory.mktemp("lab")) as w:
        w.dns.add_zone("example.test", ZONE)
        yield w


def ask(world, name, rdtype, *, tcp=False, timeout=2.0, **kw):
    query = dns.message.make_query(name, rdtype, **kw)
    send = dns.query.tcp if tcp else dns.query.udp
    return send(query, "127.0.0.1", port=world.dns.port, timeout=timeout)


def answer_texts(response):
    return [(rrset.name.to_text(), dns.rdatatype.to_text(rrset.rdtype), sorted(r.to_text() for r in rrset))
            for rrset in response.answer]


def test_exact_answer_is_authoritative(world):
    r = ask(world, "mx1.example.test", "A")
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.AA
    assert answer_texts(r) == [("mx1.example.test.", "A", ["127.0.1.2"])]


def test_same_answer_over_tcp(world):
    r = ask(world, "example.test", "MX", tcp=True)
    assert answer_texts(r) == [("example.test.", "MX", ["10 mx1.example.test."])]


def test_cname_chain_is_followed(world):
    r = ask(world, "alias2.example.test", "A")
    assert answer_texts(r) == [
        ("alias2.example.test.", "CNAME", ["alias.example.test."]),
        ("alias.example.test.", "CNAME", ["mx1.example.test."]),
        ("mx1.example.test.", "A", ["127.0.1.2"]),
    ]


def test_cname_query_returns_only_the_cname(world):
    r = ask(world, "alias.example.test", "CNAME")
    assert answer_texts(r) == [("alias.example.test.", "CNAME", ["mx1.example.test."])]


def test_cname_loop_terminates_and_server_survives(world):
    r = ask(world, "loop1.example.test", "A")
    assert r.rcode() == dns.rcode.NOERROR
    assert [rr.name.to_text() for rr in r.answer] == ["loop1.example.test.", "loop2.example.test."]
    assert ask(world, "mx1.example.test", "A").rcode() == dns.rcode.NOERROR


def test_cname_leaving_our_zones_stops(world):
    r = ask(world, "out.example.test", "A")
    assert r.rcode() == dns.rcode.NOERROR
    assert answer_texts(r) == [("out.example.test.", "CNAME", ["www.elsewhere.test."])]


def test_nxdomain_carries_soa(world):
    r = ask(world, "nope.example.test", "A")
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert r.answer == []
    assert [dns.rdatatype.to_text(rr.rdtype) for rr in r.authority] == ["SOA"]
    assert r.authority[0].ttl == 60  # min(SOA TTL, SOA minimum), RFC 2308


def test_nodata_is_noerror_with_soa(world):
    r = ask(world, "mx1.example.test", "AAAA")
    assert r.rcode() == dns.rcode.NOERROR
    assert r.answer == []
    assert r.authority[0].rdtype == dns.rdatatype.SOA


def test_empty_non_terminal_is_nodata(world):
    for name in ("ent.sub.example.test", "sub.example.test"):
        r = ask(world, name, "TXT")
        assert r.rcode() == dns.rcode.NOERROR and r.answer == []


def test_wildcard_is_synthesised(world):
    r = ask(world, "anything.wild.example.test", "TXT")
    assert answer_texts(r) == [("anything.wild.example.test.", "TXT", ['"wildcard"'])]
    assert ask(world, "a.b.wild.example.test", "TXT").answer  # deeper names match too
    assert ask(world, "wild.example.test", "TXT").rcode() == dns.rcode.NOERROR  # ENT


def test_outside_our_zones_is_refused(world):
    r = ask(world, "example.org", "A")
    assert r.rcode() == dns.rcode.REFUSED
    assert not r.flags & dns.flags.AA


def test_non_utf8_txt_served_as_given(world):
    r = ask(world, "long.example.test", "TXT")
    assert r.answer[0][0].strings == (b"\x80\x81\xff", b"abc")


def test_long_txt_split_in_strings(world):
    strings = " ".join(f'"{c * 255}"' for c in "abcd")
    world.dns.add_records("dkim._domainkey.example.test", "TXT", [strings])
    r = ask(world, "dkim._domainkey.example.test", "TXT", tcp=True)  # > 512 bytes
    assert b"".join(r.answer[0][0].strings) == b"a" * 255 + b"b" * 255 + b"c" * 255 + b"d" * 255


def test_add_records_creates_parent_zone_and_appends(world):
    world.dns.add_records("mail.newzone.test", "A", ["127.0.1.9"])
    world.dns.add_records("mail.newzone.test", "A", ["127.0.1.10"], ttl=60)
    r = ask(world, "mail.newzone.test", "A")
    assert answer_texts(r) == [("mail.newzone.test.", "A", ["127.0.1.10", "127.0.1.9"])]
    assert ask(world, "other.newzone.test", "A").rcode() == dns.rcode.NXDOMAIN  # zone newzone.test
    world.dns.add_records("mail.newzone.test", "A", ["127.0.1.11"], replace=True)
    assert answer_texts(ask(world, "mail.newzone.test", "A"))[0][2] == ["127.0.1.11"]


def test_add_zone_replaces_same_origin(world):
    world.dns.add_zone("swap.test", "@ 300 IN TXT \"one\"\n")
    world.dns.add_zone("swap.test.", "@ 300 IN TXT \"two\"\n")
    assert answer_texts(ask(world, "swap.test", "TXT"))[0][2] == ['"two"']
    assert ask(world, "nope.swap.test", "TXT").authority  # synthesised SOA


def test_ptr_zone(world):
    world.dns.add_zone("127.in-addr.arpa", "2.1.0 IN PTR mx1.example.test.\n")
    r = ask(world, "2.1.0.127.in-addr.arpa", "PTR")
    assert answer_texts(r) == [("2.1.0.127.in-addr.arpa.", "PTR", ["mx1.example.test."])]


def test_query_counts(world):
    before = world.dns.query_counts[("mx1.example.test", "TXT")]
    ask(world, "MX1.Example.Test", "TXT")
    ask(world, "mx1.example.test", "TXT", tcp=True)
    assert world.dns.query_counts[("mx1.example.test", "TXT")] == before + 2


def test_big_answer_truncated_over_udp_then_full_over_tcp(world):
    values = [f"{i} mx{i:03d}.big.test." for i in range(300)]
    world.dns.add_records("big.test", "MX", values)
    no_edns = ask(world, "big.test", "MX")
    assert no_edns.flags & dns.flags.TC and no_edns.answer == []
    with_edns = ask(world, "big.test", "MX", use_edns=0, payload=1232)
    assert with_edns.flags & dns.flags.TC
    full, used_tcp = dns.query.udp_with_fallback(
        dns.message.make_query("big.test", "MX"), "127.0.0.1", port=world.dns.port, timeout=2)
    assert used_tcp and len(full.answer[0]) == 300


def test_edns_payload_is_honoured(world):
    values = [f"{i} m{i}.mid.test." for i in range(40)]  # ~ 700 bytes: > 512, < 1232
    world.dns.add_records("mid.test", "MX", values)
    assert ask(world, "mid.test", "MX").flags & dns.flags.TC
    r = ask(world, "mid.test", "MX", use_edns=0, payload=1232)
    assert not r.flags & dns.flags.TC and len(r.answer[0]) == 40


def test_async_resolver_falls_back_to_tcp(world):
    async def resolve():
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = world.dns.port
        world.dns.add_records("big2.test", "MX", [f"{i} mx{i}.big2.test." for i in range(300)])
        return await resolver.resolve("big2.test", "MX", lifetime=3)

    answer = asyncio.run(resolve())
    assert len(answer.rrset) == 300


@pytest.mark.parametrize("behaviour,rcode", [("servfail", dns.rcode.SERVFAIL), ("refused", dns.rcode.REFUSED)])
def test_error_behaviours(world, behaviour, rcode):
    world.dns.add_records(f"{behaviour}.faults.test", "A", ["127.0.1.1"])
    world.dns.set_behaviour(f"{behaviour}.faults.test", behaviour)
    assert ask(world, f"{behaviour}.faults.test", "A").rcode() == rcode
    assert ask(world, f"{behaviour}.faults.test", "MX", tcp=True).rcode() == rcode
    world.dns.set_behaviour(f"{behaviour}.faults.test", "normal")
    assert ask(world, f"{behaviour}.faults.test", "A").rcode() == dns.rcode.NOERROR


def test_drop_makes_the_client_time_out(world):
    world.dns.set_behaviour("drop.faults.test", "drop")
    with pytest.raises(dns.exception.Timeout):
        ask(world, "drop.faults.test", "A", timeout=0.3)
    with pytest.raises(dns.exception.Timeout):
        ask(world, "drop.faults.test", "A", tcp=True, timeout=0.3)
    assert world.dns.query_counts[("drop.faults.test", "A")] == 2


def test_delay_answers_late(world):
    world.dns.add_records("slow.faults.test", "A", ["127.0.1.1"])
    world.dns.set_behaviour("slow.faults.test", "delay", delay=0.5)
    with pytest.raises(dns.exception.Timeout):
        ask(world, "slow.faults.test", "A", timeout=0.2)
    assert ask(world, "slow.faults.test", "A", timeout=2).answer


def test_tcp_pipelined_queries_on_one_connection(world):
    world.dns.set_behaviour("drop2.faults.test", "drop")
    with socket.create_connection(("127.0.0.1", world.dns.port), timeout=2) as sock:
        for qname in ("drop2.faults.test", "mx1.example.test", "ns1.example.test"):
            wire = dns.message.make_query(qname, "A").to_wire()
            sock.sendall(struct.pack("!H", len(wire)) + wire)
        names = set()
        for _ in range(2):  # the dropped one never answers, the others are not held up
            (length,) = struct.unpack("!H", _recv_exact(sock, 2))
            names.add(dns.message.from_wire(_recv_exact(sock, length)).question[0].name.to_text())
    assert names == {"mx1.example.test.", "ns1.example.test."}


def _recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        assert chunk
        data += chunk
    return data


def test_garbage_is_ignored(world):
    garbage = [b"", b"\x00", b"\xff" * 11, b"\x12\x34" + b"\x01\x00\x00\x01" + b"\xff" * 40, bytes(range(256))]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for packet in garbage:
            udp.sendto(packet, ("127.0.0.1", world.dns.port))
        # a response (QR set) is not answered either
        reply = dns.message.make_response(dns.message.make_query("mx1.example.test", "A"))
        udp.sendto(reply.to_wire(), ("127.0.0.1", world.dns.port))
    with socket.create_connection(("127.0.0.1", world.dns.port), timeout=2) as tcp:
        tcp.sendall(b"\x00\x05hello\x00\x03abc\xff")
    with socket.create_connection(("127.0.0.1", world.dns.port), timeout=2) as tcp:
        tcp.sendall(b"\x01")  # truncated length prefix, then hang up
    assert ask(world, "mx1.example.test", "A").rcode() == dns.rcode.NOERROR
    assert ask(world, "mx1.example.test", "A", tcp=True).rcode() == dns.rcode.NOERROR


def test_unknown_opcode_is_notimp(world):
    q = dns.message.make_query("mx1.example.test", "A")
    q.set_opcode(dns.opcode.NOTIFY)
    r = dns.query.udp(q, "127.0.0.1", port=world.dns.port, timeout=2)
    assert r.rcode() == dns.rcode.NOTIMP
