"""Facts derived from evidence that both the checks and the profiles read. Pure.

``family`` turns "this family of records was not collected" or "its DNS lookup did not
answer" into the right ``error`` outcome in one place, so that "could not check" never reads
as a pass or a fail. ``effective`` is the DMARC record in effect for a domain: eight DMARC
checks, dkim.present and the profiles' ``dmarc.*`` facts all read it from here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scanner.evidence import DnsResult, DomainEvidence
from scanner.findings import Status
from scanner.parsers.tagvalue import TagList, locate, parse
from scanner.registry import Outcome, per_evidence


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


def answered_records(result: DnsResult) -> tuple[str, ...]:
    """The records of an answered lookup (none for NODATA/NXDOMAIN)."""
    return result.records if result.ok else ()


@dataclass(frozen=True)
class DmarcRecord:
    source: str              # the name the record was found for (domain or org domain)
    inherited: bool          # found at the organisational domain
    records: tuple[str, ...]  # every DMARC record at that name
    tags: TagList            # the first record, parsed


@per_evidence    # eight DMARC checks and dkim.present ask for it
def effective(ev: DomainEvidence) -> tuple[DmarcRecord | None, Outcome | None]:
    d, problem = family(ev, "dmarc")
    if problem:
        return None, problem
    problem = unanswered(d.lookup)
    if problem:
        return None, problem
    found = locate(answered_records(d.lookup), "DMARC1")
    if found:
        return DmarcRecord(ev.domain, False, found, parse(found[0])), None
    if d.org_lookup is not None and d.org_domain != ev.domain:
        problem = unanswered(d.org_lookup)
        if problem:
            return None, problem
        found = locate(answered_records(d.org_lookup), "DMARC1")
        if found:
            return DmarcRecord(d.org_domain, True, found, parse(found[0])), None
    return None, None


def dmarc_policy(ev: DomainEvidence) -> str | None:
    """The DMARC policy in effect for the domain (``sp`` of an organisational record that
    has one, else ``p``), as published (not lower-cased); None without a record."""
    rec, _ = effective(ev) if ev.records is not None else (None, None)
    if rec is None:
        return None
    tag = "sp" if rec.inherited and rec.tags.get("sp") is not None else "p"
    return rec.tags.get(tag)
