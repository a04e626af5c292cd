"""MX stage: the MX records of a domain, each exchange's addresses and their reverse DNS.

Collects only (through the scan's DNS layer); the mx.* checks judge. Shared MX hosts cost
nothing extra: a host another domain of the scan finished is taken whole (collect/reuse.py),
and every lookup is answered from the scan's DNS cache after the first.
"""
from __future__ import annotations

import asyncio
import ipaddress

from scanner.addresses import is_public_ip
from scanner.collect.context import ScanContext
from scanner.collect.reuse import completed
from scanner.evidence import AddressEvidence, DnsOutcome, DnsResult, MxEvidence, MxHostEvidence, MxRecord, PtrEvidence

MAX_PTR_NAMES = 3   # forward-confirm at most this many PTR names per address


async def collect_mx(ctx: ScanContext, domain: str) -> MxEvidence:
    lookup = await ctx.dns.query(domain, "MX")
    if not lookup.ok:
        if lookup.outcome is not DnsOutcome.NODATA:
            return MxEvidence(lookup)
        return await _implicit_mx(ctx, domain, lookup)
    records = _parse_mx(lookup)
    exchanges = _distinct_exchanges(records)
    cap = max(ctx.options.max_mx_hosts, 0)
    hosts = await _hosts(ctx, exchanges[:cap])
    return MxEvidence(lookup, records, hosts, max(len(exchanges) - cap, 0))


async def _hosts(ctx: ScanContext, exchanges: list[tuple[int, str]]) -> tuple[MxHostEvidence, ...]:
    """Each exchange's evidence, in order: those known at once (IP literals, hosts another
    domain finished) with no coroutine or Task each, the others collected concurrently."""
    return await completed([_known(ctx, name, pref, False) for pref, name in exchanges],
                           lambda i: _collected(ctx, exchanges[i][1], exchanges[i][0], False))


async def _implicit_mx(ctx: ScanContext, domain: str, lookup: DnsResult) -> MxEvidence:
    """No MX records: the domain's own address is the implicit MX (RFC 5321 5.1)."""
    host = await collect_host(ctx, domain, 0, implicit=True)
    has_address = bool(host.addresses)
    return MxEvidence(lookup, (), (host,) if has_address else (), 0,
                      domain_a=host.a, domain_aaaa=host.aaaa)


def _parse_mx(lookup: DnsResult) -> tuple[MxRecord, ...]:
    out = []
    for text in lookup.records:
        pref, _, exchange = text.partition(" ")
        exchange = exchange.strip().rstrip(".")
        out.append(MxRecord(int(pref) if pref.isdigit() else 0, exchange))
    return tuple(sorted(out, key=lambda r: (r.preference, r.exchange)))


def _distinct_exchanges(records: tuple[MxRecord, ...]) -> list[tuple[int, str]]:
    seen: dict[str, int] = {}
    for r in records:
        if r.exchange and r.exchange not in seen:
            seen[r.exchange] = r.preference
    return [(pref, name) for name, pref in seen.items()]


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
        return True
    except ValueError:
        return False


def _known(ctx: ScanContext, name: str, preference: int, implicit: bool) -> MxHostEvidence | None:
    """A host's evidence without asking anything: an IP literal's, or the one another domain
    of the scan finished (collect/reuse.py); None when it has to be collected."""
    if _is_ip_literal(name):
        return MxHostEvidence(name, preference, implicit=implicit, ip_literal=True)
    return ctx.reused.take(("mx-host", name, preference, implicit), ctx.budget)


def _answers(host: MxHostEvidence):
    """Every DNS answer a host's evidence holds (each charged to its domain's budget)."""
    yield from (r for r in (host.a, host.aaaa) if r is not None)
    for address in host.addresses:
        if address.ptr is not None:
            yield address.ptr.lookup
            yield from address.ptr.forward


async def collect_host(ctx: ScanContext, name: str, preference: int, *,
                       implicit: bool = False) -> MxHostEvidence:
    host = _known(ctx, name, preference, implicit)
    return host if host is not None else await _collected(ctx, name, preference, implicit)


async def _collected(ctx: ScanContext, name: str, preference: int, implicit: bool) -> MxHostEvidence:
    """The host collected, and kept for the next domain when its answers allow."""
    host = await _collect_host(ctx, name, preference, implicit)
    ctx.reused.keep(("mx-host", name, preference, implicit), host, _answers(host))
    return host


async def _collect_host(ctx: ScanContext, name: str, preference: int,
                        implicit: bool) -> MxHostEvidence:
    a, aaaa = await asyncio.gather(ctx.dns.query(name, "A"), ctx.dns.query(name, "AAAA"))
    cap = max(ctx.options.max_addresses, 0)
    ips = [(ip, 4) for ip in a.records[:cap]] + [(ip, 6) for ip in aaaa.records[:cap]]
    capped = max(len(a.records) - cap, 0) + max(len(aaaa.records) - cap, 0)
    addresses = await asyncio.gather(*(_address(ctx, ip, fam) for ip, fam in ips))
    return MxHostEvidence(name, preference, implicit=implicit, a=a, aaaa=aaaa,
                          addresses=tuple(addresses), addresses_capped=capped)


async def _address(ctx: ScanContext, ip: str, family: int) -> AddressEvidence:
    return AddressEvidence(ip=ip, family=family, public=is_public_ip(ip),
                           probed=ctx.may_connect(ip), ptr=await collect_ptr(ctx, ip, family))


async def collect_ptr(ctx: ScanContext, ip: str, family: int) -> PtrEvidence:
    """PTR of an address and forward confirmation (FCrDNS): some PTR name resolves back to it."""
    lookup = await ctx.dns.ptr(ip)
    names = lookup.records[:MAX_PTR_NAMES] if lookup.ok else ()
    rdtype = "A" if family == 4 else "AAAA"
    forward = await asyncio.gather(*(ctx.dns.query(n, rdtype) for n in names))
    want = ipaddress.ip_address(ip)
    confirmed = next((f.name for f in forward
                      if any(_same_ip(r, want) for r in f.records)), "")
    return PtrEvidence(lookup, tuple(forward), confirmed)


def _same_ip(text: str, want: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    try:
        return ipaddress.ip_address(text) == want
    except ValueError:
        return False
