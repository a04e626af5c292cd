"""The hand parser of responses (scanner/dnswire.parse_reply) against the dnspython path it
short-cuts (``parse_with_dnspython`` + ``dnsclient._from_response``): on thousands of
responses built with dnspython for every shape the scanner asks, and on seeded random
mutations of them, whenever the hand parser answers, it answers exactly what the dnspython
path answers (or that path ignores the datagram too: never). When it is unsure it says so
(None) and the dnspython path runs, so the client's results cannot differ."""
from __future__ import annotations

import random

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from scanner.dns.client import _from_response
from scanner.dns.wire import parse_reply, parse_with_dnspython

QNAMES = ["example.com", "sel1._domainkey.d000001.test", "_dmarc.Mixed.Case.TEST",
          "4.3.2.1.in-addr.arpa", "x" * 63 + ".example"]
RDATA = {
    "A": ["192.0.2.1", "127.0.0.1", "0.0.0.0", "255.255.255.255"],
    "AAAA": ["::1", "2001:db8::", "::ffff:1.2.3.4", "2001:db8:0:0:1:0:0:1", "fe80::1:2:3:4"],
    "MX": ["10 mx1.example.com.", "20 MX2.Example.COM.", "0 .", "5 mx\\@odd.example.",
           "7 sp\\032ace.example.", "9 caf\\195\\169.example."],
    "TXT": ['"v=spf1 -all"', '""', '"a" "b" "c"', '"caf\\195\\169 \\255\\254"',
            " ".join(f'"{"k" * 255}"' for _ in range(3)) + ' "tail"', '"semi;colon" "q\\"uote"'],
    "CNAME": ["target.example.com.", "UPPER.Example.", "x\\.y.example."],
    "PTR": ["host.example.net.", "Host-2.EXAMPLE.net."],
    "NS": ["ns1.example.org.", "."],
    "TLSA": ["3 1 1 " + "ab" * 32],
    "SRV": ["0 5 25 mx.example.com."],
}
QTYPES = ["A", "AAAA", "MX", "TXT", "CNAME", "PTR", "NS", "TLSA"]
SOA = "ns.test. hostmaster.test. 1 3600 600 86400 300"


def _query(qname: str, qtype: str) -> dns.message.Message:
    return dns.message.make_query(qname, qtype, use_edns=0, payload=1232)


def _rrset(owner, rdtype: str, values) -> dns.rrset.RRset:
    return dns.rrset.from_text(owner, 300, "IN", rdtype, *values)


def _response(q, rcode=dns.rcode.NOERROR, answer=(), soa=False, case=None):
    r = dns.message.make_response(q, our_payload=1232)
    r.set_rcode(rcode)
    if case == "upper":
        r.question[0].name = dns.name.from_text(q.question[0].name.to_text().upper())
    for rrset in answer:
        r.answer.append(rrset)
    if soa:
        r.authority.append(_rrset("test.", "SOA", [SOA]))
    return r


def _chain(q, hops: int, rdtype: str, end: bool = True, loop: bool = False):
    """A CNAME chain of ``hops`` links from the qname (``loop``: the last points back)."""
    names = [q.question[0].name] + [dns.name.from_text(f"c{i}.Chain.example.") for i in range(hops)]
    rrsets = [_rrset(names[i], "CNAME", [names[i + 1].to_text()]) for i in range(hops)]
    if loop and hops:
        rrsets[-1] = _rrset(names[hops - 1], "CNAME", [names[0].to_text()])
    elif end and rdtype in RDATA:
        rrsets.append(_rrset(names[-1], rdtype, RDATA[rdtype][:2]))
    return rrsets


