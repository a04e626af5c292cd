"""Differential test of the bench world's DNS fast path (bench/world.py).

``DnsServer.answer(data, tcp=...)`` builds plain responses by hand; ``fast=False`` is the
dnspython path it replaces. Every query shape the bench produces, and the odd ones, must get
the same bytes from both (dnspython's rdataset shuffle is switched off so multi-record answers
compare byte for byte; a separate test compares them with the shuffle on after parsing), and the
same statistics. No network: bytes in, bytes out.
"""
from __future__ import annotations

import base64
import importlib.util
import struct
import sys
import types
from collections import Counter
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rdataset
import dns.rdatatype
import pytest

_PATH = Path(__file__).resolve().parents[2] / "bench" / "world.py"
_spec = importlib.util.spec_from_file_location("mxaudit_bench_world_under_test", _PATH)
bw = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = bw          # dataclasses look their module up while the file executes
_spec.loader.exec_module(bw)
bw._DKIM_KEY = base64.b64encode(bytes(range(256)) + bytes(38)).decode()   # 392 chars, no RSA keygen

_EXTRA = {
    "big.test": {"TXT": ["x" * 3000], "A": [f"127.0.9.{i}" for i in range(1, 41)]},
    "many.test": {"MX": [f"{i} mx{i}.many.test." for i in range(30)],
                  "NS": ["ns1.other.example.", "ns2.other.example.", "ns.test."],
                  "AAAA": ["::1", "2001:db8::5"], "SOA": [bw.SOA], "PTR": ["Mixed.Case.Test."]},
    # past offset 0x3FFF dnspython registers no new suffix: the pairs' groupN.* stop compressing
    "huge.test": {"MX": [f"{i} mx{i:05d}.group{i // 2}.a-rather-long-label-to-fill-the-message.example."
                         for i in range(700)]},
    "srv.test": {"SRV": ["0 5 443 target.srv.test.", "10 0 25 ."]},
    "null.test": {"MX": ["0 ."]},
    "cname.test": {"CNAME": ["d000000.test."]},
    "caa.test": {"CAA": ['0 issue "ca.test"']},             # a type the fast path does not encode
    "quote.test": {"TXT": ['a "quoted" \\ value']},        # a value it does not encode
    "upper6.test": {"AAAA": ["2001:DB8::5"]},              # non-canonical: left to dnspython
    "dup.test": {"A": ["127.0.0.1", "127.0.0.1"]},
    "empty.test": {"TXT": []},
}


class BigWorld(bw.World):
    """The bench world plus nodes that exercise TC, compression limits and the fallbacks."""

    def node(self, name):
        if name in _EXTRA:
            return _EXTRA[name]
        labels = name.split(".")
        if len(labels) == 3 and labels[1:] == ["size", "test"] and labels[0].isdigit():
            return {"TXT": ["y" * int(labels[0])]}           # "<n>.size.test": an n-byte TXT
        return super().node(name)


def _server(world=None) -> "bw.DnsServer":
    return bw.DnsServer(world or BigWorld(50), 0, Counter())


@pytest.fixture
def no_shuffle(monkeypatch):
    monkeypatch.setattr(dns.rdataset, "random", types.SimpleNamespace(shuffle=lambda items: None))


SELECTORS = ["k1", "k2", "k3", "fm1", "fm2", "fm3", "selector1", "selector2", "s1", "s2",
             "protonmail1", "protonmail2", "protonmail3", "google", "mandrill", "protonmail",
             "zoho", "sig1", "mailjet", "smtp", "mx", "default", "dkim", "mail", "sel1"]


def _rev(ip: str) -> str:
    return ".".join(reversed(ip.split("."))) + ".in-addr.arpa"


def bench_names() -> list[str]:
    names = []
    for i in (0, 6, 8, 9, 49):            # providers A and B, own hosts; the full set for 3
        d = bw.domain_name(i)
        names += [d] + [h for h, _ in bw.mx_hosts(i)] + [_rev(ip) for _, ip in bw.mx_hosts(i)]
        if i > 8:
            continue
        names += [f"_dmarc.{d}", f"_mta-sts.{d}", f"_smtp._tls.{d}", f"default._bimi.{d}",
                  f"_domainkey.{d}", f"_submission._tcp.{d}", f"_submissions._tcp.{d}"]
        names += [f"{s}._domainkey.{d}" for s in SELECTORS]
    names += ["mx-d000001.own.test", "own.test", "provider-a.test", "provider-c.test",
              "_spf.provider-a.test", "_spf.provider-b.test", "_spf.provider-c.test",
              "mx3.provider-a.test", "ns.test", "test", "d000999.test", "nope.test",
              "a.b.c.d000000.test", "9.9.9.9.in-addr.arpa", _rev(bw.own_ip(8)), _rev("127.21.9.9"),
              "in-addr.arpa", "1.0.20.127.in-addr.arpa.example", "example.com", "com",
              "x.y.22.127.in-addr.arpa",   # the world raises on it: no answer from either path
              "D000000.TeSt", "_DMARC.d000001.TEST", "SEL1._DomainKey.D000002.test",
              "MX1.Provider-A.test", "1.0.20.127.IN-ADDR.ARPA", "Mx-D000008.OWN.test"]
    names += list(_EXTRA) + ["NULL.test", "Many.TEST"]
    return names


TYPES = ["MX", "TXT", "A", "AAAA", "PTR", "NS", "SOA", "SRV", "CAA", "TLSA", "CNAME", "ANY"]


def _query(name: str, rdtype, *, edns=None, flags=None, qid=4660) -> bytes:
    q = dns.message.make_query(name, rdtype, use_edns=edns is not None,
                               payload=edns or 1232, want_dnssec=False)
    if flags is not None:
        q.flags = flags
    q.id = qid
    return q.to_wire()


def _same(fast_server, slow_server, wire: bytes, tcp: bool) -> bytes | None:
    fast = fast_server.answer(wire, tcp=tcp)
    slow = slow_server.answer(wire, tcp=tcp, fast=False)
    assert fast == slow, (wire, tcp, fast, slow)
    return fast


FALLBACKS = {("caa.test", "CAA"), ("quote.test", "TXT"), ("dup.test", "A"), ("empty.test", "TXT"),
             ("upper6.test", "AAAA")}


def test_every_shape_same_bytes_and_stats_as_dnspython(no_shuffle):
    fast_server, slow_server, probe = _server(), _server(), _server()
    handled = total = 0
    for name in bench_names():
        for rdtype in TYPES:
            for edns, tcp in ((None, False), (1232, False), (1232, True)):
                wire = _query(name, rdtype, edns=edns)
                handled += probe._fast_answer(wire, tcp) is not bw._SLOW
                total += 1
                _same(fast_server, slow_server, wire, tcp)
    assert fast_server.stats == slow_server.stats
    assert slow_server.stats["q TXT k#._domainkey.d######.test."] == 3 * 3 * 3
    # d000000, 6, 8, 9, 49, 999 (NXDOMAIN) and D000000.TeSt, in 3 EDNS/transport variants
    assert slow_server.stats["q MX d######.test."] == 7 * 3
    assert slow_server.stats["q A mx#.provider-a.test."] == 4 * 3   # mx1 twice, mx2, mx3
    assert handled == total - len(FALLBACKS) * 3   # the fast path answered all the plain ones


def test_statistics_match_exactly():
    fast_server, slow_server = _server(), _server()
    wires = [_query(n, t, edns=e) for n in bench_names() for t in ("TXT", "CAA") for e in (None, 1232)]
    for wire in wires:
        fast_server.answer(wire, tcp=False)
        slow_server.answer(wire, tcp=False, fast=False)
    assert fast_server.stats == slow_server.stats
    assert fast_server.stats["dns_queries"] == len(wires)
    assert fast_server.stats["q TXT _dmarc.d######.test."] == 4 * 2   # 3 domains + _DMARC.d000001


def test_flags_ids_and_edns_variants(no_shuffle):
    fast_server, slow_server = _server(), _server()
    for name in ("d000000.test", "sel1._domainkey.d000001.test", "nope.test", "example.org",
                 "many.test"):
        for flags in (0, dns.flags.RD, dns.flags.RD | dns.flags.AD, dns.flags.CD | dns.flags.AD):
            for edns in (None, 1, 511, 512, 1232, 65535):
                for qid in (0, 1, 65535):
                    for tcp in (False, True):
                        wire = _query(name, "MX", edns=edns, flags=flags, qid=qid)
                        assert fast_server._fast_answer(wire, tcp) is not bw._SLOW
                        _same(fast_server, slow_server, wire, tcp)
    # the OPT TTL (extended rcode, version, DO) is ignored by make_response: so by the fast path
    q = dns.message.make_query("d000000.test", "MX", use_edns=0, want_dnssec=True)
    _same(fast_server, slow_server, q.to_wire(), False)
    wire = bytearray(_query("d000000.test", "MX", edns=1232))
    wire[-6:-4] = b"\x01\x01"          # extended rcode bits 1, EDNS version 1
    _same(fast_server, slow_server, bytes(wire), False)


