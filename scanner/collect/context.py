"""Scan-wide state, passed in (never module globals): options, the DNS layer, the probe
cache, the connection limits and what the scan learns about its own network. One
ScanContext per scan, created inside the event loop.
"""
from __future__ import annotations

import ipaddress
import ssl
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from scanner.collect.environment import NetworkEnvironment
from scanner.collect.limiter import PerIpLimiter
from scanner.dns.client import DnsClient
from scanner.memo import SharedOnce
from scanner.options import ScanOptions


# The loop time by which the domain being collected must be done (collect_domain sets it;
# tasks started for the domain inherit it): the SMTP probe redoes a transiently refused
# session only when the pause and the new session fit before it.
DOMAIN_DEADLINE: ContextVar[float] = ContextVar("domain_deadline", default=float("inf"))


def is_public_ip(ip: str) -> bool:
    """Globally routable per RFC 6890 (False for loopback, private, link-local, reserved)."""
    try:
        return ipaddress.ip_address(ip).is_global
    except ValueError:
        return False


@dataclass
class ScanContext:
    options: ScanOptions
    dns: DnsClient
    limiter: PerIpLimiter
    env: NetworkEnvironment
    probes: SharedOnce[Any] = field(default_factory=SharedOnce)   # (host, ip, port) -> SmtpProbe
    shared: dict[str, SharedOnce[Any]] = field(default_factory=dict)  # other stages' once-caches

    @classmethod
    def create(cls, options: ScanOptions) -> "ScanContext":
        dns = DnsClient(options.nameservers, timeout=options.timeout, retries=options.dns_retries)
        limiter = PerIpLimiter(options.per_ip_limit, max(options.concurrency, 1) * 2,
                               pause=options.retry_pause)
        return cls(options=options, dns=dns, limiter=limiter, env=NetworkEnvironment(options))

    def once(self, name: str) -> SharedOnce[Any]:
        """A named once-cache for a stage (e.g. 'mta-sts-policy', 'dkim')."""
        if name not in self.shared:
            self.shared[name] = SharedOnce()
        return self.shared[name]

    def may_connect(self, ip: str) -> bool:
        """Never probe private addresses unless the operator said so (--allow-private)."""
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
