"""The per-IP limiter (scanner/collect/limiter.py): its limit, FIFO hand-over, cancellation,
and the backoff of an IP that refused transiently (no network: tasks and the event loop's
clock only)."""
from __future__ import annotations

import asyncio
import random

from scanner.collect.limiter import JITTER, PerIpLimiter
from tests.conftest import run_without_loop_errors

IP = "192.0.2.25"


def _limiter(pause: float = 0.2, limit: int = 2) -> PerIpLimiter:
    return PerIpLimiter(limit, 50, pause=pause, rng=random.Random(7))


async def _hold(lim: PerIpLimiter, ip: str, seconds: float, log: list, name: str) -> None:
    async with lim.slot(ip):
        log.append((name, "in", asyncio.get_running_loop().time()))
        await asyncio.sleep(seconds)
        log.append((name, "out", asyncio.get_running_loop().time()))


def _most_at_once(log: list) -> int:
    open_, most = 0, 0
    for _, what, _ in sorted(log, key=lambda e: (e[2], e[1] == "in")):
        open_ += 1 if what == "in" else -1
        most = max(most, open_)
    return most


def test_at_most_limit_per_ip_first_come_first_served():
    async def main():
        lim, log = _limiter(), []
        await asyncio.gather(*(_hold(lim, IP, 0.02, log, f"t{i}") for i in range(6)))
        return lim, log

    lim, log = run_without_loop_errors(main)
    assert _most_at_once(log) == 2 and lim.peak[IP] == 2
    assert [n for n, what, _ in log if what == "in"] == [f"t{i}" for i in range(6)]
    assert lim.throttled() == () and not lim._gates      # idle gates are freed


def test_a_throttled_ip_goes_one_at_a_time_after_the_pause_and_others_are_untouched():
    async def main():
        lim, log, other = _limiter(pause=0.2), [], []
        loop = asyncio.get_running_loop()
        pause = lim.throttle(IP, "mx1.example", "greeting 421 4.7.0 busy", loop.time())
        refused_at = loop.time()
        await asyncio.gather(*(_hold(lim, IP, 0.01, log, f"t{i}") for i in range(3)),
                             *(_hold(lim, "198.51.100.1", 0.01, other, f"o{i}") for i in range(2)))
        return lim, log, other, pause, refused_at

    lim, log, other, pause, refused_at = run_without_loop_errors(main)
    assert 0.2 * JITTER[0] <= pause <= 0.2 * JITTER[1]
    ins = [t for _, what, t in log if what == "in"]
    outs = [t for _, what, t in log if what == "out"]
    assert ins[0] - refused_at >= pause * 0.95               # waited out the pause
    assert all(b - a >= 0.2 / 4 * 0.95 for a, b in zip(outs, ins[1:]))   # spaced
    assert _most_at_once(log) == 1 and lim.peak_after_throttle(IP) == 1
    assert _most_at_once(other) == 2                          # another IP is not affected
    (t,) = lim.throttled()
    assert (t.ip, t.hosts, t.refusals, t.reply) == (IP, ("mx1.example",), 1,
                                                    "greeting 421 4.7.0 busy")
    assert t.waited >= pause * 0.9


def test_the_pause_doubles_per_round_not_per_connection_of_the_same_burst():
    async def main():
        lim = _limiter(pause=1.0)
        loop = asyncio.get_running_loop()
        opened = loop.time()
        burst = [lim.throttle(IP, "mx", "421", opened) for _ in range(3)]   # in flight together
        await asyncio.sleep(0.01)
        later = lim.throttle(IP, "mx", "421", loop.time())                  # a retry refused
        return burst, later, lim._gates[IP].throttle.steps

    burst, later, steps = run_without_loop_errors(main)
    assert all(p <= 1.0 * JITTER[1] + 0.01 for p in burst) and steps == 2
    assert later >= 2.0 * JITTER[0]


def test_a_cancelled_waiter_does_not_leak_its_slot():
    async def main():
        lim, log = _limiter(limit=1), []
        first = asyncio.ensure_future(_hold(lim, IP, 0.05, log, "first"))
        await asyncio.sleep(0)
        waiter = asyncio.ensure_future(_hold(lim, IP, 0.01, log, "cancelled"))
        await asyncio.sleep(0.01)
        waiter.cancel()
        await asyncio.gather(first, _hold(lim, IP, 0.01, log, "last"), return_exceptions=True)
        return lim, log, waiter

    lim, log, waiter = run_without_loop_errors(main)
    assert waiter.cancelled() and [n for n, w, _ in log if w == "in"] == ["first", "last"]
    assert not lim._gates


def test_per_ip_state_stays_bounded_over_many_distinct_ips():
    """One entry per distinct IP would grow with the list (every domain with its own MX host
    adds an address): idle gates are freed, the peaks are bounded."""
    async def main():
        lim = _limiter()
        for i in range(12_000):
            async with lim.slot(f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"):
                pass
        async with lim.slot(IP):
            pass
        return lim

    lim = run_without_loop_errors(main)
    assert not lim._gates and len(lim.peak) <= 10_000     # limiter.MAX_PEAKS
    assert lim.peak[IP] == 1      # the latest is remembered