def shapes(qname: str, qtype: str):
    """(label, message) for every response shape the client may see for (qname, qtype)."""
    q = _query(qname, qtype)
    own = q.question[0].name
    values = RDATA.get(qtype, [])
    out = [("nxdomain", _response(q, dns.rcode.NXDOMAIN, soa=True)),
           ("nxdomain-bare", _response(q, dns.rcode.NXDOMAIN)),
           ("nodata", _response(q, soa=True)),
           ("nodata-bare", _response(q)),
           ("upper-question", _response(q, answer=[_rrset(own, qtype, values[:1])] if values else [],
                                        case="upper")),
           ("other-name", _response(q, answer=[_rrset("other.example.", qtype, values[:1])]
                                    if values else [])),
           ("other-type", _response(q, answer=[_rrset(own, "A" if qtype != "A" else "AAAA",
                                                      RDATA["A" if qtype != "A" else "AAAA"][:1])])),
           ("srv-extra", _response(q, answer=[_rrset(own, "SRV", RDATA["SRV"])])),
           ("nxdomain-with-cname", _response(q, dns.rcode.NXDOMAIN, answer=_chain(q, 1, qtype, False),
                                             soa=True)),
           ("nxdomain-with-chain", _response(q, dns.rcode.NXDOMAIN, answer=_chain(q, 3, qtype),
                                             soa=True))]
    for value in values:
        out.append((f"one {value[:20]}", _response(q, answer=[_rrset(own, qtype, [value])])))
        out.append((f"upper-owner {value[:20]}",
                    _response(q, answer=[_rrset(own.to_text().upper(), qtype, [value])])))
    if values:
        out.append(("all", _response(q, answer=[_rrset(own, qtype, values)])))
        out.append(("reversed", _response(q, answer=[_rrset(own, qtype, values[::-1])])))
        dup = [_rrset(own, qtype, values[:2]), _rrset(own.to_text().upper(), qtype, values[:1]),
               _rrset(own, qtype, values[1:3])]
        out.append(("duplicates", _response(q, answer=dup)))
    for hops in (1, 2, 5, 15, 16, 17, 20):
        chain = _chain(q, hops, qtype)
        out.append((f"chain {hops}", _response(q, answer=chain, soa=True)))
        out.append((f"chain {hops} shuffled",
                    _response(q, answer=random.Random(hops).sample(chain, len(chain)))))
        out.append((f"chain {hops} dangling", _response(q, answer=_chain(q, hops, qtype, False),
                                                         soa=True)))
    for hops in (1, 2, 3):
        out.append((f"loop {hops}", _response(q, answer=_chain(q, hops, qtype, loop=True))))
    two_cnames = [_rrset(own, "CNAME", ["first.example."]), _rrset(own, "CNAME", ["second.example."])]
    if values:
        two_cnames += [_rrset("first.example.", qtype, values[:1]),
                       _rrset("second.example.", qtype, values[1:2] or values[:1])]
    out.append(("two cnames", _response(q, answer=two_cnames)))
    for rcode in (dns.rcode.SERVFAIL, dns.rcode.REFUSED, dns.rcode.FORMERR, dns.rcode.NOTIMP, 9, 15):
        out.append((f"rcode {rcode}", _response(q, rcode)))
    out.append(("badvers", _response(q, 16)))                   # extended RCODE in the OPT
    tc = _response(q, answer=[_rrset(own, qtype, values[:1])] if values else [])
    tc.flags |= dns.flags.TC
    out.append(("truncated", tc))
    empty = _response(q, dns.rcode.REFUSED)
    empty.question = []
    out.append(("no question", empty))
    opt_opts = _response(q, soa=True)
    opt_opts.use_edns(0, 0, 1232, options=[dns.edns.GenericOption(65001, b"xyz")])
    out.append(("opt options", opt_opts))
    return out


def _old(data: bytes, qname: str, qtype: str):
    q = _query(qname, qtype)
    response = parse_with_dnspython(data, q.question[0].name, q.question[0].rdtype)
    if response is None:
        return "ignored"
    return (response.flags & dns.flags.TC, response.rcode(),
            _from_response(qname.lower(), qtype, response))


