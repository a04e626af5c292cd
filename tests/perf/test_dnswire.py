"""The hand-rendered query (scanner/dnswire.name_query_wire) is byte-for-byte dnspython's, and
``answers`` accepts exactly what ``Message.is_response`` accepts for such a query."""
from __future__ import annotations

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdatatype
import pytest

from scanner.dns.wire import answers, name_query_wire

NAMES = ["example.com", "_dmarc.d000001.test", ".", "1.0.0.127.in-addr.arpa", "Mixed.Case.TEST",
         "a\\.b.example", "x" * 63 + ".example"]


def _query(name: str, rdtype: str) -> dns.message.Message:
    q = dns.message.make_query(dns.name.from_text(name), rdtype, use_edns=0, payload=1232)
    q.id = 0
    return q


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("rdtype", ["A", "AAAA", "TXT", "MX", "PTR", "TLSA", "CNAME"])
def test_query_wire_is_dnspythons(name, rdtype):
    assert name_query_wire(dns.name.from_text(name).to_wire(), dns.rdatatype.from_text(rdtype)) == \
        _query(name, rdtype).to_wire()


def _variants(q: dns.message.Message) -> list[dns.message.Message]:
    plain = dns.message.make_response(q)
    upper = dns.message.make_response(q)
    upper.question[0].name = dns.name.from_text(q.question[0].name.to_text().upper())
    other_type = dns.message.make_response(dns.message.make_query(q.question[0].name, "AAAA"))
    other_name = dns.message.make_response(dns.message.make_query("other.example", "A"))
    not_response = dns.message.make_query(q.question[0].name, "A")
    notify = dns.message.make_response(q)
    notify.set_opcode(dns.opcode.NOTIFY)
    out = [plain, upper, other_type, other_name, not_response, notify]
    for rcode in (dns.rcode.REFUSED, dns.rcode.SERVFAIL, dns.rcode.NXDOMAIN):
        empty = dns.message.make_response(q)
        empty.question = []
        empty.set_rcode(rcode)
        out.append(empty)
    for m in out:
        m.id = q.id
    return out


def test_answers_agrees_with_is_response_but_wants_the_question():
    """``answers`` is dnspython's ``is_response``, except that a failure without a question
    section (which dnspython accepts for REFUSED and SERVFAIL) is no answer (issue 14: an
    off-path forger must know the question too)."""
    q = _query("www.example", "A")
    verdicts = []
    for response in _variants(q):
        wire = dns.message.from_wire(response.to_wire())
        expected = q.is_response(wire) and bool(wire.question)
        assert answers(wire, q.question[0].name, dns.rdatatype.A) == expected
        verdicts.append(q.is_response(wire))
    assert verdicts == [True, True, False, False, False, False, True, True, False]


def _negative(rcode: int = dns.rcode.NXDOMAIN) -> tuple[dns.message.Message, bytes]:
    import dns.rrset

    q = _query("sel9._domainkey.d000001.test", "TXT")
    r = dns.message.make_response(q, our_payload=1232)
    r.set_rcode(rcode)
    r.authority.append(dns.rrset.from_text("test.", 300, "IN", "SOA",
                                           "ns.test. hostmaster.test. 1 3600 600 86400 300"))
    return r, r.to_wire()


def test_answer_part_drops_authority_and_additional_only():
    import dns.rrset

    from scanner.dns.wire import answer_part

    r, wire = _negative()
    r.answer.append(dns.rrset.from_text(r.question[0].name, 300, "IN", "TXT", '"a" "b"', '"c"'))
    wire = r.to_wire()
    full, cut = dns.message.from_wire(wire), dns.message.from_wire(answer_part(wire))
    assert len(answer_part(wire)) < len(wire)
    assert (cut.id, cut.flags, cut.rcode(), cut.question, cut.answer) == \
        (full.id, full.flags, full.rcode(), full.question, full.answer)
    assert (cut.authority, cut.additional) == ([], [])


@pytest.mark.parametrize("mangle", [
    lambda w: w + b"junk",            # trailing bytes: dnspython must still reject it
    lambda w: w[:-3],                 # truncated inside the additional section
    lambda w: w[:6] + b"\x00\x05" + w[8:],   # more answers announced than present
])
def test_answer_part_leaves_malformed_messages_whole(mangle):
    from scanner.dns.wire import answer_part

    wire = mangle(_negative()[1])
    assert answer_part(wire) == wire


def test_answer_part_keeps_extended_rcodes():
    from scanner.dns.wire import answer_part

    r, _ = _negative(rcode=16)        # BADVERS: needs the OPT record's upper RCODE bits
    wire = r.to_wire()
    assert answer_part(wire) == wire
    assert dns.message.from_wire(answer_part(wire)).rcode() == 16


PLAIN = ["example.com", "_dmarc.d000001.test", "sel1._domainkey.Example.COM", "a", "x-y.-z-._",
         "1.0.0.127.in-addr.arpa", "xn--caf-dma.example", "x" * 63 + ".example",
         ".".join(["a" * 63] * 3) + "." + "b" * 61,            # 253 characters: 255 on the wire
         "0.1.2.3.4.5.6.7.8.9.a.b.c.d.e.f." * 3 + "ip6.arpa"]
NOT_PLAIN = ["", ".", "example.com.", "a..b", ".a", "x" * 64 + ".example",
             ".".join(["a" * 63] * 3) + "." + "b" * 62,       # 254 characters: too long
             "a\\.b.example", "caf\u00e9.example", "sp ace.example", "a@b.example", "a/b", "a*"]


@pytest.mark.parametrize("name", PLAIN)
@pytest.mark.parametrize("rdtype", ["TXT", "MX", "TLSA"])
def test_plain_names_render_as_dnspython_does(name, rdtype):
    from scanner.dns.wire import plain_name_wire

    wire = plain_name_wire(name)
    assert wire == dns.name.from_text(name).to_wire()
    code = dns.rdatatype.from_text(rdtype)
    assert name_query_wire(wire, code) == _query(name, rdtype).to_wire() == \
        name_query_wire(dns.name.from_text(name).to_wire(), code)


@pytest.mark.parametrize("name", NOT_PLAIN)
def test_other_names_are_left_to_dnspython(name):
    from scanner.dns.wire import plain_name_wire

    assert plain_name_wire(name) is None
