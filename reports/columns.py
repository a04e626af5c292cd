"""The column sets of domains.csv and findings.csv (documented in the README)."""
from __future__ import annotations

from collections.abc import Callable

from scanner.evidence import DomainEvidence
from scanner.findings import domain_statuses
from scanner.result import DomainResult

LEAD_COLUMNS = ("domain", "input", "status", "compliant", "score")
# After every other column (the detail columns included), so existing positions never move:
# the grade (A+ .. F, "not graded"; empty for a verdict stored before the rating guide), the
# caps that limited it (space-separated, "critical:smtp.starttls" ...) and the guide version.
TRAIL_COLUMNS = ("grade", "caps", "rating_guide")
FINDING_COLUMNS = ("domain", "check", "subject", "status", "message", "remediation")


def _mx_hosts(ev: DomainEvidence) -> str:
    if ev.mx is None:
        return ""
    if ev.mx.null_mx:
        return "."
    return " ".join(f"{h.preference}:{h.name}" for h in ev.mx.hosts)


def _mx_ips(ev: DomainEvidence) -> str:
    if ev.mx is None:
        return ""
    return " ".join(a.ip for h in ev.mx.hosts for a in h.addresses)


def _error(ev: DomainEvidence) -> str:
    return ev.error or (ev.invalid_reason if not ev.valid else "")


# name -> function of the evidence; the SMTP and record stages add theirs here.
DETAIL_COLUMNS: dict[str, Callable[[DomainEvidence], str]] = {
    "mx_hosts": _mx_hosts,
    "mx_addresses": _mx_ips,
    "scan_error": _error,
}


def domain_row(r: DomainResult, check_ids: list[str]) -> list[object]:
    ev = r.evidence
    levels = domain_statuses(r.findings)
    v = r.verdict
    return ([ev.domain, ev.input, r.status, "true" if v.compliant else "false", v.score]
            + [levels[c].value if c in levels else "" for c in check_ids]
            + [fn(ev) for fn in DETAIL_COLUMNS.values()]
            + [v.grade, " ".join(v.caps), v.guide])
