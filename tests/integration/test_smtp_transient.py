"""Transient refusals against the loopback lab (issue 20): a 4yz greeting or a 421 at any
step is redone once after a pause, then `error` quoting the reply, never `fail`; a 5yz stays
`fail`; an IP that throttles is backed off for every domain that shares it."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from scanner.collect.context import DOMAIN_DEADLINE, ScanContext
from scanner.collect.smtp import collect_smtp
from scanner.evidence import DomainEvidence
from scanner.evidence.smtp import Failure
from scanner.findings import Status
from scanner.lab.smtp_servers import REFUSAL_421, start_smtp_host
from scanner.lab.world import LabWorld
from scanner.registry import _REGISTRY, run_check

from tests.integration.test_smtp_lab import (CLOSED_465, GOOD, IDS, ROLES, TLS_DEPENDENT,
                                             UNREACHED, all_of, differences, expect, mx_of,
                                             options)

pytestmark = pytest.mark.lab

P, W, F, I, E, S = (Status.PASS, Status.WARN, Status.FAIL, Status.INFO, Status.ERROR,
                    Status.SKIPPED)
PAUSE = 0.3          # --retry-pause for these tests: small, so they stay quick


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with LabWorld(tmp_path_factory.mktemp("smtp-transient")) as w:
        yield w


def findings(world, mx, probes):
    ev = DomainEvidence(position=0, input="example.test", domain="example.test",
                        scanned_at=datetime.now(timezone.utc).isoformat(), allow_private=True,
                        mx=mx, smtp=probes)
    port_role = {world.ports[r]: r for r in ROLES}
    table: dict[str, dict[str, Status]] = {r: {} for r in ROLES}
    messages: dict[tuple[str, str], str] = {}
    for cid in IDS:
        for f in run_check(_REGISTRY[cid], ev):
            role = port_role[int(f.subject.rsplit(":", 1)[1])]
            table[role][cid] = f.status
            messages[(role, cid)] = f.message
    return table, messages


def scan(world, behaviour: str, *, pause: float = PAUSE, domain_budget: float | None = None,
         **limits):
    ip = world.allocate_ip()
    name = f"mx-{behaviour.replace('_', '-')}.example.test"
    host = start_smtp_host(world, ip, name, behaviour=behaviour, **limits)
    mx = mx_of((name, ip))

    async def main():
        ctx = ScanContext.create(options(world, retry_pause=pause))
        if domain_budget is not None:
            DOMAIN_DEADLINE.set(asyncio.get_running_loop().time() + domain_budget)
        return await asyncio.wait_for(collect_smtp(ctx, mx), 60), ctx

    probes, ctx = asyncio.run(main())
    table, messages = findings(world, mx, probes)
    return table, messages, probes, host, ctx


def by_role(probes):
    return {p.role: p for p in probes}


def test_a_421_greeting_that_persists_is_error_quoting_it_never_fail(world):
    table, messages, probes, host, ctx = scan(world, "greet_421")
    # on 465 TLS comes before the greeting: its facts stand; no further connection is made
    # to a server that asked to be left alone, so TLS 1.0/1.1 and weak suites are untested
    tls_facts = dict(all_of(P, *TLS_DEPENDENT), **{"smtp.implicit_tls": P,
                                                   "smtp.auth_mechanisms": I,
                                                   "smtp.legacy_tls": E, "smtp.weak_cipher": E})
    assert not differences(table, {
        "smtp": dict(UNREACHED, **{"smtp.reachable": E}),
        "submission": dict(UNREACHED, **{"smtp.reachable": E}),
        "submissions": dict(UNREACHED, **{"smtp.reachable": E}, **tls_facts)})
    for p in probes:
        assert p.failure is Failure.TRANSIENT and p.greeting_code == 421
        assert p.transient == f"greeting {REFUSAL_421}" and p.retried_after is not None
        assert p.retried_after >= PAUSE * 0.75
        text = messages[(p.role, "smtp.reachable")]
        assert REFUSAL_421.split(" ", 1)[1] in text and "redone" in text
    assert host.connections_on("smtp") == host.connections_on("submission") == 2
    (throttled,) = ctx.limiter.throttled()
    assert throttled.ip == probes[0].ip and throttled.hosts == (probes[0].host,)
    assert throttled.refusals == host.refused and throttled.reply.startswith("greeting 421")
    assert throttled.waited > 0


def test_a_server_refusing_only_the_first_connection_passes_once_redone(world):
    table, messages, probes, host, _ = scan(world, "greet_421_once")
    assert not differences(table, GOOD | {})
    for p in probes:
        assert p.transient.startswith("greeting 421") and p.retried_after is not None
        assert p.failure is None and p.greeting_code == 220
        assert "redone" in messages[(p.role, "smtp.reachable")]
        assert "*: transient refusal: redone after" in "\n".join(p.transcript)
    assert host.refused == 3


def test_a_421_after_ehlo_is_redone(world):
    table, _, probes, host, _ = scan(world, "ehlo_421_once")
    assert not differences(table, GOOD)
    assert all(p.transient.startswith("EHLO answered 421") for p in probes)
    assert all(p.extensions_tls for p in probes)


def test_a_421_to_starttls_that_persists_is_error(world):
    table, messages, probes, _, _ = scan(world, "starttls_421")
    row = dict(GOOD["smtp"], **all_of(S, *TLS_DEPENDENT), **{"smtp.starttls": E})
    assert not differences(table, {"smtp": row, "submissions": CLOSED_465,
                                   "submission": dict(row, **{"smtp.submission_tls_required": P})})
    smtp = by_role(probes)["smtp"]
    assert smtp.failure is Failure.TRANSIENT and smtp.retried_after is not None
    assert "STARTTLS answered 421" in messages[("smtp", "smtp.starttls")]


def test_a_4yz_to_ehlo_falls_back_to_helo_then_is_error(world):
    table, messages, probes, _, _ = scan(world, "ehlo_451")
    row = dict(GOOD["smtp"], **all_of(S, *TLS_DEPENDENT),
               **{"smtp.starttls": E, "smtp.auth_before_tls": E})
    assert not differences(table, {"smtp": row, "submissions": CLOSED_465,
                                   "submission": dict(row, **{"smtp.submission_tls_required": P})})
    smtp = by_role(probes)["smtp"]
    assert (smtp.ehlo_refused, smtp.used_helo, smtp.ehlo_code) == (451, True, 250)
    assert "C: HELO" in "\n".join(smtp.transcript) and not smtp.transient   # not redone
    assert "EHLO answered 451 (transient)" in messages[("smtp", "smtp.starttls")]


def test_a_4yz_to_mail_from_on_submission_is_error(world):
    table, messages, probes, _, _ = scan(world, "mail_451")
    assert not differences(table, expect(submission={"smtp.submission_tls_required": E}))
    assert by_role(probes)["submission"].mail_from_code == 451
    assert "451 (transient)" in messages[("submission", "smtp.submission_tls_required")]


def test_a_5yz_greeting_stays_fail_and_is_not_redone(world):
    table, _, probes, host, ctx = scan(world, "greet_554")
    assert table["smtp"]["smtp.reachable"] is F
    assert all(not p.transient for p in probes)
    assert host.connections_on("smtp") == 1 and ctx.limiter.throttled() == ()


def test_no_redo_when_the_pause_does_not_fit_the_probe_deadline(world):
    table, messages, probes, host, _ = scan(world, "greet_421", pause=30)
    assert {table[r]["smtp.reachable"] for r in ROLES} == {E}
    smtp = by_role(probes)["smtp"]
    assert smtp.transient and smtp.retried_after is None and smtp.connections == 1
    assert "not redone" in messages[("smtp", "smtp.reachable")]
    assert host.connections_on("smtp") == 1


def test_no_redo_beyond_the_domain_deadline(world):
    _, messages, probes, host, _ = scan(world, "greet_421", domain_budget=0.8)
    assert all(p.retried_after is None for p in probes)
    assert host.connections_on("smtp") == 1
    assert "not redone" in messages[("smtp", "smtp.reachable")]


def test_a_throttling_ip_is_backed_off_for_every_domain_sharing_it(world):
    """Two MX names on one address that allows one connection at a time (a provider's
    per-client limit): the first 421 drops the address to one connection, paced, for the
    probes of both names; every probe then completes."""
    ip = world.allocate_ip()
    host = start_smtp_host(world, ip, "mx1.provider.test", behaviour="throttle",
                           max_concurrent=1, cert=world.ca.issue(["mx1.provider.test",
                                                                  "mx2.provider.test"]))
    domains = [mx_of(("mx1.provider.test", ip)), mx_of(("mx2.provider.test", ip))]

    async def main():
        ctx = ScanContext.create(options(world, retry_pause=PAUSE))
        results = await asyncio.wait_for(
            asyncio.gather(*(collect_smtp(ctx, mx) for mx in domains for _ in range(5))), 90)
        return results, ctx

    results, ctx = asyncio.run(main())
    for mx, probes in zip([d for d in domains for _ in range(5)], results):
        table, _ = findings(world, mx, probes)
        assert not differences(table, GOOD)
    assert host.refused >= 1
    (throttled,) = ctx.limiter.throttled()
    assert throttled.ip == ip and throttled.refusals == host.refused
    assert ctx.limiter.peak_after_throttle(ip) == 1     # one at a time once it said 421
    assert ctx.probes.runs == 6                         # 2 names x 3 ports, shared by 10 domains


def test_a_rate_limited_provider_yields_error_never_fail(world):
    table, messages, probes, host, ctx = scan(world, "throttle", max_per_window=3, window=120)
    statuses = {s for row in table.values() for s in row.values()}
    assert F not in statuses and E in statuses
    assert any("421" in m for (role, cid), m in messages.items() if table[role][cid] is E)
    (throttled,) = ctx.limiter.throttled()
    assert throttled.refusals == host.refused > 0
