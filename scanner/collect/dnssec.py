"""DNSSEC and DANE stage: the validated state of the domain's MX answer and of each MX
host's address records, and the TLSA RRset of each host's port 25 (RFC 7672 2.2).

Validation is scanner/dns/dnssec's; this stage only asks and records. Every question goes
through the scan's DNS layer and the validator's per-scan caches, so a hosted provider's
MX hosts, zones and keys are validated once for all the domains that use them.

TLSA (RFC 7672 2.2): looked up for a host whose address records are secure (DANE applies)
or insecure (so TLSA records published where senders ignore them can be reported); not for
a bogus or indeterminate host, whose TLSA answer could not be trusted either way. When the
host name is a CNAME and its expansion is secure, ``_25._tcp.<target>`` is tried first and
``_25._tcp.<host>`` if the target has none (RFC 7672 2.2.2).
"""
from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime, timezone

from scanner.collect.context import ScanContext
from scanner.evidence import MxEvidence, MxHostEvidence
from scanner.evidence.dns import DnsOutcome, DnsResult
from scanner.evidence.dnssec import (DnssecEvidence, MxHostDnssec, Security, TlsaLookup,
                                     TlsaRecord, Validation)

MAX_TLSA = 16        # TLSA records kept per host (a hostile RRset can be large)
TLSA_PORT = 25       # DANE for SMTP is about MX delivery on port 25 (RFC 7672 1.3)


async def collect_dnssec(ctx: ScanContext, domain: str, mx: MxEvidence) -> DnssecEvidence:
    """The domain's DNSSEC evidence. The validator's questions go through the domain's own
    DNS budget (``ctx.dns``, a DomainDns; scanner/collect/budget.py) and end with its
    deadline, so a hostile signed zone that makes validation slow or long spends its own
    domain's share only."""
    validator = ctx.validator
    at = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    if ctx.budget is not None and ctx.budget.spent:
        refused = ctx.budget.refused(domain, "MX")
        return DnssecEvidence(Validation(domain, "MX", Security.INDETERMINATE, DnsOutcome.ERROR,
                                         detail=refused.detail), (), validator.anchors.describe(), at)
    try:
        with validator.asking(ctx.dns if ctx.budget is not None else None):
            domain_state, host_states = await _validated(ctx, domain, mx)
    except Exception as exc:   # a validator bug costs the DNSSEC evidence, never the domain's
        why = f"internal error in DNSSEC validation: {type(exc).__name__}: {exc}"[:300]
        return DnssecEvidence(Validation(domain, "MX", Security.INDETERMINATE, DnsOutcome.ERROR,
                                         detail=why), (), validator.anchors.describe(), at)
    return DnssecEvidence(domain_state, host_states, validator.anchors.describe(), at)


async def _validated(ctx: ScanContext, domain: str, mx: MxEvidence
                     ) -> tuple[Validation, tuple[MxHostDnssec, ...]]:
    """The domain's MX answer validated, and each host's state: a host another domain of
    the scan finished is taken whole (collect/reuse.py), the others found concurrently."""
    hosts: list[MxHostDnssec | None] = [
        None if h.ip_literal else ctx.reused.take(("dnssec-host", h.name), ctx.budget)
        for h in mx.hosts]
    missing = [i for i, found in enumerate(hosts) if found is None]
    mine = ctx.validator.validate(domain, "MX", walk_first=True)
    if not missing:
        return await mine, tuple(hosts)  # type: ignore[arg-type]
    # one gather for the domain and its hosts, so the validator's shared questions are asked
    # in the order they always were (reuse.completed would start the hosts a step later)
    domain_state, *found = await asyncio.gather(mine, *(_host(ctx, mx.hosts[i]) for i in missing))
    for i, host in zip(missing, found):
        hosts[i] = host
    return domain_state, tuple(hosts)  # type: ignore[arg-type]


async def _host(ctx: ScanContext, host: MxHostEvidence) -> MxHostDnssec:
    """One host's DNSSEC state and TLSA lookup. Kept for the next domain (collect/reuse.py)
    when the plain answers it charged to this domain were all authoritative: the validator's
    own answers are scan-wide already and never charged or refused per domain."""
    if host.ip_literal:
        return MxHostDnssec(host.name, tlsa_skipped="the exchange is an IP literal")
    charged: list[DnsResult] = []
    found = await _host_state(ctx, host, charged)
    ctx.reused.keep(("dnssec-host", host.name), found, charged)
    return found


async def _host_state(ctx: ScanContext, host: MxHostEvidence, charged: list[DnsResult]) -> MxHostDnssec:
    validator = ctx.validator
    a, aaaa = await asyncio.gather(validator.validate(host.name, "A"),
                                   validator.validate(host.name, "AAAA"))
    found = MxHostDnssec(host.name, a, aaaa)
    state = found.state
    if state in (Security.BOGUS, Security.INDETERMINATE):
        return MxHostDnssec(host.name, a, aaaa,
                            tlsa_skipped=f"the host's address records are {state}")
    bases = [host.name]
    canonical = a.canonical or aaaa.canonical
    if canonical and state is Security.SECURE:
        bases.insert(0, canonical)
    tlsa = None
    for base in bases:
        tlsa = await _tlsa(ctx, f"_{TLSA_PORT}._tcp.{base}", charged)
        if tlsa.records or tlsa.validation.outcome not in (DnsOutcome.NODATA, DnsOutcome.NXDOMAIN) \
                or not tlsa.validation.secure:
            break
    return MxHostDnssec(host.name, a, aaaa, tlsa)


async def _tlsa(ctx: ScanContext, name: str, charged: list[DnsResult]) -> TlsaLookup:
    validation: Validation = await ctx.validator.validate(name, "TLSA")
    if validation.outcome is not DnsOutcome.OK:
        return TlsaLookup(name, validation)
    final = validation.canonical or name
    # the records the validator saw (its DNSSEC answer), or, for a name it judged insecure
    # from the plain cache, the plain answer
    answer = ctx.dns.cached_signed(final, "TLSA")
    if answer is not None and answer.answered:
        rrset = answer.rrset(answer.qname, answer.qtype)
        found = [(rd.usage, rd.selector, rd.mtype, bytes(rd.cert)) for rd in rrset or ()]
    else:
        plain = await ctx.dns.query(final, "TLSA")
        charged.append(plain)
        found = [f for f in map(_parse_tlsa, plain.records) if f is not None]
    records = [tlsa_record(*f) for f in found]
    return TlsaLookup(name, validation, tuple(records[:MAX_TLSA]), max(len(records) - MAX_TLSA, 0))


def _parse_tlsa(text: str) -> tuple[int, int, int, bytes] | None:
    """A TLSA record in presentation format ("3 1 1 <hex>", RFC 6698 2.2)."""
    parts = text.split()
    try:
        usage, selector, mtype = (int(p) for p in parts[:3])
        return usage, selector, mtype, bytes.fromhex("".join(parts[3:]))
    except ValueError:
        return None


def tlsa_record(usage: int, selector: int, mtype: int, data: bytes) -> TlsaRecord:
    """RFC 6698 2.1; matching type 0's data is kept as its SHA-256 (see TlsaRecord)."""
    shown = hashlib.sha256(data).hexdigest() if mtype == 0 else data.hex()[:256]
    return TlsaRecord(usage, selector, mtype, shown, len(data))
