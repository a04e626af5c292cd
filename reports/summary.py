"""Report-side aggregation: counts over a scan, gathered while streaming its results."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from scanner.findings import TEXT, Status, domain_statuses
from scanner.profiles import Profile
from scanner.explain import category_scores_of
from scanner.rating import distribution, distribution_text
from scanner.result import DomainResult


@dataclass
class Summary:
    check_ids: list[str]
    profile: Profile             # the profile the results were graded under (its weights)
    domains: int = 0
    compliant: int = 0
    errors: int = 0
    invalid: int = 0
    by_check: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    undetermined: int = 0        # not compliant only because required checks could not be tested
    not_tested: int = 0          # domains with at least one check in `error`
    scores: list[int] = field(default_factory=lambda: [0] * 10)   # 0-9, 10-19, ... 90-100
    group_totals: Counter = field(default_factory=Counter)        # group -> sum of scores
    group_counts: Counter = field(default_factory=Counter)        # group -> domains scored
    grades: Counter = field(default_factory=Counter)              # grade -> domains ("" none)
    guides: set[str] = field(default_factory=set)   # rating guide versions of the grades

    def add(self, r: DomainResult) -> None:
        v = r.verdict
        self.domains += 1
        self.compliant += v.compliant
        self.errors += r.status == "error"
        self.invalid += not r.evidence.valid
        self.undetermined += verdict_state(r) == "undetermined"
        statuses = statuses_of(r)
        self.not_tested += Status.ERROR in statuses.values()
        self.grades[v.grade] += 1           # "" for a verdict stored before the rating guide
        self.guides.add(v.guide)
        if r.evidence.valid:
            self.scores[min(v.score // 10, 9)] += 1
            for group, value in domain_groups(r, self.profile).items():
                self.group_totals[group] += value
                self.group_counts[group] += 1
        for check_id, status in statuses.items():
            self.by_check[check_id][TEXT[status]] += 1

    def counts(self) -> dict[str, int]:
        """What the scan's summary line reports (and the report worker answers with)."""
        return {"domains": self.domains, "compliant": self.compliant, "errors": self.errors,
                "grades": self.grades_text()}

    def grades_text(self) -> str:
        """'A 2, B 1, F 3, not graded 1': the grades that occur, best first."""
        return distribution_text(self.grades)

    @property
    def not_compliant(self) -> int:
        """Observed failures (or invalid input): not counting the undetermined."""
        return self.domains - self.compliant - self.undetermined

    def group_average(self, group: str) -> int | None:
        n = self.group_counts[group]
        return round(self.group_totals[group] / n) if n else None

    def grade_buckets(self) -> list[tuple[str, int]]:
        """(grade, domains) from A+ to F, then not graded (and "no grade" for verdicts stored
        before the rating guide, if any)."""
        return distribution(self.grades)

    def score_buckets(self) -> list[tuple[str, int]]:
        return [(f"{10 * i}-{10 * i + 9}" if i < 9 else "90-100", n)
                for i, n in enumerate(self.scores)]

    @property
    def compliant_share(self) -> float:
        return self.compliant / self.domains if self.domains else 0.0

    def failing_checks(self) -> list[tuple[str, int, int]]:
        """(check, domains failing, domains in error), worst first."""
        rows = [(c, self.by_check.get(c, Counter())[Status.FAIL.value],
                 self.by_check.get(c, Counter())[Status.ERROR.value]) for c in self.check_ids]
        return sorted((r for r in rows if r[1] or r[2]), key=lambda r: (-r[1], -r[2], r[0]))


_statuses_slot: list = [None]


def statuses_of(r: DomainResult) -> dict[str, Status]:
    """``domain_statuses`` of a result (check -> its worst status), made once per result:
    the summary, the domains.csv row and the page ask for the same result in turn. One slot
    holding the result itself (frozen, and its id cannot be reused while it is held),
    compared by identity, like scanner.registry's ``per_evidence``; callers only read it."""
    slot = _statuses_slot[0]
    if slot is not None and slot[0] is r:
        return slot[1]
    statuses = domain_statuses(r.findings)
    _statuses_slot[0] = (r, statuses)
    return statuses


def verdict_state(r: DomainResult) -> str:
    """compliant | fail (observed failure or invalid input) | undetermined (could not test)."""
    v = r.verdict
    if v.compliant:
        return "compliant"
    if v.undetermined and not v.failed and r.evidence.valid:
        return "undetermined"
    return "fail"


def domain_groups(r: DomainResult, profile: Profile) -> dict[str, float]:
    """Score group -> 0-100 for one domain: 100 minus the penalties of the group's checks
    under the profile (scanner/rating.py), for the groups it has something rated in."""
    return category_scores_of(r, profile)
