"""DMARC collection: the record at _dmarc.<domain>, else at the organisational domain (from
the shipped PSL), and the authorisation lookups of external report destinations (RFC 7489
7.1, wildcard ``*._report._dmarc.<dest>`` honoured). Records are parsed by the checks."""
from __future__ import annotations

import asyncio

from scanner.collect.context import ScanContext
from scanner.evidence.records import DmarcEvidence, DmarcReportAuth
from scanner.parsers.psl import org_domain
from scanner.parsers.tagvalue import locate, mailto_domains, parse

MAX_DESTINATIONS = 10


async def collect_dmarc(ctx: ScanContext, domain: str) -> DmarcEvidence:
    org = org_domain(domain)
    lookup = await ctx.dns.query(f"_dmarc.{domain}", "TXT")
    records = locate(lookup.records if lookup.ok else (), "DMARC1")
    source, org_lookup = domain, None
    if not records and lookup.outcome.answered and org != domain:
        org_lookup = await ctx.dns.query(f"_dmarc.{org}", "TXT")
        records = locate(org_lookup.records if org_lookup.ok else (), "DMARC1")
        source = org
    auths: tuple[DmarcReportAuth, ...] = ()
    if records:
        tags = parse(records[0])
        dests: dict[str, str] = {}
        for name in ("rua", "ruf"):
            for uri, dest in mailto_domains(tags.get(name) or ""):
                if org_domain(dest) != org_domain(source):
                    dests.setdefault(dest, uri)
        jobs = [_authorisation(ctx, source, dest, uri)
                for dest, uri in list(dests.items())[:MAX_DESTINATIONS]]
        auths = tuple(await asyncio.gather(*jobs))
    return DmarcEvidence(lookup, org, org_lookup, auths)


async def _authorisation(ctx: ScanContext, source: str, dest: str, uri: str) -> DmarcReportAuth:
    lookup = await ctx.dns.query(f"{source}._report._dmarc.{dest}", "TXT")
    wildcard = None
    if not locate(lookup.records if lookup.ok else (), "DMARC1") and lookup.outcome.answered:
        wildcard = await ctx.dns.query(f"*._report._dmarc.{dest}", "TXT")
    return DmarcReportAuth(dest, uri, lookup, wildcard)
