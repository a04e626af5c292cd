"""BIMI collection: the TXT record at default._bimi.<domain>, kept as seen (info only)."""
from __future__ import annotations

from scanner.collect.context import ScanContext
from scanner.evidence import DnsResult


async def collect_bimi(ctx: ScanContext, domain: str) -> DnsResult:
    return await ctx.dns.query(f"default._bimi.{domain}", "TXT")
