"""Policy-record stage: SPF, DMARC, DKIM, MTA-STS, TLS-RPT, BIMI and submission SRV.

One collector module per record family; this module fans them out concurrently and gives
each a time budget, so one slow family (a tarpitting MTA-STS host, a deep SPF tree behind a
slow nameserver) cannot hold the others. A family that fails as a whole is recorded in
``RecordsEvidence.errors`` and its checks report ``error``, never a pass or a fail.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from scanner.collect.context import ScanContext
from scanner.evidence import MxEvidence, RecordsEvidence
from scanner.collect.bimi import collect_bimi
from scanner.collect.dkim import collect_dkim
from scanner.collect.dmarc import collect_dmarc
from scanner.collect.mta_sts import collect_mta_sts
from scanner.collect.spf import collect_spf
from scanner.collect.srv import collect_submission_srv
from scanner.collect.tls_rpt import collect_tls_rpt


def family_budget(ctx: ScanContext) -> float:
    """Seconds one family may take: a few sequential DNS round trips plus an HTTPS fetch."""
    return max(1.0, min(ctx.options.timeout * 12, ctx.options.domain_deadline * 0.9))


async def _guarded(coro: Awaitable[Any], budget: float) -> tuple[Any, str]:
    try:
        async with asyncio.timeout(budget):
            return await coro, ""
    except TimeoutError:
        return None, f"timed out after {budget:g} s"
    except Exception as exc:  # a collector bug must not lose the domain's other families
        return None, f"internal error: {type(exc).__name__}: {str(exc)[:200]}"


async def collect_records(ctx: ScanContext, domain: str, mx: MxEvidence,
                          selectors: tuple[str, ...]) -> RecordsEvidence | None:
    jobs = {
        "spf": collect_spf(ctx, domain, mx),
        "dmarc": collect_dmarc(ctx, domain),
        "dkim": collect_dkim(ctx, domain, selectors),
        "mta_sts": collect_mta_sts(ctx, domain),
        "tls_rpt": collect_tls_rpt(ctx, domain),
        "bimi": collect_bimi(ctx, domain),
        "submission_srv": collect_submission_srv(ctx, domain),
    }
    budget = family_budget(ctx)
    results = await asyncio.gather(*(_guarded(job, budget) for job in jobs.values()))
    values = {name: value for name, (value, _) in zip(jobs, results) if value is not None}
    errors = {name: error for name, (_, error) in zip(jobs, results) if error}
    return RecordsEvidence(**values, errors=errors)
