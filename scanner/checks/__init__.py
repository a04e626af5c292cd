"""Checks: one pure function per CHECKS.md ID. Importing this package registers them all."""
from __future__ import annotations

from scanner.checks import (domain, dnssec, mx, smtp, mta_sts, tls_rpt, dane, spf, dmarc,  # noqa: F401
                            dkim, info)
from scanner.registry import CheckSpec, registered


def all_checks() -> dict[str, CheckSpec]:
    """Every check, in registration order (the catalogue's order)."""
    return registered()
