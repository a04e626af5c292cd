"""All network I/O for one domain: MX first, then SMTP probes and DNS records side by side,
bounded by the domain's deadline. Whatever the stages collected before the deadline is kept,
and the domain is marked as not completed."""
from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timezone

from scanner.collect.context import DOMAIN_DEADLINE, ScanContext
from scanner.collect.mx import collect_mx
from scanner.collect.records import collect_records
from scanner.collect.smtp import collect_smtp
from scanner.evidence import DnsOutcome, DomainEvidence
from scanner.inputs import Target


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def blank_evidence(target: Target, position: int, options) -> DomainEvidence:
    """A domain's evidence before any I/O: its input, its selectors, the scan's settings."""
    return DomainEvidence(position=position, input=target.input, domain=target.domain,
                          invalid_reason=target.invalid_reason,
                          dkim_selectors=tuple(dict.fromkeys(target.dkim_selectors
                                                             + options.dkim_selectors)),
                          scanned_at=now_iso(), allow_private=options.allow_private,
                          ports=options.ports)


async def collect_domain(ctx: ScanContext, target: Target, position: int) -> DomainEvidence:
    """All network I/O for one domain, bounded by the domain deadline."""
    opts = ctx.options
    ev = blank_evidence(target, position, opts)
    if not ev.valid:
        return ev
    ctx = ctx.for_domain()       # the domain's own budget on every shared pool
    parts: dict[str, object] = {}
    DOMAIN_DEADLINE.set(asyncio.get_running_loop().time() + opts.domain_deadline)
    try:
        async with asyncio.timeout(opts.domain_deadline):
            await _collect_parts(ctx, ev, parts)
    except TimeoutError:
        parts["error"] = f"domain deadline of {opts.domain_deadline:g}s exceeded"
    except Exception as exc:  # a collector bug must cost one domain's detail, never the domain
        parts["error"] = f"internal error while collecting: {type(exc).__name__}: {exc}"
    return replace(ev, **parts)


async def _collect_parts(ctx: ScanContext, ev: DomainEvidence, parts: dict[str, object]) -> None:
    mx = await collect_mx(ctx, ev.domain)
    parts["mx"] = mx
    if mx.lookup.outcome in (DnsOutcome.NXDOMAIN,) or not mx.lookup.outcome.answered:
        return

    async def smtp() -> None:
        if not mx.null_mx:
            parts["smtp"] = await collect_smtp(ctx, mx)

    async def records() -> None:
        parts["records"] = await collect_records(ctx, ev.domain, mx, ev.dkim_selectors)

    await asyncio.gather(smtp(), records())
