"""The SPF parser against RFC 7208 section 12's ABNF as a whole (issue 14, item 10), and the
collector's walk and the checks agreeing with it on records served by the lab."""
from __future__ import annotations

import pytest

import scanner.checks.spf  # noqa: F401 (registers the checks)
from scanner.collect.spf import collect_spf
from scanner.evidence import DomainEvidence, RecordsEvidence
from scanner.findings import Status
from scanner.parsers.spf import parse_spf
from scanner.registry import _REGISTRY, run_check
from tests.checks.records_ev import mx
from tests.collect.records_lab import run

VALID = [
    "v=spf1", "v=spf1 ", "V=SPF1 -ALL", "v=spf1  a   mx  ", "v=spf1 -all",
    "v=spf1 +a -mx ~ptr ?all", "v=spf1 a/24 mx//64 a/0//0 mx:example.com/32//128",
    "v=spf1 ip4:192.0.2.1 ip4:192.0.2.0/24 ip4:0.0.0.0/0 ip4:255.255.255.255/32",
    "v=spf1 ip6:2001:db8::/32 ip6:::1 ip6:::ffff:192.0.2.1/128 ip6:2001:DB8::1/0",
    "v=spf1 include:_spf.example.com include:example.com. exists:%{i}.bl.example.com",
    "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all", "v=spf1 a:%{d2} -all",
    "v=spf1 include:%{d}", "v=spf1 redirect=_spf.example.com", "v=spf1 exp=explain.%{d}",
    "v=spf1 ptr ptr:example.com -all", "v=spf1 a:mail.1-2 -all", "v=spf1 a:x.y9z -all",
    "v=spf1 foo=bar moo.cow-far_out=man:dog/cat ra=%{s} -all", "v=spf1 x=%% y=%_ z=%-",
    "v=spf1 -all exp=a.example.com redirect=b.example.com",
    "v=spf1 a:" + "a" * 63 + ".example.com",
]
INVALID = {
    "v=spf1\tmx -all": "does not start with v=spf1",         # tab is no separator
    "v=spf1 mx\t-all": "invalid character",
    "v=spf1 mx\r\n-all": "invalid character",
    "v=spf1 a\n": "invalid character",
    "v=spf1 exp=%{c}.example.com": "only in explanation strings",
    "v=spf1 exp=%{r}.example.com": "only in explanation strings",
    "v=spf1 exp=x.%{t}.example.com": "only in explanation strings",
    "v=spf1 a:%{c}.example.com": "only in explanation strings",
    "v=spf1 exists:%{x}.example.com": "invalid macro letter",
    "v=spf1 exists:%{d0}.example.com": "must be 1 or more",
    "v=spf1 exists:%{d": "invalid macro",
    "v=spf1 exists:100%.example.com": "invalid macro",
    "v=spf1 a:" + "a" * 64 + ".example.com": "longer than 63",
    "v=spf1 include:" + ".".join(["abcdefghi"] * 26) + ".com": "longer than 253",
    "v=spf1 a:foo..example.com": "empty label",
    "v=spf1 include:example": "not a fully qualified",
    "v=spf1 include:example.123": "not a fully qualified",
    "v=spf1 include:example.-com": "not a fully qualified",
    "v=spf1 ip4:192.0.2.1/33": "prefix length",
    "v=spf1 ip4:192.0.2.1/": "prefix length",
    "v=spf1 ip4:192.0.2.1/08": "prefix length",
    "v=spf1 ip4:192.0.2.01": "not an IPv4 address",
    "v=spf1 ip4:192.0.2": "not an IPv4 address",
    "v=spf1 ip4:2001:db8::1": "not an IPv4 address",
    "v=spf1 ip6:192.0.2.1": "not an IPv6 address",
    "v=spf1 ip6:fe80::1%eth0": "not an IPv6 address",
    "v=spf1 ip6:2001:db8::/129": "prefix length",
    "v=spf1 a/33": "prefix length", "v=spf1 mx//129": "prefix length",
    "v=spf1 a/024": "prefix length", "v=spf1 a:": "empty domain",
    "v=spf1 a/": "prefix length", "v=spf1 all:x": "takes no argument",
    "v=spf1 include": "needs ':'", "v=spf1 redirect=": "empty domain",
    "v=spf1 redirect=a.example redirect=b.example": "more than once",
    "v=spf1 exp=a.example exp=b.example": "more than once",
    "v=spf1 foo": "unknown mechanism", "v=spf1 +foo=bar": "unknown mechanism",
    "v=spf1 1foo=bar": "unknown mechanism", "v=spf10 -all": "does not start with v=spf1",
    "v=spf1 x=caf\u00e9": "invalid character",
}


@pytest.mark.parametrize("record", VALID)
def test_valid_records(record):
    assert parse_spf(record).errors == ()


@pytest.mark.parametrize("record", sorted(INVALID))
def test_invalid_records(record):
    errors = parse_spf(record).errors
    assert errors and any(INVALID[record] in e for e in errors), errors


def test_space_is_the_only_separator():
    record = parse_spf("v=spf1 a\tmx include:x.example")
    assert [t.text for t in record.terms] == ["a\tmx", "include:x.example"]
    assert record.lookup_terms == (record.terms[1],)     # the broken term is not looked up


def _checks(lab, zone, record_text, rows):
    lab.dns.add_zone(zone, "\n".join(rows + [f'@ TXT "{record_text}"']) + "\n")
    spf = run(lab, lambda ctx: collect_spf(ctx, zone, None))
    ev = DomainEvidence(position=0, input=zone, domain=zone, mx=mx(),
                        records=RecordsEvidence(spf=spf))
    return spf, {cid: run_check(_REGISTRY[cid], ev)[0].status
                 for cid in ("spf.syntax", "spf.lookups")}


@pytest.mark.lab
def test_walk_and_checks_agree_on_tabs(lab, unique_zone):
    z = unique_zone()
    spf, status = _checks(lab, z, "v=spf1 include:inc.$Z\\009mx -all".replace("$Z", z),
                          [f'inc TXT "v=spf1 -all"'])
    assert [n.domain for n in spf.nodes] == [z]          # the tab-joined term is not followed
    assert spf.lookups == 0
    assert status == {"spf.syntax": Status.FAIL, "spf.lookups": Status.PASS}


@pytest.mark.lab
def test_mx_term_with_eleven_exchanges_is_a_permerror(lab, unique_zone):
    """RFC 7208 4.6.4: more than 10 MX exchanges for one mx term is a permerror; before
    issue 14 spf.lookups passed (one lookup)."""
    z = unique_zone()
    rows = [f"wide MX {i} mx{i}.{z}." for i in range(11)] + [f"ten MX {i} mx{i}.{z}."
                                                             for i in range(10)]
    spf, status = _checks(lab, z, f"v=spf1 mx:wide.{z} -all", rows)
    assert status == {"spf.syntax": Status.PASS, "spf.lookups": Status.FAIL}
    _, status = _checks(lab, unique_zone(), f"v=spf1 mx:ten.{z} -all", rows)
    assert status == {"spf.syntax": Status.PASS, "spf.lookups": Status.PASS}
