"""TLS-RPT collection: the TXT record at _smtp._tls.<domain> (RFC 8460 3), kept as seen."""
from __future__ import annotations

from scanner.collect.context import ScanContext
from scanner.evidence import DnsResult


async def collect_tls_rpt(ctx: ScanContext, domain: str) -> DnsResult:
    return await ctx.dns.query(f"_smtp._tls.{domain}", "TXT")
