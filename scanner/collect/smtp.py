"""SMTP probe stage (placeholder until the probe lands): returns no sessions."""
from __future__ import annotations

from ..context import ScanContext
from ..evidence import MxEvidence, SmtpProbe


async def collect_smtp(ctx: ScanContext, mx: MxEvidence) -> tuple[SmtpProbe, ...]:
    return ()
