"""Helpers shared by the policy-record checks (spf, dmarc, dkim, mta_sts, tls_rpt, info).

Pure: evidence in, outcomes out. The evidence readers they share with the profiles
(``family``, ``unanswered``, ``answered_records``) live in scanner/derived.py.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scanner.derived import answered_records, family, unanswered
from scanner.evidence import DomainEvidence
from scanner.findings import Status
from scanner.parsers.tagvalue import clip, locate
from scanner.registry import Outcome


def versioned_records(ev: DomainEvidence, name: str, version: str
                      ) -> tuple[Any, tuple[str, ...], Outcome | None]:
    """(family evidence, its ``v=<version>`` TXT records, None), or the outcome to emit
    instead when the family was not collected or its lookup did not answer. For families
    whose evidence is the TXT lookup itself (BIMI, TLS-RPT) or carries it as ``.txt``."""
    value, problem = family(ev, name)
    if problem:
        return None, (), problem
    lookup = getattr(value, "txt", value)
    problem = unanswered(lookup)
    if problem:
        return None, (), problem
    return value, locate(answered_records(lookup), version), None


def single_record(records: tuple[str, ...], version: str, where: str,
                  errors_of: Callable[[str], list[str]]) -> Outcome:
    """The rule of MTA-STS and TLS-RPT TXT records: none -> warn, several -> fail,
    malformed -> fail, else pass."""
    if not records:
        return Outcome(Status.WARN, f"no v={version} record at {where}")
    if len(records) > 1:
        return Outcome(Status.FAIL, f"{len(records)} v={version} records: "
                                    + "; ".join(f'"{clip(r, 60)}"' for r in records[:4]))
    errors = errors_of(records[0])
    if errors:
        return Outcome(Status.FAIL, f"malformed record {clip(records[0], 80)}: {listing(errors)}")
    return Outcome(Status.PASS, f"record: {clip(records[0])}")


def listing(items: list[str] | tuple[str, ...], limit: int = 8) -> str:
    """'a, b, c' or 'a, b, ... (+N more)' for messages."""
    items = list(items)
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f", ... (+{len(items) - limit} more)"
