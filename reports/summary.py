"""Report-side aggregation: counts over a scan, gathered while streaming its results."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from scanner.findings import Status, domain_statuses
from scanner.pipeline import DomainResult


@dataclass
class Summary:
    check_ids: list[str]
    domains: int = 0
    compliant: int = 0
    errors: int = 0
    invalid: int = 0
    by_check: dict[str, Counter] = field(default_factory=dict)

    def add(self, r: DomainResult) -> None:
        self.domains += 1
        self.compliant += r.verdict.compliant
        self.errors += r.status == "error"
        self.invalid += not r.evidence.valid
        for check_id, status in domain_statuses(r.findings).items():
            self.by_check.setdefault(check_id, Counter())[status.value] += 1

    @property
    def compliant_share(self) -> float:
        return self.compliant / self.domains if self.domains else 0.0

    def failing_checks(self) -> list[tuple[str, int, int]]:
        """(check, domains failing, domains in error), worst first."""
        rows = [(c, self.by_check.get(c, Counter())[Status.FAIL.value],
                 self.by_check.get(c, Counter())[Status.ERROR.value]) for c in self.check_ids]
        return sorted((r for r in rows if r[1] or r[2]), key=lambda r: (-r[1], -r[2], r[0]))
