"""scanner/collect/environment.py without a namespace: the port-25 evidence rule, what is held
back, the notes, the resolver check against the lab, the route lookup (tests/integration/
test_scan_environment.py runs the same for real in network namespaces)."""
from __future__ import annotations

import asyncio
import socket

import pytest

from scanner.collect.context import ScanContext
from scanner.collect.environment import (GLOBAL_V6, PORT25, PORT25_EVIDENCE, NetworkEnvironment,
                                         has_route)
from scanner.evidence.environment import EnvNote, ScanEnvironment, ThrottledIp
from scanner.evidence.smtp import Failure, SmtpProbe
from scanner.options import ScanOptions
from tests.conftest import run_without_loop_errors


def probe(ip: str, port: int, *, connected: bool, failure=None, **kw) -> SmtpProbe:
    role = {25: "smtp", 465: "submissions", 587: "submission"}[port]
    return SmtpProbe("mx.example", ip, port, role, connected=connected, failure=failure,
                     connections=1, **kw)


def silent25(ip: str) -> SmtpProbe:
    return probe(ip, 25, connected=False, failure=Failure.TIMEOUT, error="connect: timed out")


def answered(ip: str, port: int = 587) -> SmtpProbe:
    return probe(ip, port, connected=True, greeting_code=220)


def env(**options) -> NetworkEnvironment:
    return NetworkEnvironment(ScanOptions(**options), route=lambda ip: True)


def test_port25_is_filtered_after_enough_addresses_time_out_while_other_ports_answer():
    e = env()
    done = []
    for i in range(PORT25_EVIDENCE):
        ip = f"192.0.2.{i + 1}"
        assert e.holds(ip, PORT25) is None
        for p in (silent25(ip), answered(ip)):
            e.observe(p)
        done.append(e.explain([silent25(ip), answered(ip)]))
    assert e.port25 == "filtered"
    note, reason = e.holds("198.51.100.7", PORT25)
    assert note == "env.port25" and reason.startswith("not probed: outbound port 25 looks filtered")
    assert e.holds("198.51.100.7", 587) is None
    # the last domain ended after the decision: its timeout is put down to the filter
    assert done[-1][0].environment == "env.port25" and not done[0][0].environment
    held = e.not_probed("mx.example", "198.51.100.7", 25, "smtp", note, reason)
    assert held.connections == 0 and held.environment == "env.port25"
    e.explain([held, answered("198.51.100.7")])
    summary = e.summary()
    n25 = summary.note("env.port25")
    assert (n25.status, n25.domains, n25.endpoints) == ("warn", PORT25_EVIDENCE + 1, 1)
    assert f"({PORT25_EVIDENCE} connection(s) attempted in all)" in n25.message


@pytest.mark.parametrize("noise", ["a port-25 success", "other ports silent too",
                                   "one address many times"])
def test_no_filter_without_the_evidence(noise):
    e = env()
    if noise == "a port-25 success":
        e.observe(probe("203.0.113.1", 25, connected=True, greeting_code=220))
    for i in range(PORT25_EVIDENCE + 2):
        ip = "192.0.2.9" if noise == "one address many times" else f"192.0.2.{i + 1}"
        e.observe(silent25(ip))
        if noise != "other ports silent too":
            e.observe(answered(ip, 465))
        else:
            e.observe(probe(ip, 465, connected=False, failure=Failure.TIMEOUT))
    assert e.port25 == ("open" if noise == "a port-25 success" else "unknown")
    assert e.holds("192.0.2.200", PORT25) is None
    assert e.summary().note("env.port25").status in ("pass", "skipped")


def test_a_refused_port25_is_no_evidence_of_a_filter():
    e = env()
    for i in range(PORT25_EVIDENCE + 1):
        ip = f"192.0.2.{i + 1}"
        e.observe(probe(ip, 25, connected=False, failure=Failure.REFUSED))
        e.observe(answered(ip))
    assert e.port25 == "unknown"


def test_no_port25_and_ip_version_are_stated_not_detected():
    e = env(no_port25=True, ip_version="4")
    assert e.holds("192.0.2.1", 25)[0] == "env.port25"
    assert e.holds("2001:db8::1", 587) == ("env.ipv6", "not probed: IPv6 left out (--ip-version 4)")
    assert e.holds("192.0.2.1", 587) is None
    notes = e.summary()
    assert notes.note("env.port25").status == notes.note("env.ipv6").status == "info"
    six = env(ip_version="6")
    assert six.holds("192.0.2.1", 587)[0] == "env.ipv6" and six.holds("2001:db8::1", 25) is None
    both = env(ip_version="both")
    assert both.holds("2001:db8::1", 25) is None


def test_ipv6_without_a_route_is_held_and_asked_of_the_kernel_once_per_address():
    asked = []

    def route(ip: str) -> bool:
        asked.append(ip)
        return ip == "fd00::25"          # only this (non-global) address has a route

    e = NetworkEnvironment(ScanOptions(), route=route)
    e._v6_global = route(GLOBAL_V6)
    assert e.holds("2a00:1450:4001:80b::201a", 25)[0] == "env.ipv6"   # global: no route
    assert e.holds("2a00:1450:4001:80b::201a", 587)[0] == "env.ipv6"
    assert e.holds("fd00::25", 25) is None
    assert e.holds("192.0.2.1", 25) is None
    assert asked == [GLOBAL_V6, "fd00::25"]
    assert e.summary().note("env.ipv6").status == "warn"


