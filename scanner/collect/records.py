"""Policy-record stage (placeholder until the record collectors land): collects nothing."""
from __future__ import annotations

from ..context import ScanContext
from ..evidence import MxEvidence, RecordsEvidence


async def collect_records(ctx: ScanContext, domain: str, mx: MxEvidence,
                          selectors: tuple[str, ...]) -> RecordsEvidence | None:
    return None
