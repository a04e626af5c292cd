"""What changed between two stored scans, offline (``mxaudit diff`` and report.html's "since the
previous scan" section).

Domains are matched by name (invalid inputs by their text). A change is one of:
``added`` / ``removed`` (the domain is in one scan only), ``compliance`` (the verdict flipped),
``worse`` / ``better`` (a check's domain-level status moved on the catalogue's severity
scale: fail > error > warn > pass). Only graded statuses are compared: a check that was or
became ``skipped`` or ``info`` (not applicable, e.g. DMARC tag checks once the record is gone),
or that ran in only one of the two scans, is neither better nor worse; the change that caused
it (``dmarc.present`` pass -> fail) is what the diff shows. Both scans are read as merge-joined
streams in domain order, so memory
does not grow with the number of domains.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from scanner.findings import SEVERITY, Status, domain_statuses
from scanner.result import DomainResult, judge
from scanner.profiles import Profile
from scanner.store import ScanRecord, Store, diff_key

KINDS = ("added", "removed", "compliance", "worse", "better")
GRADED = frozenset({Status.PASS, Status.WARN, Status.ERROR, Status.FAIL})
CSV_COLUMNS = ("change", "domain", "check", "old", "new")


@dataclass(frozen=True)
class Change:
    kind: str           # one of KINDS
    domain: str
    check: str = ""
    old: str = ""
    new: str = ""


def _name(r: DomainResult) -> str:
    return r.evidence.domain or r.evidence.input


def _verdict_text(r: DomainResult) -> str:
    return f"{'compliant' if r.verdict.compliant else 'not compliant'} ({r.verdict.score})"


def got_worse(c: Change) -> bool:
    """A change for the worse: a check moved toward fail, or the domain lost compliance."""
    return c.kind == "worse" or (c.kind == "compliance" and c.new.startswith("not compliant"))


def compare(old: DomainResult, new: DomainResult) -> Iterator[Change]:
    """The changes of one domain between two results. Pure."""
    name = _name(new)
    if old.verdict.compliant != new.verdict.compliant:
        yield Change("compliance", name, "", _verdict_text(old), _verdict_text(new))
    before, after = domain_statuses(old.findings), domain_statuses(new.findings)
    for check in sorted(before.keys() & after.keys()):
        if before[check] not in GRADED or after[check] not in GRADED:
            continue
        a, b = SEVERITY[before[check]], SEVERITY[after[check]]
        if a != b:
            yield Change("worse" if b > a else "better", name, check,
                         before[check].value, after[check].value)


def changes(store: Store, old_id: int, new_id: int,
            profile: Profile | None = None) -> Iterator[Change]:
    """Every change from scan ``old_id`` to scan ``new_id``, in domain order. With
    ``profile``, both scans are re-graded under it first (stored evidence, no network)."""
    def stream(scan_id: int) -> Iterator[DomainResult]:
        for r in store.results(scan_id, by_domain=True):
            yield judge(r.evidence, profile) if profile is not None else r

    olds, news = stream(old_id), stream(new_id)
    o, n = next(olds, None), next(news, None)
    while o is not None or n is not None:
        ko = diff_key(o.evidence.domain, o.evidence.input) if o is not None else None
        kn = diff_key(n.evidence.domain, n.evidence.input) if n is not None else None
        if n is None or (o is not None and ko < kn):
            yield Change("removed", _name(o), "", _verdict_text(o), "")
            o = next(olds, None)
        elif o is None or kn < ko:
            yield Change("added", _name(n), "", "", _verdict_text(n))
            n = next(news, None)
        else:
            yield from compare(o, n)
            o, n = next(olds, None), next(news, None)


@dataclass
class DiffSummary:
    """Counts of every change and the first ``cap`` of each kind: what report.html shows."""
    old: ScanRecord
    new: ScanRecord
    counts: Counter = field(default_factory=Counter)
    items: dict[str, list[Change]] = field(default_factory=lambda: {k: [] for k in KINDS})
    cap: int = 200
    worse_domains: int = 0      # domains with a check worse or compliance lost
    _last_worse: str | None = None

    @classmethod
    def between(cls, store: Store, old: ScanRecord, new: ScanRecord) -> "DiffSummary":
        summary = cls(old, new)
        for c in changes(store, old.id, new.id):
            summary.add(c)
        return summary

    def add(self, c: Change) -> None:
        self.counts[c.kind] += 1
        if got_worse(c) and c.domain != self._last_worse:   # changes come domain by domain
            self.worse_domains += 1
            self._last_worse = c.domain
        if len(self.items[c.kind]) < self.cap:
            self.items[c.kind].append(c)

    @property
    def empty(self) -> bool:
        return not self.counts

    def hidden(self, kind: str) -> int:
        return self.counts[kind] - len(self.items[kind])
