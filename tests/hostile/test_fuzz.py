"""Property-based tests (Hypothesis) of every parser of untrusted text (issue 14): no
exception but the documented ones, bounded time (Hypothesis' per-example deadline), and
agreement with a reference where one exists (the RFC's grammar for SPF, dkimpy's tag-list
parser, dnspython's DNS message parser)."""
from __future__ import annotations

import asyncio
import io
import random
import string

import dkim.util
import dns.name
import dns.rdatatype
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.checks.dmarc import report_domains, syntax_errors
from scanner.checks.mta_sts import parse_policy, record_errors
from scanner.collect.smtp_session import ProbeError, SmtpSession, Transcript, extensions_of
from scanner.dns.wire import parse_reply
from scanner.errors import InputError
from scanner.inputs import normalise_domain, read_targets
from scanner.parsers.spf import parse_spf
from scanner.parsers.tagvalue import parse as parse_tags
from tests.perf.test_dnswire_parse import _mutations, _new, _old, shapes

FUZZ = settings(max_examples=120, deadline=2000,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
hostile_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=600)
ascii_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x7f), max_size=600)

# --------------------------------------------------------------------------- SPF
alnum = string.ascii_letters + string.digits
label = st.text(alnum + "-", min_size=1, max_size=20).filter(
    lambda s: s[0] != "-" and s[-1] != "-")
toplabel = st.text(string.ascii_letters, min_size=2, max_size=8)
domain = st.builds(lambda ls, top: ".".join(ls + [top]), st.lists(label, min_size=1, max_size=4),
                   toplabel)
macro = st.builds(lambda letter, digits, rev, delims: f"%{{{letter}{digits}{rev}{delims}}}",
                  st.sampled_from("slodiphvSLODIPHV"),
                  st.sampled_from(["", "1", "2", "12"]), st.sampled_from(["", "r"]),
                  st.text(".-+,/_=", max_size=2))
domain_spec = st.one_of(domain, st.builds(lambda m, d: f"{m}.{d}", macro, domain))
qualifier = st.sampled_from(["", "+", "-", "~", "?"])
cidr4 = st.one_of(st.just(""), st.integers(0, 32).map(lambda n: f"/{n}"))
cidr6 = st.one_of(st.just(""), st.integers(0, 128).map(lambda n: f"//{n}"))
mechanism = st.one_of(
    st.just("all"),
    st.builds(lambda d: f"include:{d}", domain_spec),
    st.builds(lambda d, a, b: f"a{':' + d if d else ''}{a}{b}",
              st.one_of(st.just(""), domain_spec), cidr4, cidr6),
    st.builds(lambda d, a, b: f"mx{':' + d if d else ''}{a}{b}",
              st.one_of(st.just(""), domain_spec), cidr4, cidr6),
    st.builds(lambda d: "ptr" + (f":{d}" if d else ""), st.one_of(st.just(""), domain_spec)),
    st.builds(lambda ip, n: f"ip4:{ip}/{n}", st.ip_addresses(v=4), st.integers(0, 32)),
    st.builds(lambda ip: f"ip4:{ip}", st.ip_addresses(v=4)),
    st.builds(lambda ip, n: f"ip6:{ip}/{n}", st.ip_addresses(v=6), st.integers(0, 128)),
    st.builds(lambda d: f"exists:{d}", domain_spec),
)
directive = st.builds(lambda q, m: q + m, qualifier, mechanism)
unknown_modifier = st.builds(
    lambda n, v: f"{n}={v}",
    st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,8}", fullmatch=True).filter(
        lambda n: n.lower() not in ("redirect", "exp")),
    st.text(string.ascii_letters + string.digits + ".-_/", max_size=20))


@st.composite
def spf_records(draw):
    terms = draw(st.lists(st.one_of(directive, unknown_modifier), max_size=12))
    if draw(st.booleans()):
        terms.append("redirect=" + draw(domain_spec))
    if draw(st.booleans()):
        terms.append("exp=" + draw(domain_spec))
    seps = [" " * draw(st.integers(1, 3)) for _ in terms]
    return "v=spf1" + "".join(s + t for s, t in zip(seps, terms)) + " " * draw(st.integers(0, 2)), terms


@FUZZ
@given(spf_records())
def test_spf_records_from_the_abnf_parse_without_errors(case):
    record, terms = case
    parsed = parse_spf(record)
    assert parsed.errors == ()
    assert [t.text for t in parsed.terms] == terms


@FUZZ
@given(st.one_of(hostile_text, spf_records().map(lambda c: c[0]),
                 st.builds(lambda c, junk, at: c[0][:at] + junk + c[0][at:],
                           spf_records(), hostile_text, st.integers(0, 200))))
def test_spf_parser_never_raises(text):
    parsed = parse_spf(text)
    assert parsed.text == text
    if any(ord(c) < 0x21 and c != " " or ord(c) > 0x7e for c in text[6:]):
        assert parsed.errors                    # no production admits such a character


# --------------------------------------------------------------------------- tag=value
tag_name = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,6}", fullmatch=True)
tag_value = st.text(string.ascii_letters + string.digits + "+/:.,@!-_ ", max_size=30).map(
    str.strip)


