"""Finished parts of one domain's evidence handed whole to the next domain that needs them.

Most domains of a real list (and of the bench) share a provider's MX hosts. Each of their
answers is asked once per scan already (the DNS cache), but every domain still walked the
same collection for them: an MX host's A/AAAA, the reverse DNS of each address and its
forward confirmation, the host's DNSSEC state and TLSA lookup - tens of coroutines, Tasks and
gathers per domain, to build a value equal to the one the previous domain built. ``Reused``
keeps that value (bounded, least recently used dropped first), so the next domain takes the
very same object: nothing collected twice, and the evidence codec and the judging memo
(which share by identity) meet it again for free.

Only values that cannot depend on the domain that built them are kept: every DNS answer in
them an authoritative yes or no (not a timeout, a SERVFAIL, or a question refused by that
domain's evidence budget). A domain taking one pays its own evidence budget exactly what
asking each of those questions would have cost it (``DomainBudget.pay``); one that could not
pay for every answer in turn collects the part itself, as before, and gets the same
refusals it always got.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any, TypeVar

from scanner.bounded import Lru
from scanner.collect.budget import answer_bytes
from scanner.evidence.dns import DnsResult

MAX_PARTS = 4096
T = TypeVar("T")


async def completed(found: list[T | None], collect: Callable[[int], Awaitable[T]]) -> tuple[T, ...]:
    """``found`` (parts taken from ``Reused``, None where there was none) with each missing
    part collected - ``collect(i)`` for ``found[i]``, concurrently - in order."""
    missing = [i for i, part in enumerate(found) if part is None]
    if missing:
        for i, part in zip(missing, await asyncio.gather(*(collect(i) for i in missing))):
            found[i] = part
    return tuple(found)  # type: ignore[arg-type]


class Reused:
    """key -> (a finished, domain-independent part, the bytes its answers cost a domain)."""

    def __init__(self, max_entries: int = MAX_PARTS) -> None:
        self._parts: Lru = Lru(max_entries)     # key -> (part, cost)
        self.hits = 0

    def take(self, key: Hashable, budget) -> Any:
        """The part kept under ``key``, charged to ``budget`` (a DomainBudget, or None for a
        context without one), or None: nothing kept, or the budget cannot pay for it."""
        found = self._parts.get(key)
        if found is None:
            return None
        value, cost = found
        if budget is not None and not budget.pay(cost):
            return None
        self._parts.move_to_end(key)              # a use, paid for
        self.hits += 1
        return value

    def keep(self, key: Hashable, value: Any, answers: Iterable[DnsResult]) -> None:
        """Keep ``value`` if every one of ``answers`` (all the DNS answers it holds, each
        charged to the domain that built it) is an authoritative yes or no."""
        answers = tuple(answers)
        if not all(res.outcome.answered for res in answers):
            return
        self._parts.keep(key, (value, sum(map(answer_bytes, answers))))