def test_has_route_is_a_kernel_route_lookup_that_sends_nothing():
    assert has_route("127.0.0.1") and has_route("::1")
    calls = []

    def lookup(family, ip):
        calls.append((family, ip))
        raise OSError(101, "Network is unreachable")

    assert has_route("2001:db8::1", lookup) is False
    assert calls == [(socket.AF_INET6, "2001:db8::1")]


def test_the_resolver_check_against_the_lab(lab):
    async def main(behaviour):
        lab.dns.set_behaviour(".", behaviour)
        host, port = lab.nameserver.split(":")
        ctx = ScanContext.create(ScanOptions(nameservers=((host, int(port)),), timeout=0.5,
                                             dns_retries=0))
        ctx.env.start(ctx)
        await ctx.env.settle()
        return ctx.env.summary().note("env.resolver")

    try:
        refused = run_without_loop_errors(lambda: main("normal"))
        servfail = run_without_loop_errors(lambda: main("servfail"))
        silent = run_without_loop_errors(lambda: main("drop"))
    finally:
        lab.dns.set_behaviour(".", "normal")
    assert refused.status == "pass" and "not a recursive resolver" in refused.message
    assert servfail.status == "warn" and "SERVFAIL for the root zone" in servfail.message
    assert silent.status == "warn" and silent.message.startswith("the resolver does not answer")


def test_the_dnssec_hook_makes_the_resolver_note_a_warning():
    e = env()
    e.resolver_strips_dnssec("no RRSIG in the answer for . DNSKEY with DO set")
    note = e.summary().note("env.resolver")
    assert note.status == "warn" and "strips DNSSEC records" in note.message


def test_shards_merge_into_one_view():
    a = ScanEnvironment((EnvNote("env.ipv6", "pass", "route"), EnvNote("env.port25", "skipped", "?")),
                        (ThrottledIp("192.0.2.1", ("mx1",), 2, 3.0, "421 a"),))
    b = ScanEnvironment((EnvNote("env.ipv6", "warn", "no route", 2, 4),
                         EnvNote("env.port25", "pass", "works")),
                        (ThrottledIp("192.0.2.1", ("mx2",), 1, 1.5, "421 b"),
                         ThrottledIp("192.0.2.9", ("mx9",), 1, 9.0, "421 c")))
    m = a.merged(b)
    assert m.note("env.ipv6") == EnvNote("env.ipv6", "warn", "no route", 2, 4)
    assert m.note("env.port25").status == "pass"
    assert m.throttled == (ThrottledIp("192.0.2.9", ("mx9",), 1, 9.0, "421 c"),
                           ThrottledIp("192.0.2.1", ("mx1", "mx2"), 3, 4.5, "421 a"))


def test_collector_processes_decide_port25_as_one_scan():
    """Collection in several processes (run/collector.py): each process sees the probes of
    the addresses it owns; the scan process gathers their evidence, decides for the scan and
    tells every process; the counts added up give the note one process would have given."""
    ips = [f"192.0.2.{i + 1}" for i in range(PORT25_EVIDENCE)]
    one = env()
    for ip in ips:
        for p in (silent25(ip), answered(ip)):
            one.observe(p)
        one.explain([silent25(ip), answered(ip)])

    scan = env()
    parts = [env(), env()]
    told = []
    scan.on_port25 = lambda state, why: [told.append(state)] + [p.decide(state, why)
                                                                for p in parts]
    for part in parts:
        part.on_evidence = scan.add_evidence
        part.on_port25 = scan.decide
    for i, ip in enumerate(ips):          # addresses dealt to their owners, domains too
        part = parts[i % 2]
        for p in (silent25(ip), answered(ip)):
            part.observe(p)
        part.explain([silent25(ip), answered(ip)])
    assert told == ["filtered"]           # decided once, on the fifth address overall
    assert all(p.port25 == "filtered" for p in parts)
    for part in parts:
        scan.absorb(part.state())
    assert scan.summary().note("env.port25") == one.summary().note("env.port25")
    assert scan.summary() == one.summary()


@pytest.mark.parametrize("servers", [1, 2])
def test_a_silent_resolver_is_reported_on_a_busy_loop(lab, servers):
    """The scan's end waits for the resolver check as long as its question can live (from
    the check's start, every nameserver in turn) and a grace beyond: on a loaded machine the
    check's first step runs late, and a wait of one lifetime from the end gave up just before
    the question expired, so a silent resolver was reported as undetermined ("skipped")."""
    import time

    async def main():
        lab.dns.set_behaviour(".", "drop")
        host, port = lab.nameserver.split(":")
        ctx = ScanContext.create(ScanOptions(nameservers=((host, int(port)),) * servers,
                                             timeout=0.3, dns_retries=0))
        asyncio.get_running_loop().call_soon(time.sleep, 0.2)   # busy before the check runs
        ctx.env.start(ctx)
        await ctx.env.settle()
        return ctx.env.summary().note("env.resolver")

    try:
        silent = run_without_loop_errors(main)
    finally:
        lab.dns.set_behaviour(".", "normal")
    assert silent.status == "warn" and silent.message.startswith("the resolver does not answer")
