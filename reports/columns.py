"""The column sets of domains.csv and findings.csv (documented in the README)."""
from __future__ import annotations

from collections.abc import Callable

from scanner.derived import dmarc_policy
from scanner.evidence import DomainEvidence
from scanner.findings import TEXT
from scanner.result import DomainResult

from .summary import statuses_of

LEAD_COLUMNS = ("domain", "input", "status", "compliant", "score")
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


def _spf(ev: DomainEvidence):
    rec = ev.records
    return rec.spf if rec is not None and rec.spf is not None and rec.spf.nodes else None


def _spf_record(ev: DomainEvidence) -> str:
    spf = _spf(ev)
    return spf.root.records[0] if spf is not None and spf.root.records else ""


def _spf_lookups(ev: DomainEvidence) -> str:
    spf = _spf(ev)
    if spf is None or not spf.root.records:
        return ""
    return f"{spf.lookups}+" if spf.truncated else str(spf.lookups)


def _dmarc_policy(ev: DomainEvidence) -> str:
    return (dmarc_policy(ev) or "") if ev.records is not None else ""


def _dkim_selectors(ev: DomainEvidence) -> str:
    dkim = ev.records.dkim if ev.records is not None else None
    if not dkim:
        return ""
    return " ".join(p.selector for p in dkim.probes if p.lookup.ok)


_VERSION_ORDER = ("TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1", "SSLv3")


def _tls_versions(ev: DomainEvidence) -> str:
    """The TLS versions the domain's SMTP servers negotiated, the legacy ones they accept
    when offered alone included; best first."""
    seen: set[str] = set()
    for p in ev.smtp or ():
        if p.tls is not None and p.tls.completed and p.tls.version:
            seen.add(p.tls.version)
        if p.legacy is not None and str(p.legacy.outcome) == "accepted" and p.legacy.version:
            seen.add(p.legacy.version)
    return " ".join(sorted(seen, key=lambda v: (_VERSION_ORDER.index(v)
                                                if v in _VERSION_ORDER else 99, v)))


def _mechanisms(ev: DomainEvidence, attr: str) -> str:
    return " ".join(dict.fromkeys(m for p in ev.smtp or () for m in getattr(p, attr)))


def _of_evidence(fn: Callable[[DomainEvidence], str]) -> Callable[[DomainResult], str]:
    return lambda r: fn(r.evidence)


# name -> function of the result, in column order, after the per-check columns. Columns are
# appended, never renamed or reordered (the README's contract): read them by header name. The
# grade columns (the rating guide, docs/rating.md): the grade (A+ .. F, "not graded"; empty for
# a verdict stored before the guide), the caps that limited it (space-separated,
# "critical:smtp.starttls" ...) and the guide's version.
DETAIL_COLUMNS: dict[str, Callable[[DomainResult], object]] = {
    "mx_hosts": _of_evidence(_mx_hosts),
    "mx_addresses": _of_evidence(_mx_ips),
    "scan_error": _of_evidence(_error),
    "spf_record": _of_evidence(_spf_record),
    "spf_lookups": _of_evidence(_spf_lookups),
    "dmarc_policy": _of_evidence(_dmarc_policy),
    "dkim_selectors": _of_evidence(_dkim_selectors),
    "tls_versions": _of_evidence(_tls_versions),
    "auth_mechanisms": _of_evidence(lambda ev: _mechanisms(ev, "auth_after_tls")),
    "auth_before_tls": _of_evidence(lambda ev: _mechanisms(ev, "auth_before_tls")),
    "grade": lambda r: r.verdict.grade,
    "caps": lambda r: " ".join(r.verdict.caps),
    "rating_guide": lambda r: r.verdict.guide,
}


def domain_row(r: DomainResult, check_ids: list[str]) -> list[object]:
    ev = r.evidence
    levels = statuses_of(r)
    v = r.verdict
    return ([ev.domain, ev.input, r.status, "true" if v.compliant else "false", v.score]
            + [TEXT[levels[c]] if c in levels else "" for c in check_ids]
            + [fn(r) for fn in DETAIL_COLUMNS.values()])
