"""What report.html shows for one domain (its table row and details), precomputed in Python
from the result: verdict state, counts, unmet requirements, findings grouped by category and
the evidence view (reports/evidence_view.py)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scanner.findings import SEVERITY, Finding, Status
from scanner.profiles import Profile
from scanner.registry import CATEGORY_TITLES
from scanner.result import DomainResult

from .evidence_view import clip, evidence_view
from .summary import domain_groups, verdict_state

COLLAPSED = (Status.PASS, Status.SKIPPED)   # shown one row per check, subjects listed


def _worst_first(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: -SEVERITY[f.status])


def domain_context(r: DomainResult, specs: dict, profile: Profile, *,
                   compact: bool = False) -> dict[str, Any]:
    """What the _domain template shows for one result, precomputed in Python."""
    from scanner.findings import domain_statuses
    from scanner.verdict import not_tested, unmet

    statuses = domain_statuses(r.findings)
    counts = {s.value: 0 for s in Status}
    for s in statuses.values():
        counts[s.value] += 1
    return {
        "state": verdict_state(r),
        "counts": counts,                         # checks (domain level) per status
        "not_tested": not_tested(r.findings),
        "unmet": unmet(r.verdict, profile),
        "scores": ({g: round(v) for g, v in domain_groups(r, profile).items()}
                   if r.evidence.valid else {}),
        "groups": group_findings(r.findings, specs, compact=compact),
        "evidence": evidence_view(r.evidence, compact=compact),
        "network": network_notes(r.evidence),
    }


def network_notes(ev: Any) -> list[str]:
    """What the scanning host's own network (env.* notes) or a throttling MX host kept from
    being tested for this domain, said next to it: those endpoints are `skipped` or `error`,
    never scored. Read defensively, like the evidence view."""
    try:
        probes = tuple(ev.smtp or ())
        held: dict[str, list] = {}
        explained: dict[str, int] = {}
        lines = []
        for p in probes:
            note = getattr(p, "environment", "")
            if note and not p.connections:
                held.setdefault(note, []).append(p)
            elif note:
                explained[note] = explained.get(note, 0) + 1
        for note, ps in held.items():
            lines.append(f"{len(ps)} endpoint(s) not probed because of the scanning host's "
                         f"network ({note}: {clip(ps[0].error, 160)}); not scored, the verdict "
                         "rests on what was probed and the grade says what that leaves open")
        for note, n in explained.items():
            lines.append(f"{n} port-25 connection timeout(s) put down to the scanning host's "
                         f"network ({note}); could not be tested, not scored")
        for p in probes:
            if getattr(p, "transient", ""):
                how = (f"redone after {p.retried_after:g}s" if p.retried_after is not None
                       else "not redone (no time left)")
                lines.append(f"{p.host} [{p.ip}]:{p.port} refused transiently "
                             f"({clip(p.transient, 160)}); the probe was {how}")
        return lines
    except Exception:   # evidence of another shape
        return []


def group_findings(findings: Iterable[Finding], specs: dict, *,
                   compact: bool = False) -> list[tuple[str, list[dict]]]:
    """[(category title, rows)], categories in catalogue order, checks in catalogue order,
    worst first within a check. Subjects of a check with the same status and text share one
    row (passing ones whatever their text); when ``compact``, all passing (skipped) checks of
    a category share one row."""
    by_check: dict[str, list[Finding]] = {}
    for f in findings:
        by_check.setdefault(f.check, []).append(f)
    order = {cid: i for i, cid in enumerate(specs)}
    cats: dict[str, list[dict]] = {}
    for cid in sorted(by_check, key=lambda c: order.get(c, len(order))):
        spec = specs.get(cid)
        cat = spec.category if spec else "info"
        rows = cats.setdefault(cat, [])
        items = _worst_first(by_check[cid])
        same_text: dict[tuple, list[str]] = {}   # one row per (status, message, remediation)
        for f in (f for f in items if f.status not in COLLAPSED):
            same_text.setdefault((f.status.value, f.message, f.remediation), []).append(f.subject)
        for (status, message, remediation), subjects in same_text.items():
            rows.append({"check": cid, "spec": spec, "status": status, "subjects": subjects,
                         "message": message, "remediation": remediation, "non_pass": True})
        for status in COLLAPSED:
            same = [f for f in items if f.status is status]
            if same:
                messages = list(dict.fromkeys(f.message for f in same))
                rows.append({"check": cid, "spec": spec, "status": status.value,
                             "subjects": [f.subject for f in same],
                             "message": " · ".join(messages) if len(messages) <= 3 else
                             f"{len(messages)} different messages (each in findings.csv)",
                             "remediation": "", "non_pass": status is not Status.PASS})
    if compact:
        cats = {c: _compact(rows) for c, rows in cats.items()}
    known = [c for c in CATEGORY_TITLES if c in cats] + [c for c in cats if c not in CATEGORY_TITLES]
    return [(CATEGORY_TITLES.get(c, c), cats[c]) for c in known]


def _compact(rows: list[dict]) -> list[dict]:
    """Non-pass rows as they are; pass, info and skipped checks one row per status (the
    facts of info findings - AUTH mechanisms, BIMI - are in the evidence section)."""
    out = [r for r in rows if r["status"] not in ("pass", "info", "skipped")]
    for status in ("pass", "info", "skipped"):
        checks = [r["check"] for r in rows if r["status"] == status]
        if checks:
            out.append({"check": "", "checks": checks, "spec": None, "status": status,
                        "subjects": [], "message": "", "remediation": "", "non_pass": False})
    return out