@FUZZ
@given(st.lists(st.tuples(tag_name, tag_value), max_size=10, unique_by=lambda t: t[0].lower()),
       st.booleans())
def test_tag_lists_agree_with_dkimpy(tags, trailing):
    text = "; ".join(f"{n}={v}" for n, v in tags) + (";" if trailing and tags else "")
    ours = parse_tags(text)
    assert ours.valid
    assert ours.tags == tuple((n.lower(), v) for n, v in tags)
    theirs = dkim.util.parse_tag_value(text.encode())          # the DKIM reference parser
    assert {k.decode(): v.decode() for k, v in theirs.items()} == {n: v for n, v in tags}


@FUZZ
@given(hostile_text)
def test_tag_value_records_never_raise(text):
    tags = parse_tags(text)
    syntax_errors(tags)                       # DMARC
    report_domains(tags)
    record_errors(text)                       # MTA-STS TXT (TLS-RPT and BIMI use parse_tags)


# --------------------------------------------------------------------------- MTA-STS policy
@FUZZ
@given(st.one_of(hostile_text, st.lists(st.sampled_from(
    ["version: STSv1", "mode: enforce", "mode: testing", "mx: *.example.com", "mx: mx.test",
     "max_age: 86400", "max_age: 99999999999", "mx:", ": x", "junk", "\r", "version: STSv1"]),
    max_size=20).map("\r\n".join)))
def test_mta_sts_policy_parser_never_raises(text):
    policy = parse_policy(text)
    assert isinstance(policy.errors, tuple)


# --------------------------------------------------------------------------- SMTP replies
def _read(data: bytes):
    async def main():
        reader = asyncio.StreamReader(limit=4096)
        reader.feed_data(data)
        reader.feed_eof()
        session = SmtpSession(reader, None, 1.0, Transcript())
        return await session.read_reply("fuzz")
    return asyncio.run(main())


reply_line = st.text(string.ascii_letters + string.digits + string.punctuation + " ", max_size=80)


@FUZZ
@given(st.integers(200, 599), st.lists(reply_line, min_size=1, max_size=8))
def test_smtp_replies_are_read_as_sent(code, lines):
    data = b"".join(f"{code}-{t}\r\n".encode() for t in lines[:-1]) + f"{code} {lines[-1]}\r\n".encode()
    reply = _read(data)
    assert reply.code == code
    assert list(reply.lines) == [t[:196] for t in lines]
    extensions_of(reply)


@FUZZ
@given(st.binary(max_size=3000))
def test_smtp_reply_reader_raises_only_probe_errors(data):
    try:
        reply = _read(data)
    except ProbeError:
        return
    assert 0 <= reply.code <= 999
    assert all(c.isprintable() for line in reply.lines for c in line)


# --------------------------------------------------------------------------- DNS wire
QTYPES = ["A", "AAAA", "MX", "TXT", "CNAME", "PTR", "NS"]


def _shape_wires() -> list[tuple[str, str, bytes]]:
    out = []
    for qname in ("example.com", "sel1._domainkey.d1.test", "A.b.EXAMPLE"):
        for qtype in QTYPES:
            for _, message in shapes(qname, qtype):
                message.id = 4242
                out.append((qname, qtype, message.to_wire()))
    return out


WIRES = _shape_wires()


@st.composite
def dns_responses(draw):
    qname, qtype, wire = draw(st.sampled_from(WIRES))
    seed = draw(st.integers(0, 2 ** 32))
    mutated = draw(st.sampled_from([wire, *_mutations(wire, random.Random(seed), 3)]))
    return qname, qtype, mutated


@FUZZ
@given(dns_responses())
def test_dns_hand_parser_agrees_with_dnspython(case):
    qname, qtype, data = case
    new = _new(data, qname, qtype)
    if new is not None:
        assert new == _old(data, qname, qtype)


@FUZZ
@given(st.binary(max_size=600), st.sampled_from(QTYPES))
def test_dns_hand_parser_never_raises(data, qtype):
    qkey = dns.name.from_text("example.com").to_wire()[:-1]
    parse_reply(data, qkey, dns.rdatatype.from_text(qtype))


# --------------------------------------------------------------------------- inputs
@FUZZ
@given(hostile_text)
def test_input_lines_normalise_or_say_why(text):
    name, reason = normalise_domain(text)
    assert bool(name) != bool(reason)
    if name:
        assert name == name.lower() and len(name) <= 253 and name.isascii()
        assert all(0 < len(part) <= 63 for part in name.split("."))


csv_cell = st.one_of(st.text(string.ascii_letters + ".-", max_size=12),
                     st.text(alphabet=st.characters(codec="utf-8"), max_size=12))


@FUZZ
@given(st.lists(st.lists(csv_cell, min_size=1, max_size=3), max_size=12), st.booleans())
def test_csv_lists_give_one_target_per_line_or_exit_2(rows, quoted):
    lines = ["domain,dkim_selectors,note"] + [
        ",".join((f'"{c}"' if quoted else c) for c in row) for row in rows]
    text = "\n".join(lines) + "\n"
    try:
        targets = list(read_targets(["-"], stdin=io.StringIO(text)))
    except InputError as exc:
        assert "stdin line " in str(exc)
        return
    assert len(targets) <= len(text.splitlines()) - 1   # at most one target per physical line
