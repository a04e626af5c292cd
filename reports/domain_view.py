"""What report.html shows for one domain (its table row and details), precomputed in Python
from the result: verdict state, counts, unmet requirements, findings grouped by category and
the evidence view (reports/evidence_view.py)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from scanner.explain import Explanation
from scanner.findings import TEXT, Finding, Status
from scanner.profiles import Profile
from scanner.registry import CATEGORY_TITLES, CheckSpec
from scanner.result import DomainResult

from .evidence_view import clip, evidence_view
from .summary import domain_groups, statuses_of, verdict_state

COLLAPSED = (Status.PASS, Status.SKIPPED)   # shown one row per check, subjects listed


@dataclass(slots=True)
class DomainView:
    """What the _domain template shows for one result (``x`` there)."""
    state: str                          # compliant | fail | undetermined (verdict_state)
    counts: dict[str, int]              # checks (domain level) per status
    not_tested: tuple[str, ...]         # checks in `error`: could not be tested, not scored
    unmet: tuple[str, ...]              # failed and undetermined requirements, described
    scores: dict[str, int]              # score group -> 0-100 (valid domains)
    groups: list[tuple[str, list[FindingRow]]]
    evidence: dict[str, Any]            # reports/evidence_view.py
    network: list[str]                  # network_notes
    rating: Explanation | None = None   # details only: "why this grade" (scanner.explain)


def domain_context(r: DomainResult, specs: dict, profile: Profile, *,
                   compact: bool = False) -> DomainView:
    """What the _domain template shows for one result, precomputed in Python."""
    from scanner.verdict import unmet

    statuses = statuses_of(r)
    counts = {s.value: 0 for s in Status}
    for s in statuses.values():
        counts[TEXT[s]] += 1
    return DomainView(
        state=verdict_state(r),
        counts=counts,
        not_tested=tuple(c for c, s in statuses.items() if s is Status.ERROR),  # verdict.not_tested
        unmet=unmet(r.verdict, profile),
        scores=({g: round(v) for g, v in domain_groups(r, profile).items()}
                if r.evidence.valid else {}),
        groups=group_findings(r.findings, specs, compact=compact),
        evidence=evidence_view(r.evidence, compact=compact),
        network=network_notes(r.evidence),
    )


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


class FindingRow(NamedTuple):
    """One row of a domain's findings table: the subjects of one check that share a status and
    text (passing and skipped ones whatever their text), or, on compact pages, every check of
    a category at one passing, info or skipped status (``checks``)."""
    check: str                  # "" for a row of several checks
    spec: CheckSpec | None      # the check's catalogue entry (title, reference, remediation)
    status: str
    subjects: list[str]
    message: str
    remediation: str = ""
    non_pass: bool = False      # shown with its title, remediation and reference
    checks: list[str] | tuple[()] = ()


# The order of a check's rows: worst first, except that passing and skipped subjects come last,
# one row each (COLLAPSED); the other statuses get a row per distinct text.
_ROW_ORDER = (Status.FAIL, Status.ERROR, Status.WARN, Status.INFO, Status.PASS, Status.SKIPPED)
_FOLDED = ("pass", "info", "skipped")    # one row per category on compact pages


def group_findings(findings: Iterable[Finding], specs: dict, *,
                   compact: bool = False) -> list[tuple[str, list[FindingRow]]]:
    """[(category title, rows)], categories in catalogue order, checks in catalogue order,
    worst first within a check. Subjects of a check with the same status and text share one
    row (passing ones whatever their text); when ``compact``, all passing (skipped) checks of
    a category share one row."""
    by_check: dict[str, dict[Status, list[Finding]]] = {}
    for f in findings:      # setdefault would make a dict and a list per finding to throw away
        by_status = by_check.get(f.check)
        if by_status is None:
            by_check[f.check] = {f.status: [f]}
        elif (same := by_status.get(f.status)) is None:
            by_status[f.status] = [f]
        else:
            same.append(f)
    order = _catalogue_order(specs)
    cats: dict[str, list[FindingRow]] = {}
    for cid in sorted(by_check, key=lambda c: order.get(c, len(order))):
        spec = specs.get(cid)
        rows = cats.setdefault(spec.category if spec else "info", [])
        rows += _check_rows(cid, spec, by_check[cid])
    if compact:
        cats = {c: _compact(rows) for c, rows in cats.items()}
    known = [c for c in CATEGORY_TITLES if c in cats] + [c for c in cats if c not in CATEGORY_TITLES]
    return [(CATEGORY_TITLES.get(c, c), cats[c]) for c in known]


_order_slot: list = [None]


def _catalogue_order(specs: dict) -> dict[str, int]:
    """Check ID -> its place in ``specs``, made once for the catalogue every domain of a page
    is grouped against (one slot, found again by the checks' IDs in order)."""
    ids = tuple(specs)
    slot = _order_slot[0]
    if slot is not None and slot[0] == ids:
        return slot[1]
    order = {cid: i for i, cid in enumerate(ids)}
    _order_slot[0] = (ids, order)
    return order


def _check_rows(cid: str, spec: CheckSpec | None,
                by_status: dict[Status, list[Finding]]) -> list[FindingRow]:
    """The rows of one check from its findings by status (each list in the order the check
    gave them), in _ROW_ORDER."""
    statuses = by_status if len(by_status) == 1 else sorted(by_status, key=_ROW_ORDER.index)
    rows = []
    for status in statuses:
        same = by_status[status]
        if status in COLLAPSED:
            messages = list(dict.fromkeys(f.message for f in same))
            rows.append(FindingRow(
                cid, spec, TEXT[status], [f.subject for f in same],
                " · ".join(messages) if len(messages) <= 3 else
                f"{len(messages)} different messages (each in findings.csv)",
                non_pass=status is not Status.PASS))
            continue
        same_text: dict[tuple[str, str], list[str]] = {}   # (message, remediation) -> subjects
        for f in same:
            same_text.setdefault((f.message, f.remediation), []).append(f.subject)
        rows += [FindingRow(cid, spec, TEXT[status], subjects, message, remediation, True)
                 for (message, remediation), subjects in same_text.items()]
    return rows


def _compact(rows: list[FindingRow]) -> list[FindingRow]:
    """Non-pass rows as they are; pass, info and skipped checks one row per status (the
    facts of info findings - AUTH mechanisms, BIMI - are in the evidence section)."""
    out = [r for r in rows if r.status not in _FOLDED]
    for status in _FOLDED:
        checks = [r.check for r in rows if r.status == status]
        if checks:
            out.append(FindingRow("", None, status, [], "", checks=checks))
    return out
