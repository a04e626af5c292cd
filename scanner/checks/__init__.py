"""Checks: one pure function per CHECKS.md ID. Importing this package registers them all."""
from __future__ import annotations

from scanner.checks import domain, mx, smtp, mta_sts, tls_rpt, spf, dmarc, dkim, info  # noqa: F401
from scanner.registry import CheckSpec, registered


def all_checks() -> dict[str, CheckSpec]:
    """Every check, in registration order (the catalogue's order)."""
    return registered()
