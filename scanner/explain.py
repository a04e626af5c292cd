"""Why a domain got its grade, and what would raise it: the rating (scanner/rating.py) of one
result put in words, for every place that shows a grade - report.html's per-domain section, and
the PDF pack, the terminal (`mxaudit check`) and the metrics that come later. Pure: a result and
a profile in, plain values out.

``explain(r, profile)`` gives the stored verdict's grade and caps (what was recorded), the
grade's meaning, the caps grouped by the limit they set, and the steps that would raise the
grade with what to do for each check (computed under ``profile``).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scanner.findings import SEVERITY, Status, domain_statuses
from scanner.profiles import Profile
from scanner.rating import (CAP, ENV_CAP, GRADES, MEANINGS, NOT_COMPLIANT_MAX, NOT_GRADED, NO_GRADE,
                            Observation, Rating, assess, category_scores, improvements, observe,
                            recall)
from scanner.rating import _KIND_ORDER  # the caps' order, shared with their sorting
from scanner.result import DomainResult

_GROUP_TEXT = {
    "invalid": ("not graded", "not a valid domain name"),
    "untested": ("not graded", "required, could not be tested (the outcome could change the grade)"),
    "env-untested": ("not graded", "not tested because of the scanning host's own network "
                                   "(the outcome could change the grade)"),
    "critical": ("F at best", "critical findings"),
    "high": ("C at best", "high-severity findings"),
    "unmet": (f"D at best (score {NOT_COMPLIANT_MAX} at most)", "requirements of the profile not met"),
    "medium": ("B at best", "medium-severity findings"),
    "low": ("A at best", "low-severity findings"),
    "env": (f"{ENV_CAP} at best", "partly not tested because of the scanning host's own network"),
}
# What a scan-environment note (CHECKS.md "Scan environment") held back, for the caps' lines.
NOTE_TEXT = {
    "env.port25": "outbound port 25 looked filtered from the scanning host: port 25 of the MX "
                  "hosts was not tested",
    "env.ipv6": "the scanning host has no IPv6 route: IPv6 addresses were not probed",
}


@dataclass(frozen=True)
class FixStep:
    """Fixing these checks together raises the grade from ``before`` to ``after``."""

    actions: tuple[tuple[str, str], ...]     # (check ID, what to do)
    before: str
    after: str
    score_before: int
    score_after: int


@dataclass(frozen=True)
class Explanation:
    grade: str                               # the stored grade ("no grade" before the guide)
    meaning: str
    score: int
    guide: str                               # the rating guide version that made the grade
    caps: tuple[tuple[str, str, tuple[str, ...]], ...]   # (limit, what, check IDs), worst first
    steps: tuple[FixStep, ...]               # in the order to take them
    range: tuple[str, str] | None = None     # (worst, best) grade when not graded
    unassessed: int = 0                      # requirements of the profile not assessed


def explain(r: DomainResult, profile: Profile) -> Explanation:
    v = r.verdict
    grade = v.grade or NO_GRADE
    obs, current = of_result(r, profile)
    same = bool(v.grade) and v.profile == profile.name
    steps = improvements(obs, profile, _categories(), r.evidence, current) if same else []
    return Explanation(
        grade, MEANINGS.get(grade, "graded before the rating guide: re-grade with mxaudit report"),
        v.score, v.guide, tuple(cap_groups(v.caps)),
        tuple(FixStep(tuple((c, fix_action(c, r, profile, current)) for c in s.checks),
                      s.before, s.after, s.score_before, s.score_after) for s in steps),
        current.range if v.grade == NOT_GRADED else None,
        len(profile.unassessed()) if v.profile == profile.name else 0)


def fix_action(check: str, r: DomainResult, profile: Profile, current: Rating) -> str:
    """What to do about one check: the requirement to meet when only the profile's ``match``
    fails, else the remediation of its worst finding, else the check's own."""
    from scanner.checks import all_checks

    mine = [f for f in r.findings if f.check == check]
    status = domain_statuses(mine).get(check)
    for req in profile.requirements:
        if (req.check == check and req.match is not None and check in current.failed
                and status in req.accept):
            return f"meet the profile's requirement {req.match.describe()}"
    for f in sorted(mine, key=lambda f: -SEVERITY[f.status]):
        if f.status in (Status.FAIL, Status.WARN) and f.remediation:
            return f.remediation
    spec = all_checks().get(check)
    return spec.remediation if spec is not None and spec.remediation else f"make {check} pass"


def cap_groups(caps: Iterable[str]) -> list[tuple[str, str, tuple[str, ...]]]:
    """The caps grouped by what they do, worst first: [(limit, what, check IDs)], e.g.
    ("F at best", "critical findings", ("smtp.starttls", "spf.all"))."""
    groups: dict[str, list[str]] = {}
    for cap in caps:
        kind, _, check = cap.partition(":")
        groups.setdefault(kind, [])
        if check:
            groups[kind].append("everything" if check == "all" else check)
    return [(*_GROUP_TEXT.get(kind, (kind, kind)), tuple(checks))
            for kind, checks in sorted(groups.items(), key=lambda kv: _KIND_ORDER.get(kv[0], 99))]


def explain_cap(cap: str) -> str:
    """One line for one cap ("critical:smtp.starttls" -> what it means)."""
    kind, _, check = cap.partition(":")
    if kind == "invalid":
        return "not a valid domain name: not graded"
    if kind == "untested":
        if check == "all":
            return "nothing could be tested: not graded"
        return f"{check} could not be tested; its outcome could change the grade"
    if kind in CAP:
        return f"{check}: a {kind}-severity finding (grade {CAP[kind]} at best)"
    if kind == "unmet":
        return (f"{check}: a requirement of the profile is not met "
                f"(score {NOT_COMPLIANT_MAX} at most: D at best)")
    if kind == "env-untested":
        return (f"{check}: {NOTE_TEXT.get(check, 'not tested from the scanning host')}; the "
                "outcome could change the grade: not graded (scan from a host that can reach it)")
    if kind == "env":
        return (f"{check}: {NOTE_TEXT.get(check, 'partly not tested from the scanning host')}; "
                f"graded on what was probed ({ENV_CAP} at best)")
    return cap


def grade_class(grade: str) -> str:
    """CSS class of a grade badge: g-a (A+ and A) ... g-f, g-ng for not graded / no grade."""
    return f"g-{grade[0].lower()}" if grade in GRADES else "g-ng"


# ------------------------------------------------------------ one result, asked for in turn
_result_memo: list = [None]


def _categories():
    from scanner.registry import categories

    return categories()


def of_result(r: DomainResult, profile: Profile) -> tuple[Observation, Rating]:
    """The observation and rating of a stored or fresh result under ``profile``. One slot,
    keyed by the result and the profile objects: the tabular summary and the HTML page ask
    for the same result in turn. The verdict is what was stored; this recomputes the details."""
    slot = _result_memo[0]
    if slot is not None and slot[0] is r and slot[1] is profile:
        return slot[2], slot[3]
    known = recall(r.findings, profile)           # judged just now: rated with its verdict
    if known is not None:
        obs, rating = known
    else:
        obs = observe(r.findings, r.evidence)
        rating = assess(obs, profile, _categories(), r.evidence)
    _result_memo[0] = [r, profile, obs, rating, None]
    return obs, rating


def category_scores_of(r: DomainResult, profile: Profile) -> dict[str, float]:
    """``rating.category_scores`` of a result (memoised with ``of_result``)."""
    obs, rating = of_result(r, profile)
    slot = _result_memo[0]
    if slot[4] is None:
        slot[4] = category_scores(obs, rating, _categories())
    return dict(slot[4])
