"""mta_sts.* checks on hand-made evidence: exact (check, status) per rule of CHECKS.md."""
from __future__ import annotations

import pytest

from scanner.checks.mta_sts import mx_matches, parse_policy
from tests.checks.records_ev import (D, E, F, MX1, P, POLICY, S, W, ev, fail_res, fetch, got, mx,
                                     res, statuses, sts_ev)


@pytest.mark.parametrize("records,expected", [
    (("v=STSv1; id=20240101T000000",), P),
    (("v=STSv1; id=abc123;",), P),
    ((), W),
    (("v=STSv1; id=a", "v=STSv1; id=b"), F),
    (("v=STSv1",), F),                                   # missing id
    (("v=STSv1; id=has-dash",), F),
    (("v=STSv1; id=" + "x" * 33,), F),
    (("v=STSv1; id=a; id=b",), F),
])
def test_mta_sts_record(records, expected):
    txt = res(f"_mta-sts.{D}", "TXT", *records)
    assert statuses("mta_sts.record", ev(mta_sts=sts_ev(txt=txt))) == [expected]


def test_mta_sts_record_dns_error():
    assert statuses("mta_sts.record", ev(mta_sts=sts_ev(txt=fail_res(f"_mta-sts.{D}")))) == [E]


@pytest.mark.parametrize("fetched,expected", [
    (fetch(), P),
    (fetch(content_type="text/plain; charset=utf-8"), P),
    (fetch(POLICY.replace("\r\n", "\n")), P),
    (fetch(status=404), F),
    (fetch(status=301, redirect="https://elsewhere.test/p"), F),
    (fetch(content_type="text/html"), F),
    (fetch(content_type=""), F),
    (fetch(truncated=True, size=65537), F),
    (fetch(status=0, error_class="certificate", error="unknown CA"), F),
    (fetch(status=0, error_class="connect", error="connection refused"), F),
    (fetch(status=0, error_class="no-address", error="NXDOMAIN"), F),
    (fetch(status=0, error_class="private-address", error="127.0.0.1"), F),
    (fetch(status=0, error_class="timeout", error="no complete answer in 10 s"), E),
    (fetch(status=0, error_class="dns", error="SERVFAIL"), E),
    (fetch("version: STSv1\nmode: enforce\nmax_age: 86400\n"), F),            # no mx
    (fetch("version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 86400\n"), F),
    (fetch("version: STSv1\nmode: strict\nmx: a.test\nmax_age: 86400\n"), F),
    (fetch("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 99999999999\n"), F),
    (fetch("version: STSv1\nmode: enforce\nmx: a.test\n"), F),                # no max_age
    (fetch("version: STSv1\nmode: enforce\nmode: none\nmx: a.test\nmax_age: 1\n"), F),
    (fetch("<html><script>alert(1)</script></html>"), F),
    (fetch("version: STSv1\nmode: none\nmax_age: 86400\n"), P),               # none: no mx needed
])
def test_mta_sts_policy(fetched, expected):
    assert statuses("mta_sts.policy", ev(mta_sts=sts_ev(fetched=fetched))) == [expected]


def test_mta_sts_policy_only_when_a_record_exists():
    assert statuses("mta_sts.policy", ev(mta_sts=sts_ev(record=None))) == [S]
    assert statuses("mta_sts.policy", ev(mta_sts=sts_ev(fetched=None))) == [E]


@pytest.mark.parametrize("mode,expected", [("enforce", P), ("testing", W), ("none", W)])
def test_mta_sts_mode(mode, expected):
    body = f"version: STSv1\nmode: {mode}\nmx: {MX1}\nmax_age: 86400\n"
    assert statuses("mta_sts.mode", ev(mta_sts=sts_ev(fetched=fetch(body)))) == [expected]


def test_mta_sts_mode_without_policy():
    assert statuses("mta_sts.mode", ev(mta_sts=sts_ev(fetched=fetch(status=404)))) == [S]
    assert statuses("mta_sts.mode", ev(mta_sts=sts_ev(record=None))) == [S]
    timeout = fetch(status=0, error_class="timeout", error="slow")
    assert statuses("mta_sts.mode", ev(mta_sts=sts_ev(fetched=timeout))) == [E]


def test_mta_sts_mx_coverage_per_host():
    body = "version: STSv1\nmode: enforce\nmx: mx1.example.test\nmx: *.mail.example.test\nmax_age: 1\n"
    evidence = ev(mx_ev=mx("mx1.example.test", "a.mail.example.test", "b.c.mail.example.test",
                           "mx9.other.test"),
                  mta_sts=sts_ev(fetched=fetch(body)))
    assert got("mta_sts.mx_coverage", evidence) == [
        ("mx1.example.test", P), ("a.mail.example.test", P), ("b.c.mail.example.test", F),
        ("mx9.other.test", F)]


def test_mta_sts_mx_coverage_skips():
    none_mode = "version: STSv1\nmode: none\nmax_age: 1\n"
    assert statuses("mta_sts.mx_coverage", ev(mta_sts=sts_ev(fetched=fetch(none_mode)))) == [S]
    assert statuses("mta_sts.mx_coverage", ev(mta_sts=sts_ev(record=None))) == [S]
    assert statuses("mta_sts.mx_coverage",
                    ev(mx_ev=mx(null=True), mta_sts=sts_ev(fetched=fetch()))) == [S]


@pytest.mark.parametrize("host,pattern,expected", [
    ("mx1.example.test", "mx1.example.test", True),
    ("MX1.Example.Test.", "mx1.example.test", True),
    ("a.example.test", "*.example.test", True),
    ("example.test", "*.example.test", False),
    ("a.b.example.test", "*.example.test", False),
    ("mx1.example.test", "mx2.example.test", False),
])
def test_mx_matches(host, pattern, expected):
    assert mx_matches(host, pattern) is expected


def test_parse_policy_keeps_every_mx_line():
    p = parse_policy(POLICY + "mx: *.backup.example.test\n")
    assert p.errors == () and p.mx == ("mx1.example.test", "*.backup.example.test")
