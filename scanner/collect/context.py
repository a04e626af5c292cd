"""Scan-wide state, passed in (never module globals): options, the DNS layer, the probe
cache and the connection limits. One ScanContext per scan, created inside the event loop.
"""
from __future__ import annotations

import asyncio
import ssl
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from scanner.addresses import is_public_ip
from scanner.collect.budget import DomainBudget, DomainDns
from scanner.dns.client import DnsClient
from scanner.memo import SharedOnce
from scanner.options import ScanOptions


class PerIpLimiter:
    """At most ``limit`` simultaneous connections per IP, and ``total`` overall.

    Hosted providers rate-limit and greylist scanners; being polite per IP is the design.
    """

    def __init__(self, limit: int, total: int) -> None:
        self._limit = limit
        self._per_ip: defaultdict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(limit))
        self._total = asyncio.Semaphore(total)
        self.peak: dict[str, int] = {}
        self._open: defaultdict[str, int] = defaultdict(int)

    @asynccontextmanager
    async def slot(self, ip: str) -> AsyncIterator[None]:
        sem = self._per_ip[ip]
        async with sem, self._total:
            self._open[ip] += 1
            self.peak[ip] = max(self.peak.get(ip, 0), self._open[ip])
            try:
                yield
            finally:
                self._open[ip] -= 1
                if not self._open[ip]:
                    self._open.pop(ip, None)
                    if not sem._waiters:  # free idle semaphores: memory stays flat
                        self._per_ip.pop(ip, None)


@dataclass
class ScanContext:
    options: ScanOptions
    dns: DnsClient
    limiter: PerIpLimiter
    probes: SharedOnce[Any] = field(default_factory=SharedOnce)   # (host, ip, port) -> SmtpProbe
    shared: dict[str, SharedOnce[Any]] = field(default_factory=dict)  # other stages' once-caches
    budget: DomainBudget | None = None   # set in a domain's own view (``for_domain``)

    @classmethod
    def create(cls, options: ScanOptions) -> "ScanContext":
        dns = DnsClient(options.nameservers, timeout=options.timeout, retries=options.dns_retries)
        limiter = PerIpLimiter(options.per_ip_limit, max(options.concurrency, 1) * 2)
        return cls(options=options, dns=dns, limiter=limiter)

    def for_domain(self) -> "ScanContext":
        """The view one domain's collection works with: the same scan-wide caches and
        limits, and the domain's own ``DomainBudget`` on every path to them (its DNS
        questions through ``DomainDns``, its connections through ``connection``)."""
        budget = DomainBudget()
        dns = self.dns._dns if isinstance(self.dns, DomainDns) else self.dns
        return replace(self, dns=DomainDns(dns, budget), budget=budget)

    @asynccontextmanager
    async def connection(self, ip: str) -> AsyncIterator[None]:
        """A slot for one TCP connection to ``ip``: the domain's own first (its budget),
        then the per-IP and global ones. Every connection of a scan goes through here."""
        if self.budget is None:
            async with self.limiter.slot(ip):
                yield
            return
        async with self.budget.connections, self.limiter.slot(ip):
            yield

    def once(self, name: str) -> SharedOnce[Any]:
        """A named once-cache for a stage (e.g. 'mta-sts-policy', 'dkim')."""
        if name not in self.shared:
            self.shared[name] = SharedOnce()
        return self.shared[name]

    def may_connect(self, ip: str) -> bool:
        """Never contact a non-public address (scanner/addresses.py: the IANA special-purpose
        registries, embedded IPv4 included) unless the operator said so (--allow-private).
        Every connection of a scan (SMTP probes, MTA-STS policy fetches) asks this first."""
        return self.options.allow_private or is_public_ip(ip)

    def ssl_context(self, *, verify: bool = True) -> ssl.SSLContext:
        """A client context trusting the system store plus --ca-file."""
        ctx = ssl.create_default_context()
        if self.options.ca_file:
            ctx.load_verify_locations(cafile=str(self.options.ca_file))
        if not verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx
