"""Findings + profile -> verdict: compliant or not, and a score from 0 to 100.

Score: each check's domain-level status earns points (pass 1, warn 0.5, fail 0) times its
weight; info, skipped and error earn nothing and count nothing, so "could not test" is kept
apart from "fail". Categories (mx, transport, policy, sender) are averaged with equal weight.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .findings import Finding, Status, domain_statuses
from .profiles import Profile

POINTS = {Status.PASS: 1.0, Status.WARN: 0.5, Status.FAIL: 0.0}
SCORED_CATEGORIES = ("mx", "transport", "policy", "sender")


@dataclass(frozen=True)
class Verdict:
    profile: str
    compliant: bool
    score: int
    failed: tuple[str, ...] = ()        # required checks observed outside `accept`
    undetermined: tuple[str, ...] = ()  # required checks in `error`: could not be tested


def grade(findings: Sequence[Finding], profile: Profile, categories: Mapping[str, str]) -> Verdict:
    statuses = domain_statuses(findings)
    failed, undetermined = [], []
    for req in profile.requirements:
        status = statuses.get(req.check)
        if status is None or status in req.accept:
            continue
        (undetermined if status is Status.ERROR else failed).append(req.check)
    invalid = statuses.get("domain.valid") is Status.FAIL
    return Verdict(profile.name, not failed and not undetermined and not invalid,
                   score(statuses, profile, categories), tuple(failed), tuple(undetermined))


PREREQUISITES = ("domain.valid", "domain.exists")


def score(statuses: Mapping[str, Status], profile: Profile, categories: Mapping[str, str]) -> int:
    """0 for a domain that is invalid, does not exist, or of which nothing could be tested."""
    if any(statuses.get(c) not in (Status.PASS, None) for c in PREREQUISITES):
        return 0
    earned: defaultdict[str, float] = defaultdict(float)
    possible: defaultdict[str, float] = defaultdict(float)
    for check_id, status in statuses.items():
        if check_id in PREREQUISITES:
            continue
        cat = categories.get(check_id)
        if cat not in SCORED_CATEGORIES or status not in POINTS:
            continue
        w = profile.weight(check_id)
        earned[cat] += POINTS[status] * w
        possible[cat] += w
    ratios = [earned[c] / possible[c] for c in SCORED_CATEGORIES if possible[c] > 0]
    return round(100 * sum(ratios) / len(ratios)) if ratios else 0
