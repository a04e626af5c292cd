"""Helpers shared by the policy-record checks (spf, dmarc, dkim, mta_sts, tls_rpt, info).

Pure: evidence in, outcomes out. ``family`` turns "this family of records was not collected"
or "its DNS lookup did not answer" into the right ``error``/``skipped`` outcome in one place,
so that "could not check" never reads as a pass or a fail.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scanner.evidence import DnsResult, DomainEvidence
from scanner.findings import Status
from scanner.registry import Outcome
from scanner.parsers.tagvalue import clip, locate


def family(ev: DomainEvidence, name: str) -> tuple[Any, Outcome | None]:
    """(the family's evidence, None) or (None, the outcome to emit instead)."""
    records = ev.records
    if records is None:
        return None, Outcome(Status.ERROR, "not evaluated: policy records were not collected")
    value = getattr(records, name)
    if value is None or value == ():
        reason = records.errors.get(name, "not collected")
        return None, Outcome(Status.ERROR, f"not evaluated: {reason}")
    return value, None


def unanswered(result: DnsResult | None) -> Outcome | None:
    """An ``error`` outcome when a lookup did not answer (SERVFAIL, timeout, ...)."""
    if result is None:
        return Outcome(Status.ERROR, "not evaluated: the lookup was not made")
    if not result.outcome.answered:
        return Outcome(Status.ERROR, f"could not be determined: {result.describe()}")
    return None


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


def answered_records(result: DnsResult) -> tuple[str, ...]:
    """The records of an answered lookup (none for NODATA/NXDOMAIN)."""
    return result.records if result.ok else ()


def listing(items: list[str] | tuple[str, ...], limit: int = 8) -> str:
    """'a, b, c' or 'a, b, ... (+N more)' for messages."""
    items = list(items)
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f", ... (+{len(items) - limit} more)"
