"""RFC 6186 submission SRV records (_submission._tcp, _submissions._tcp), kept as seen."""
from __future__ import annotations

import asyncio

from scanner.collect.context import ScanContext
from scanner.evidence import DnsResult

SERVICES = ("_submission._tcp", "_submissions._tcp")


async def collect_submission_srv(ctx: ScanContext, domain: str) -> tuple[DnsResult, ...]:
    return tuple(await asyncio.gather(*(ctx.dns.query(f"{s}.{domain}", "SRV") for s in SERVICES)))