def _new(data: bytes, qname: str, qtype: str):
    qkey = dns.name.from_text(qname).to_wire()[:-1].lower()
    reply = parse_reply(data, qkey, dns.rdatatype.from_text(qtype))
    if reply is None:
        return None
    return (reply.flags & dns.flags.TC, reply.rcode(), _from_response(qname.lower(), qtype, reply))


def _wires(qname: str, qtype: str):
    for label, message in shapes(qname, qtype):
        message.id = 4242
        yield label, message.to_wire()
        if label.startswith(("one", "all", "chain 2", "duplicates")):
            yield label + " uncompressed", _uncompressed(message)


def _uncompressed(message: dns.message.Message) -> bytes:
    return message.to_wire(compress=None) if _takes_compress() else message.to_wire()


def _takes_compress() -> bool:
    import inspect
    return "compress" in inspect.signature(dns.message.Message.to_wire).parameters


def _mutations(wire: bytes, rng: random.Random, count: int):
    for _ in range(count):
        data = bytearray(wire)
        kind = rng.randrange(5)
        pos = rng.randrange(len(data))
        if kind == 0:
            data[pos] = rng.randrange(256)
        elif kind == 1:
            data[pos] ^= 1 << rng.randrange(8)
        elif kind == 2:
            del data[pos:]
        elif kind == 3:
            data.insert(pos, rng.randrange(256))
        else:
            data[pos] = rng.choice([0, 63, 64, 0xC0, 0xC0 | (pos >> 8), 255])
            if pos + 1 < len(data):
                data[pos + 1] = rng.randrange(256)
        yield bytes(data)


@pytest.mark.parametrize("qtype", QTYPES)
def test_fast_path_matches_dnspython_on_every_shape(qtype):
    fast, fell_back = 0, set()
    for qname in QNAMES:
        for label, wire in _wires(qname, qtype):
            new = _new(wire, qname, qtype)
            if new is None:
                fell_back.add(label)
                continue
            fast += 1
            assert new == _old(wire, qname, qtype), (qname, label)
    # only what the hand parser does not read goes to dnspython: SRV records, an extended
    # RCODE, an empty question; and, for a type it does not format (TLSA), positive answers
    expected = {"srv-extra", "badvers", "no question"}
    if qtype == "TLSA":
        assert expected <= fell_back and not fell_back & {"nxdomain", "nodata", "nxdomain-bare",
                                                          "nodata-bare", "nxdomain-with-cname",
                                                          "other-type"}
    else:
        assert fell_back == expected and fast > 250


@pytest.mark.parametrize("qtype", QTYPES)
def test_fast_path_matches_dnspython_on_mutations(qtype):
    rng = random.Random(f"mutations-{qtype}")
    checked = fast = 0
    for qname in QNAMES[:3]:
        for label, wire in _wires(qname, qtype):
            for data in _mutations(wire, rng, 12):
                checked += 1
                new = _new(data, qname, qtype)
                if new is not None:
                    fast += 1
                    assert new == _old(data, qname, qtype), (qname, label, data.hex())
    assert checked > 2000 and fast > checked // 20     # mutations often break the message


def test_representative_answers():
    """What the fast path gives, spelled out (so the comparison above is not vacuous)."""
    q = _query("Sel._domainkey.Example.TEST", "TXT")
    own = q.question[0].name
    r = _response(q, answer=[
        _rrset(own, "CNAME", ["Key.Provider.example."]),
        _rrset("key.provider.example.", "TXT", ['"v=DKIM1; " "p=AB"', '"caf\\195\\169 \\255"']),
        _rrset("KEY.provider.example.", "TXT", ['"v=DKIM1; " "p=AB"'])])
    r.id = 1
    new = _new(r.to_wire(), "sel._domainkey.example.test", "TXT")
    # (dnspython's rdataset order depends on hashing: the differential tests compare orders)
    assert new is not None and sorted(new[2].records) == ["caf\u00e9 \\xff", "v=DKIM1; p=AB"]
    assert new[2].canonical_name == "key.provider.example" and new[2].via_cname
    mx = _response(_query("example.com", "MX"),
                   answer=[_rrset("example.com.", "MX", ["0 .", "10 MX1.Example.COM."])])
    mx.id = 1
    assert sorted(_new(mx.to_wire(), "example.com", "MX")[2].records) == ["0 .", "10 mx1.example.com"]
    loop = _response(q, answer=_chain(q, 2, "TXT", loop=True))
    loop.id = 1
    assert _new(loop.to_wire(), "sel._domainkey.example.test", "TXT")[2].detail == \
        "CNAME chain too long (loop?)"


