"""The per-domain budget (issue 14, item 3): what one domain may hold of the scan's shared
pools, checked one bound at a time against the lab."""
from __future__ import annotations

import asyncio

import pytest

from scanner.collect import budget
from scanner.collect.context import ScanContext
from scanner.collect.dkim import collect_dkim
from scanner.evidence import DnsOutcome
from scanner.memo import SharedOnce
from tests.collect.records_lab import options, run, txt_strings
from tests.conftest import run_without_loop_errors

pytestmark = pytest.mark.lab


def test_huge_answers_stop_at_the_evidence_budget(lab, unique_zone):
    """~58 KB TXT at every DKIM selector (over TCP): the domain keeps at most 1 MiB of
    record text; the rest are errors that say why."""
    z = unique_zone()
    big = "v=DKIM1; p=" + "A" * 58_000
    lab.dns.add_zone(z, f"*._domainkey TXT {txt_strings(big)}\n")
    selectors = tuple(f"s{i}" for i in range(24))

    async def make(ctx):
        return await collect_dkim(ctx.for_domain(), z, selectors)
    dkim = run(lab, make, deadline=60)
    kept = [p for p in dkim.probes if p.lookup.outcome is DnsOutcome.OK]
    refused = [p for p in dkim.probes if p.lookup.outcome is DnsOutcome.ERROR]
    assert len(kept) + len(refused) == len(dkim.probes) >= 24
    assert sum(len(r) for p in kept for r in p.lookup.records) <= budget.EVIDENCE_BYTES
    assert refused and all("evidence budget" in p.lookup.detail for p in refused)


def test_a_domain_has_at_most_its_share_of_dns_questions_in_flight(lab, unique_zone):
    z = unique_zone()
    lab.dns.add_zone(z, "")
    for i in range(40):
        lab.dns.set_behaviour(f"n{i}.{z}", "delay", delay=0.3)

    async def make(ctx):
        view = ctx.for_domain()
        mux = ctx.dns._servers[0]
        most = [0]

        async def watch():
            while True:
                most[0] = max(most[0], mux.in_flight)
                await asyncio.sleep(0.01)
        watcher = asyncio.ensure_future(watch())
        names = [f"n{i}.{z}" for i in range(40)]
        results = await asyncio.gather(view.dns.query_many(names[:20], "A"),
                                       *(view.dns.query(n, "A") for n in names[20:]))
        watcher.cancel()
        return most[0], results
    most, results = run(lab, make, deadline=60)
    assert most <= budget.DNS_IN_FLIGHT
    assert len(results[0]) == 20


def test_work_nobody_waits_for_is_cancelled_shared_work_goes_on():
    """A probe (SharedOnce work in a Task) dies with the last domain that wanted it."""
    async def main():
        once: SharedOnce = SharedOnce()
        started, finished = [], []

        async def work(key):
            started.append(key)
            await asyncio.sleep(0.5)
            finished.append(key)
            return key

        alone = asyncio.ensure_future(once.get("alone", lambda: work("alone")))
        a = asyncio.ensure_future(once.get("shared", lambda: work("shared")))
        b = asyncio.ensure_future(once.get("shared", lambda: work("shared")))
        await asyncio.sleep(0.05)
        alone.cancel()                 # its domain's deadline: nobody else wants it
        a.cancel()                     # one of two askers gives up: b still waits
        got = await b
        await asyncio.sleep(0.6)
        return started, finished, got, len(once)
    started, finished, got, entries = run_without_loop_errors(main)
    assert started == ["alone", "shared"]
    assert finished == ["shared"] and got == "shared"
    assert entries == 1                # the cancelled key is forgotten, not poisoned


def test_connections_of_one_domain_are_bounded(lab):
    async def main():
        ctx = ScanContext.create(options(lab)).for_domain()
        open_now, most = [0], [0]

        async def connect(k):               # distinct IPs: the per-IP limit is not the bound
            async with ctx.connection(f"127.0.5.{k}"):
                open_now[0] += 1
                most[0] = max(most[0], open_now[0])
                await asyncio.sleep(0.05)
                open_now[0] -= 1
        await asyncio.gather(*(connect(k) for k in range(20)))
        return most[0]
    assert asyncio.run(main()) == budget.CONNECTIONS
