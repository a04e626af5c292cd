"""Findings + profile -> verdict: compliant or not, and a score from 0 to 100.

Score (issue 5): each check's domain-level status (the worst subject counts) earns points
(pass 1, warn 0.5, fail 0) times the profile's weight for it; info, skipped and error earn
nothing and count nothing, so "could not test" is kept apart from "fail" (``not_tested()`` lists those checks for
reports to show). The score groups are the registry's
categories: issue 5's transport security (``transport``), sender authentication (``sender``)
and policy records (``policy``), plus mail routing (``mx``: MX records, addresses, PTR), kept
as a group of its own because it is neither TLS nor a policy record. Each group is scored
0-100 and the groups are averaged with equal weight; a group with nothing scorable (a
null-MX domain has no transport) is left out of the average rather than counted as 0.

Compliance: every requirement of the profile is met - the check's domain-level status is in
``accept`` and its ``match`` (if any) holds. A requirement at ``error`` is "undetermined",
never "failed"; either way the domain is not compliant.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.findings import SEVERITY, Finding, Status, domain_statuses
from scanner.profiles import Profile, Requirement

if TYPE_CHECKING:
    from scanner.evidence import DomainEvidence
    from scanner.result import DomainResult

FAIL_ON = ("fail", "error", "warn")   # the levels --fail-on accepts

POINTS = {Status.PASS: 1.0, Status.WARN: 0.5, Status.FAIL: 0.0}
# score group -> the registry categories it averages
# (issue 5: transport security, sender authentication and policy records, equal weight;
# mail routing (MX) is part of transport security)
SCORE_GROUPS: dict[str, tuple[str, ...]] = {
    "transport": ("mx", "transport"),
    "sender": ("sender",),
    "policy": ("policy",),
}
GROUP_TITLES = {"transport": "Transport security (MX and SMTP)",
                "sender": "Sender authentication", "policy": "Policy records"}
_GROUP_OF = {c: g for g, cats in SCORE_GROUPS.items() for c in cats}


@dataclass(frozen=True)
class Verdict:
    profile: str
    compliant: bool
    score: int
    failed: tuple[str, ...] = ()        # required checks observed outside `accept`
    undetermined: tuple[str, ...] = ()  # required checks in `error`: could not be tested
    # (Stored and written to results.jsonl as is: report-only details - group scores, checks
    # not tested, requirement descriptions - are derived by the functions below instead.)


def grade(findings: Sequence[Finding], profile: Profile, categories: Mapping[str, str],
          evidence: DomainEvidence | None = None) -> Verdict:
    """``evidence`` is needed only by requirements with a ``match``; without it they are
    undetermined."""
    statuses = domain_statuses(findings)
    failed, undetermined = [], []
    for req in profile.requirements:
        outcome = _requirement_outcome(req, statuses.get(req.check), evidence)
        if outcome is not None:
            (undetermined if outcome == "undetermined" else failed).append(req.check)
    invalid = statuses.get("domain.valid") is Status.FAIL
    return Verdict(profile.name, not failed and not undetermined and not invalid,
                   score(statuses, profile, categories), tuple(dict.fromkeys(failed)),
                   tuple(dict.fromkeys(undetermined)))


def not_tested(findings: Sequence[Finding]) -> tuple[str, ...]:
    """Checks whose domain-level status is `error`: could not be tested, not scored."""
    return tuple(c for c, s in domain_statuses(findings).items() if s is Status.ERROR)


def unmet(verdict: Verdict, profile: Profile | None) -> tuple[str, ...]:
    """The failed and undetermined requirements, described ('dmarc.rua (dmarc.rua contains
    mailto:...)'); bare check IDs when the profile is not at hand."""
    missed = set(verdict.failed) | set(verdict.undetermined)
    if profile is None or profile.name != verdict.profile:
        return tuple(dict.fromkeys((*verdict.failed, *verdict.undetermined)))
    return tuple(dict.fromkeys(r.describe() for r in profile.requirements if r.check in missed))


def _requirement_outcome(req: Requirement, status: Status | None,
                         evidence: DomainEvidence | None) -> str | None:
    """None when met, else "failed" or "undetermined". A check with no finding at all has no
    subject here (e.g. no MX host to probe) and does not count against the domain."""
    if status is None:
        return None
    if status not in req.accept:
        return "undetermined" if status is Status.ERROR else "failed"
    if req.match is None:
        return None
    holds = req.match.holds(evidence)
    if holds:
        return None
    if holds is None and (evidence is None or status is Status.ERROR):
        return "undetermined"
    return "failed"


PREREQUISITES = ("domain.valid", "domain.exists")


def score(statuses: Mapping[str, Status], profile: Profile, categories: Mapping[str, str]) -> int:
    """0 for a domain that is invalid, does not exist, or of which nothing could be tested."""
    return _average(statuses, group_scores(statuses, profile, categories))


def _average(statuses: Mapping[str, Status], groups: Mapping[str, float]) -> int:
    if any(statuses.get(c) not in (Status.PASS, None) for c in PREREQUISITES) or not groups:
        return 0
    return round(sum(groups.values()) / len(groups))


def group_scores(statuses: Mapping[str, Status], profile: Profile,
                 categories: Mapping[str, str]) -> dict[str, float]:
    """Score group -> 0-100 (unrounded), only for groups with at least one weighted check."""
    earned: dict[str, float] = {}
    possible: dict[str, float] = {}
    group_of, points, weight = _GROUP_OF, POINTS, profile.weight
    for check_id, status in statuses.items():
        p = points.get(status)
        if p is None:
            continue
        group = group_of.get(categories.get(check_id, ""))
        if group is None or check_id in PREREQUISITES:
            continue
        w = weight(check_id)
        earned[group] = earned.get(group, 0.0) + p * w
        possible[group] = possible.get(group, 0.0) + w
    return {g: 100 * earned[g] / possible[g] for g in SCORE_GROUPS if possible.get(g, 0.0) > 0}


def fail_on_matches(r: DomainResult, profile: Profile, level: str | None) -> bool:
    """True when a required check of the profile is at ``level`` or worse for this domain
    (``--fail-on``)."""
    if level is None:
        return False
    threshold = SEVERITY[Status(level)]
    statuses = domain_statuses(r.findings)
    if any(SEVERITY[statuses[req.check]] >= threshold
           for req in profile.requirements if req.check in statuses):
        return True
    # A requirement unmet on its `match` (DMARC p= is not reject, ...) is a failure although
    # the check's own status was accepted: it counts at the `fail` level.
    return threshold <= SEVERITY[Status.FAIL] and any(
        req.match is not None and req.check in r.verdict.failed
        and statuses.get(req.check) in req.accept for req in profile.requirements)
