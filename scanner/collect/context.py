"""Scan-wide state, passed in (never module globals): options, the DNS layer, the probe
cache, the connection limits and what the scan learns about its own network. One
ScanContext per scan, created inside the event loop; each domain's collection works with its
own view of it (``for_domain``), which adds the domain's budget to every path.
"""
from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any

from scanner.addresses import is_public_ip
from scanner.collect.budget import DomainBudget, DomainDns
from scanner.collect.environment import NetworkEnvironment
from scanner.collect.limiter import PerIpLimiter
from scanner.collect.reuse import Reused
from scanner.dns.client import DnsClient
from scanner.dns.dnssec.anchors import TrustAnchors
from scanner.dns.dnssec.validator import Validator
from scanner.memo import SharedOnce
from scanner.options import ScanOptions

__all__ = ["DOMAIN_DEADLINE", "PerIpLimiter", "ScanContext", "is_public_ip"]

# The loop time by which the domain being collected must be done (collect_domain sets it;
# tasks started for the domain inherit it): the SMTP probe redoes a transiently refused
# session only when the pause and the new session fit before it.
DOMAIN_DEADLINE: ContextVar[float] = ContextVar("domain_deadline", default=float("inf"))


@dataclass
class ScanContext:
    options: ScanOptions
    dns: DnsClient
    limiter: PerIpLimiter
    env: NetworkEnvironment
    probes: SharedOnce[Any] = field(default_factory=SharedOnce)   # (host, ip, port) -> SmtpProbe
    shared: dict[str, SharedOnce[Any]] = field(default_factory=dict)  # other stages' once-caches
    reused: Reused = field(default_factory=Reused)   # finished MX host parts (collect/reuse.py)
    validator: Validator | None = None   # DNSSEC: the scan's key and answer caches
    budget: DomainBudget | None = None   # set in a domain's own view (``for_domain``)
    # collection in several processes: the SMTP probes another process owns are asked of it
    # (scanner/run/collector.py ProbeRouter); None: every probe is run here
    router: Any = None

    @classmethod
    def create(cls, options: ScanOptions) -> "ScanContext":
        dns = DnsClient(options.nameservers, timeout=options.timeout, retries=options.dns_retries)
        limiter = PerIpLimiter(options.per_ip_limit, max(options.concurrency, 1) * 2,
                               pause=options.retry_pause)
        env = NetworkEnvironment(options)
        # a resolver that strips DNSSEC is said once, in the env.resolver note
        validator = Validator(dns, TrustAnchors.load(options.trust_anchors),
                              on_resolver_problem=env.resolver_strips_dnssec)
        return cls(options=options, dns=dns, limiter=limiter, env=env, validator=validator)

    def for_domain(self, budget: DomainBudget | None = None) -> "ScanContext":
        """The view one domain's collection works with: the same scan-wide caches and
        limits, and the domain's own ``DomainBudget`` on every path to them (its DNS
        questions through ``DomainDns``, its connections through ``connection``)."""
        budget = budget or DomainBudget()
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