@pytest.mark.parametrize("wire_edit", [
    lambda w: w + b"\x00",                              # trailing junk
    lambda w: w[:-1],                                   # truncated
    lambda w: w[:2] + bytes([w[2] & 0x7F]) + w[3:],     # QR clear: a query, not a response
])
def test_garbage_is_left_to_dnspython_which_ignores_it(wire_edit):
    q = _query("example.com", "A")
    r = _response(q, answer=[_rrset("example.com.", "A", ["192.0.2.1"])], soa=True)
    data = wire_edit(r.to_wire())
    assert _new(data, "example.com", "A") is None
    assert _old(data, "example.com", "A") == "ignored"


def _pointer_message(hops: int, label: bytes = b"a", target_edit=None) -> bytes:
    """A response to (example.com, MX) whose MX exchange is a chain of ``hops`` compression
    pointers: segments ``<label><pointer to the previous segment>``, each a TXT string (any
    earlier offset may be pointed at), the first one "x" and the root."""
    import struct

    qname = b"\x07example\x03com\x00"
    header = struct.pack("!HHHHHH", 7, 0x8180, 1, 2, 0, 0)
    body = header + qname + struct.pack("!HH", 15, 1)
    txt_start = len(body) + 2 + 10            # after the owner pointer and the RR header
    txt = bytearray(b"\x03\x01x\x00")          # one TXT string per segment
    offsets = [txt_start + 1]
    for _ in range(hops):
        segment = bytes([len(label)]) + label + struct.pack("!H", 0xC000 | offsets[-1])
        offsets.append(txt_start + len(txt) + 1)
        txt += bytes([len(segment)]) + segment
    body += b"\xc0\x0c" + struct.pack("!HHIH", 16, 1, 60, len(txt)) + txt
    target = offsets[-1] if target_edit is None else target_edit(len(body), offsets[-1])
    rdata = struct.pack("!H", 10) + struct.pack("!H", 0xC000 | target)
    return body + b"\xc0\x0c" + struct.pack("!HHIH", 15, 1, 60, len(rdata)) + rdata


@pytest.mark.parametrize("data, accepted", [
    (_pointer_message(0), True),
    (_pointer_message(14), True),                # 15 pointers in all: fine
    (_pointer_message(15), True),                # 16: dnspython's limit
    (_pointer_message(16), False),               # 17: too many
    (_pointer_message(3, b"y" * 63), True),      # 3 * 64 + 2 + 1 bytes: fine
    (_pointer_message(4, b"y" * 63), False),     # over 255 bytes
    (_pointer_message(2, target_edit=lambda here, seg: here + 15), False),   # forward pointer
    (_pointer_message(2, target_edit=lambda here, seg: here + 14), False),   # points at itself
    (_pointer_message(2, target_edit=lambda here, seg: 4), None),            # into the header
    (_pointer_message(2, target_edit=lambda here, seg: seg + 1), False),     # mid-label: 0x61...
])
def test_compression_pointers(data, accepted):
    old, new = _old(data, "example.com", "MX"), _new(data, "example.com", "MX")
    if accepted is None:
        assert new is None                       # left to dnspython
    elif accepted:
        assert new is not None and new == old and new[2].records[0].startswith("10 ")
    else:
        assert old == "ignored" and new is None