def test_truncation_boundaries(no_shuffle):
    fast_server, slow_server = _server(), _server()
    seen_tc = set()
    for n in range(440, 560):      # 43 + n + strings (+ 11 with EDNS) bytes: crosses every limit
        for edns in (None, 512, 600):
            for tcp in (False, True) if n % 10 == 0 else (False,):
                r = _same(fast_server, slow_server, _query(f"{n}.size.test", "TXT", edns=edns), tcp)
                seen_tc.add((edns, tcp, bool(r[2] & 0x02)))
                assert bool(r[2] & 0x02) == (not tcp and 43 + n - (-n // 255) + (11 if edns else 0) > (edns or 512))
    assert {(e, False, tc) for e in (None, 512, 600) for tc in (False, True)} <= seen_tc
    too_big = {("big.test", "TXT"): (None, 1232), ("big.test", "A"): (None,),
               ("huge.test", "MX"): (None, 1232, 4096)}     # UDP payloads each overflows
    for (name, rdtype), overflows in too_big.items():
        for edns in (None, 1232, 4096, 65535):
            for tcp in (False, True):
                wire = _query(name, rdtype, edns=edns)
                assert fast_server._fast_answer(wire, tcp) is not bw._SLOW
                m = dns.message.from_wire(_same(fast_server, slow_server, wire, tcp))
                assert bool(m.flags & dns.flags.TC) == (not tcp and edns in overflows)
                if m.flags & dns.flags.TC:
                    assert m.payload == (8192 if edns else 0) and not m.answer
    big = dns.message.from_wire(_same(fast_server, slow_server, _query("huge.test", "MX"), True))
    assert len(big.answer[0]) == 700


def test_question_echoed_in_the_case_received():
    server = _server()
    for name in ("D000000.TeSt", "d000000.test", "_DmArC.D000003.tEsT"):
        wire = _query(name, "TXT", edns=1232)
        r = server.answer(wire, tcp=False)
        end = 12 + len(dns.name.from_text(name).to_wire()) + 4
        assert r[12:end] == wire[12:end]
        assert dns.message.from_wire(r).question[0].name.labels == dns.name.from_text(name).labels


def _raw_query(qname_wire: bytes, *, qtype=15, qclass=1, flags=0x0100, counts=(1, 0, 0, 0),
               tail=b"") -> bytes:
    return struct.pack("!HHHHHH", 99, flags, *counts) + qname_wire + struct.pack("!HH", qtype, qclass) + tail


def _odd_queries() -> dict[str, bytes]:
    d0 = dns.name.from_text("d000000.test").to_wire()
    opt = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00"
    two = dns.message.make_query("d000000.test", "MX")
    two.question.append(two.question[0].__class__(dns.name.from_text("d000001.test"), 1, 15))
    notify = dns.message.make_query("d000000.test", "SOA")
    notify.set_opcode(dns.opcode.NOTIFY)
    cookie = dns.message.make_query("d000000.test", "MX", use_edns=0,
                                    options=[dns.edns.GenericOption(10, b"12345678")])
    padded = dns.message.make_query("d000000.test", "MX", use_edns=0,
                                    options=[dns.edns.GenericOption(12, b"\x00" * 8)])
    escaped = dns.message.make_query(dns.name.Name([b"a.b", b"d000000", b"test", b""]), "MX")
    spaced = dns.message.make_query(dns.name.Name([b"a b", b"d000000", b"test", b""]), "TXT")
    response = dns.message.make_response(dns.message.make_query("d000000.test", "MX")).to_wire()
    named = {"cookie": cookie.to_wire(), "padded": padded.to_wire()}
    return named | {str(k): w for k, w in enumerate([
        b"", b"\x00" * 11, b"\x00" * 12, _raw_query(d0)[:-2], _raw_query(d0) + b"junk",
        _raw_query(d0, qclass=3), _raw_query(d0, qclass=255), _raw_query(d0, flags=0x8100),
        _raw_query(d0, flags=0x0500), _raw_query(d0, flags=0x0300), _raw_query(d0, flags=0x0140),
        _raw_query(d0, flags=0x0101), _raw_query(d0, counts=(0, 0, 0, 0)),
        _raw_query(d0, counts=(1, 1, 0, 0)), _raw_query(d0, counts=(1, 0, 1, 0)),
        _raw_query(d0, counts=(1, 0, 0, 2), tail=opt + b"\x00\x00" + opt + b"\x00\x00"),
        _raw_query(d0, counts=(1, 0, 0, 1), tail=opt + b"\x00\x04\x00\x0a\x00\x00"),
        _raw_query(d0, counts=(1, 0, 0, 1), tail=b"\x01a" + opt[1:] + b"\x00\x00"),
        _raw_query(d0, counts=(1, 0, 0, 1), tail=opt),                     # OPT cut short
        _raw_query(b"\x00"), _raw_query(b"\x05mx-d0\xc0\x0c"), _raw_query(b"\x41" + b"a" * 65 + b"\x00"),
        _raw_query(b"\x3f" + b"a" * 63 + b"\x3f" + b"b" * 63 + b"\x3f" + b"c" * 63
                   + b"\x3f" + b"d" * 63 + b"\x04test\x00"),              # 262 bytes: too long
        _raw_query(b"\x07d000000\x04t\xc3st\x00"),                          # non-ASCII label
        two.to_wire(), notify.to_wire(), escaped.to_wire(), spaced.to_wire(), response,
    ])}


def test_odd_queries_go_to_dnspython_unchanged(no_shuffle):
    fast_server, slow_server = _server(), _server()
    for wire in _odd_queries().values():
        for tcp in (False, True):
            assert fast_server._fast_answer(wire, tcp) is bw._SLOW, wire
            _same(fast_server, slow_server, wire, tcp)
    assert fast_server.stats == slow_server.stats
    # some of them do get an answer (through dnspython), e.g. the cookie and padded queries
    assert dns.message.from_wire(fast_server.answer(_odd_queries()["cookie"], tcp=False)).answer
    padded = dns.message.from_wire(fast_server.answer(_odd_queries()["padded"], tcp=False))
    assert any(o.otype == 12 for o in padded.options)


def test_fallback_nodes_go_to_dnspython(no_shuffle):
    server = _server()
    for name, rdtype in (("caa.test", "CAA"), ("quote.test", "TXT"), ("dup.test", "A"),
                         ("empty.test", "TXT"), ("upper6.test", "AAAA")):
        wire = _query(name, rdtype, edns=1232)
        assert server._fast_answer(wire, False) is bw._SLOW
    # other types at those nodes are plain NODATA, answered fast
    assert server._fast_answer(_query("caa.test", "TXT"), False) is not bw._SLOW


def test_multi_record_answers_equal_after_parsing_with_dnspython_shuffle():
    fast_server, slow_server = _server(), _server()
    for name, rdtype in (("d000000.test", "MX"), ("D000006.Test", "MX"), ("many.test", "MX"),
                         ("many.test", "NS"), ("many.test", "AAAA"), ("test", "NS"),
                         ("srv.test", "SRV"), ("big.test", "A")):
        for edns in (None, 1232):
            for tcp in (False, True):
                wire = _query(name, rdtype, edns=edns)
                fast = dns.message.from_wire(fast_server.answer(wire, tcp=tcp))
                slow = dns.message.from_wire(slow_server.answer(wire, tcp=tcp, fast=False))
                assert (fast.id, fast.flags, fast.rcode(), fast.question) == \
                       (slow.id, slow.flags, slow.rcode(), slow.question)
                assert (fast.answer, fast.authority, fast.additional) == \
                       (slow.answer, slow.authority, slow.additional)
                assert (fast.edns, fast.payload, fast.options) == (slow.edns, slow.payload, slow.options)
                assert fast.answer or fast.flags & dns.flags.TC


def test_udp_and_tcp_listeners_answer_what_answer_returns():
    """The selector-driven UDP reader (drains many datagrams per wake-up) and the TCP server,
    on a loopback ephemeral port: every query gets answer()'s bytes back."""
    import asyncio
    import socket

    wires = [_query(n, "TXT", edns=1232, qid=k) for k, n in enumerate(bench_names()[:100])]

    async def main():
        server = _server()
        server.port = 0
        await server.start()
        loop = asyncio.get_running_loop()
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        client.setblocking(False)
        try:
            client.connect(server._udp.getsockname())
            for wire in wires:            # all in flight at once: one wake-up reads many
                client.send(wire)
            got = {}
            while len(got) < len(wires):
                r = await asyncio.wait_for(loop.sock_recv(client, 4096), 5)
                got[r[:2]] = r
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(*server._tcp_server.sockets[0].getsockname()[:2]), 5)
            writer.write(struct.pack("!H", len(wires[0])) + wires[0])
            (length,) = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2), 5))
            tcp = await asyncio.wait_for(reader.readexactly(length), 5)
            writer.close()
            return got, tcp, server
        finally:
            client.close()
            loop.remove_reader(server._udp)
            server._udp.close()
            server._tcp_server.close()

    got, tcp, server = asyncio.run(asyncio.wait_for(main(), 20))
    check = _server()
    assert [got[w[:2]] for w in wires] == [check.answer(w, tcp=False) for w in wires]
    assert tcp == check.answer(wires[0], tcp=True)
    assert server.stats["dns_queries"] == len(wires) + 1
