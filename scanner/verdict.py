"""Findings + profile -> verdict: compliant or not, a score from 0 to 100 and a letter grade.

Compliance: every requirement of the profile is met - the check's domain-level status is in
``accept`` and its ``match`` (if any) holds. A requirement at ``error`` is "undetermined",
never "failed"; either way the domain is not compliant.

Score and grade: scanner/rating.py, the rating guide's rules (docs/rating.md). The score is
severity-weighted (100 minus a penalty per finding that matters) and bounded by compliance;
the grade is its band capped by the worst severity. The verdict records the guide's version
(``guide``), so a re-graded old scan says which rules made its grade.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.findings import SEVERITY, Finding, Status, domain_statuses
from scanner.profiles import Profile
from scanner.rating import GROUP_TITLES, GUIDE_VERSION, SCORE_GROUPS, rate_findings

if TYPE_CHECKING:
    from scanner.evidence import DomainEvidence
    from scanner.result import DomainResult

__all__ = ["FAIL_ON", "GROUP_TITLES", "SCORE_GROUPS", "Verdict", "fail_on_matches", "grade",
           "not_tested", "unmet"]

FAIL_ON = ("fail", "error", "warn")   # the levels --fail-on accepts


@dataclass(frozen=True)
class Verdict:
    profile: str
    compliant: bool
    score: int
    failed: tuple[str, ...] = ()        # required checks observed outside `accept`
    undetermined: tuple[str, ...] = ()  # required checks in `error`: could not be tested
    # Added by rating guide 1 (defaults keep verdicts stored before it decodable; "" = no grade):
    grade: str = ""                     # A+ .. F, or "not graded" (scanner/rating.py)
    caps: tuple[str, ...] = ()          # what limited the grade: "critical:smtp.starttls", ...
    guide: str = ""                     # the rating guide version that made the grade
    # (Stored and written to results.jsonl as is: report-only details - score by category,
    # the fixes that would raise the grade, requirement descriptions - are derived.)


def grade(findings: Sequence[Finding], profile: Profile, categories: Mapping[str, str],
          evidence: DomainEvidence | None = None) -> Verdict:
    """``evidence`` is needed by requirements with a ``match`` (without it they are
    undetermined) and tells the rating which SMTP subjects are submission ports."""
    _, r = rate_findings(findings, profile, categories, evidence)
    return Verdict(profile.name, r.compliant, r.score, r.failed, r.undetermined,
                   r.grade, r.caps, GUIDE_VERSION)


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
