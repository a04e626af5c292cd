"""What one domain may hold of a scan's shared resources, so a hostile domain pays for
itself and never for the innocent domains scanned beside it (STYLE rule 11).

The scan shares a few pools among the domains in flight: the DNS client's in-flight queries
(``max_in_flight``), the connection limiter's global slots (``concurrency x 2``) and memory.
A domain with ten MX hosts of several addresses (over a hundred SMTP probes), SPF terms
that fan out behind a slow nameserver, or huge TXT answers used to take whatever it could:
innocent domains then waited for slots until their own deadline passed. Each domain now
carries a ``DomainBudget`` through its collection (``ScanContext.for_domain``), and every
path to a shared pool goes through it:

- DNS: at most ``DNS_IN_FLIGHT`` of its questions in flight at once (``DomainDns``: every
  collector's ``ctx.dns``, and the DNSSEC validator's questions while it works for the
  domain, see scanner/collect/dnssec.py); answers already cached cost no slot;
- connections: at most ``CONNECTIONS`` open at once (``ScanContext.connection``: every SMTP
  probe connection and MTA-STS fetch), taken before the per-IP and global slots, so a
  domain waiting on its own budget holds none of those;
- evidence: at most ``EVIDENCE_BYTES`` of DNS record text kept (``DomainDns``): past that,
  answers are recorded as errors saying so and no further question is asked for the
  domain (its checks say ``error``): memory and parsing per domain stay bounded (HTTP
  bodies, SMTP transcripts and certificates have their own caps where they are read);
- time: the domain's deadline (``collect_domain``); work started for it that nobody else
  shares (an SMTP probe) is cancelled with it (``SharedOnce``).
"""
from __future__ import annotations

import asyncio
from collections.abc import Sequence

import dns.reversename

from scanner.dns.client import DnsClient, Slots
from scanner.dns.dnssec.response import SignedAnswer
from scanner.evidence.dns import DnsOutcome, DnsResult

DNS_IN_FLIGHT = 16
CONNECTIONS = 4
EVIDENCE_BYTES = 1 << 20


def answer_bytes(result: DnsResult) -> int:
    """What an answer costs a domain's evidence budget: its records' text."""
    return sum(len(r) for r in result.records)


class DomainBudget:
    """One domain's share; see the module docstring."""

    def __init__(self, *, dns_in_flight: int = DNS_IN_FLIGHT, connections: int = CONNECTIONS,
                 evidence_bytes: int = EVIDENCE_BYTES) -> None:
        self.dns = Slots(dns_in_flight)
        self.connections = asyncio.Semaphore(connections)
        self.evidence_bytes = evidence_bytes
        self.bytes_left = evidence_bytes

    def keep(self, result: DnsResult) -> DnsResult:
        """``result``, charged to the evidence budget; past it, an ERROR result instead."""
        size = answer_bytes(result)
        if size > self.bytes_left:
            self.bytes_left = 0
            return DnsResult(result.name, result.rdtype, DnsOutcome.ERROR,
                             detail=f"answer of {size} bytes not kept: {self._spent()}")
        self.bytes_left -= size
        return result

    def pay(self, size: int) -> bool:
        """Charge ``size`` bytes of answers taken whole from a part another domain built
        (scanner/collect/reuse.py), if asking them one by one through ``keep`` would have
        refused none of them; else charge nothing and say False (the caller asks them)."""
        if size >= self.bytes_left:
            return False
        self.bytes_left -= size
        return True

    @property
    def spent(self) -> bool:
        return self.bytes_left <= 0

    def refused(self, name: str, rdtype: str) -> DnsResult:
        """The result of a question not asked at all: the evidence budget is spent, and a
        domain that sent a megabyte of records pays for more by getting no more answers."""
        return DnsResult(name, rdtype, DnsOutcome.ERROR, detail=f"not asked: {self._spent()}")

    def _spent(self) -> str:
        return f"this domain's evidence budget ({self.evidence_bytes // 1024} KiB) is spent"


class DomainDns:
    """The scan's DnsClient as one domain sees it: the same cache and sharing, within the
    domain's ``DomainBudget``. Anything else is the client's (``__getattr__``)."""

    def __init__(self, client: DnsClient, budget: DomainBudget) -> None:
        self._dns, self._budget = client, budget

    def __getattr__(self, name: str):
        return getattr(self._dns, name)

    def cached(self, name: str, rdtype: str) -> DnsResult | None:
        return self._dns.cached(name, rdtype)

    async def query(self, name: str, rdtype: str) -> DnsResult:
        if self._budget.spent:
            return self._budget.refused(name, rdtype)
        hit = self._dns.cached(name, rdtype)
        if hit is not None:
            return self._budget.keep(hit)
        return self._budget.keep(await self._within(self._dns.query, name, rdtype))

    async def ptr(self, ip: str) -> DnsResult:
        return await self.query(dns.reversename.from_address(ip).to_text(), "PTR")

    async def query_many(self, names: Sequence[str], rdtype: str) -> list[DnsResult]:
        """``DnsClient.query_many`` in chunks of as many names as the domain has free slots."""
        out: list[DnsResult] = []
        slots = self._budget.dns
        while len(out) < len(names):
            if self._budget.spent:
                out += [self._budget.refused(n, rdtype) for n in names[len(out):]]
                break
            left = len(names) - len(out)
            n = slots.take_now(left) or await slots.take(left)
            try:
                chunk = await self._dns.query_many(names[len(out):len(out) + n], rdtype)
            finally:
                slots.release(n)
            out += [self._budget.keep(r) for r in chunk]
        return out

    # ---- the DNSSEC validator's questions (scanner/dns/dnssec/validator.py ``asking``)
    # Within the domain's in-flight slots, so a signed zone that makes the validator walk,
    # chase and fetch keys spends this domain's share, and its deadline bounds the work.
    # Never refused and never charged to the evidence budget: what they return goes into
    # the validator's scan-wide caches, which other domains read; a refusal there would let a
    # domain that spent its budget on purpose poison the answer for a shared MX host. (Only
    # the verdicts reach the evidence, clipped; the messages stay in the client's LRU.)

    def cached_signed(self, name: str, rdtype: str) -> SignedAnswer | None:
        return self._dns.cached_signed(name, rdtype)

    async def query_signed(self, name: str, rdtype: str) -> SignedAnswer:
        hit = self._dns.cached_signed(name, rdtype)
        if hit is not None:
            return hit
        return await self._within(self._dns.query_signed, name, rdtype)

    async def query_shared(self, name: str, rdtype: str) -> DnsResult:
        """A plain question whose answer feeds a scan-wide cache (see above)."""
        hit = self._dns.cached(name, rdtype)
        if hit is not None:
            return hit
        return await self._within(self._dns.query, name, rdtype)

    async def _within(self, ask, name: str, rdtype: str):
        slots = self._budget.dns
        if not slots.take_now():
            await slots.take()
        try:
            return await ask(name, rdtype)
        finally:
            slots.release()
