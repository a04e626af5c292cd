"""The column sets of domains.csv and findings.csv (documented in the README)."""
from __future__ import annotations

from collections.abc import Callable

from scanner.derived import dmarc_policy
from scanner.evidence import DomainEvidence
from scanner.findings import domain_statuses
from scanner.result import DomainResult

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


# name -> function of the evidence, in column order. Columns are appended, never renamed or
# reordered (the README's contract): read them by header name.
DETAIL_COLUMNS: dict[str, Callable[[DomainEvidence], str]] = {
    "mx_hosts": _mx_hosts,
    "mx_addresses": _mx_ips,
    "scan_error": _error,
    "spf_record": _spf_record,
    "spf_lookups": _spf_lookups,
    "dmarc_policy": _dmarc_policy,
    "dkim_selectors": _dkim_selectors,
    "tls_versions": _tls_versions,
    "auth_mechanisms": lambda ev: _mechanisms(ev, "auth_after_tls"),
    "auth_before_tls": lambda ev: _mechanisms(ev, "auth_before_tls"),
}


def domain_row(r: DomainResult, check_ids: list[str]) -> list[object]:
    ev = r.evidence
    levels = domain_statuses(r.findings)
    return ([ev.domain, ev.input, r.status, "true" if r.verdict.compliant else "false", r.verdict.score]
            + [levels[c].value if c in levels else "" for c in check_ids]
            + [fn(ev) for fn in DETAIL_COLUMNS.values()])
