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
from scanner.evidence.dns import DnsOutcome
from scanner.evidence.dnssec import (DnssecEvidence, MxHostDnssec, Security, TlsaLookup,
                                     TlsaRecord, Validation)

MAX_TLSA = 16        # TLSA records kept per host (a hostile RRset can be large)
TLSA_PORT = 25       # DANE for SMTP is about MX delivery on port 25 (RFC 7672 1.3)


async def collect_dnssec(ctx: ScanContext, domain: str, mx: MxEvidence) -> DnssecEvidence:
    validator = ctx.validator
    at = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    hosts = [h for h in mx.hosts if not mx.null_mx]
    domain_state, *host_states = await asyncio.gather(
        validator.validate(domain, "MX"), *(_host(ctx, h) for h in hosts))
    return DnssecEvidence(domain_state, tuple(host_states), validator.anchors.describe(), at)


async def _host(ctx: ScanContext, host: MxHostEvidence) -> MxHostDnssec:
    if host.ip_literal:
        return MxHostDnssec(host.name, tlsa_skipped="the exchange is an IP literal")
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
        tlsa = await _tlsa(ctx, f"_{TLSA_PORT}._tcp.{base}")
        if tlsa.records or tlsa.validation.outcome not in (DnsOutcome.NODATA, DnsOutcome.NXDOMAIN) \
                or not tlsa.validation.secure:
            break
    return MxHostDnssec(host.name, a, aaaa, tlsa)


async def _tlsa(ctx: ScanContext, name: str) -> TlsaLookup:
    validation: Validation = await ctx.validator.validate(name, "TLSA")
    if validation.outcome is not DnsOutcome.OK:
        return TlsaLookup(name, validation)
    final = validation.canonical or name
    answer = await ctx.dns.query_signed(final, "TLSA")     # cached: the validator asked it
    rrset = answer.rrset(answer.qname, answer.qtype) if answer.answered else None
    records = [tlsa_record(rd) for rd in rrset] if rrset is not None else []
    return TlsaLookup(name, validation, tuple(records[:MAX_TLSA]), max(len(records) - MAX_TLSA, 0))


def tlsa_record(rd) -> TlsaRecord:
    """RFC 6698 2.1; matching type 0's data is kept as its SHA-256 (see TlsaRecord)."""
    data = bytes(rd.cert)
    shown = hashlib.sha256(data).hexdigest() if rd.mtype == 0 else data.hex()[:256]
    return TlsaRecord(rd.usage, rd.selector, rd.mtype, shown, len(data))
