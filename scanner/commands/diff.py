"""`mxaudit diff OLD NEW`: what changed between two stored scans, offline.

Domains are matched by name (invalid inputs by their text). A change is one of:
``added`` / ``removed`` (the domain is in one scan only), ``compliance`` (the verdict flipped),
``worse`` / ``better`` (a check's domain-level status moved on the catalogue's severity
scale: fail > error > warn > pass). Only graded statuses are compared: a check that was or
became ``skipped`` or ``info`` (not applicable, e.g. DMARC tag checks once the record is gone),
or that ran in only one of the two scans, is neither better nor worse; the change that caused
it (``dmarc.present`` pass -> fail) is what the diff shows. Both scans are read as merge-joined streams in domain order, so memory
does not grow with the number of domains.
"""
from __future__ import annotations

import argparse
import csv
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from ..findings import SEVERITY, Status, domain_statuses
from ..pipeline import DomainResult, judge
from ..profiles import Profile
from ..store import ScanRecord, Store, default_db_path, diff_key

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

    @classmethod
    def between(cls, store: Store, old: ScanRecord, new: ScanRecord) -> "DiffSummary":
        summary = cls(old, new)
        for c in changes(store, old.id, new.id):
            summary.add(c)
        return summary

    def add(self, c: Change) -> None:
        self.counts[c.kind] += 1
        if len(self.items[c.kind]) < self.cap:
            self.items[c.kind].append(c)

    @property
    def empty(self) -> bool:
        return not self.counts

    def hidden(self, kind: str) -> int:
        return self.counts[kind] - len(self.items[kind])


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("diff", help="what got better or worse between two stored scans",
                       description="Compare two stored scans, offline: domains added and "
                       "removed, compliance flips, checks that got worse or better.",
                       epilog="SCAN is a scan ID (see 'mxaudit history'), 'latest' or "
                              "'previous'. Exit status: 0; 1 with --fail-on-worse when anything "
                              "got worse; 2 usage error.")
    p.add_argument("old", nargs="?", default="previous", metavar="OLD",
                   help="the earlier scan (default previous)")
    p.add_argument("new", nargs="?", default="latest", metavar="NEW",
                   help="the later scan (default latest)")
    p.add_argument("--csv", type=Path, metavar="FILE",
                   help="also write the changes as CSV: change, domain, check, old, new")
    p.add_argument("--profile", metavar="NAME|FILE",
                   help="re-grade both scans under this profile first (default: as stored)")
    p.add_argument("--fail-on-worse", action="store_true",
                   help="exit 1 when a check got worse, a domain became non-compliant or a "
                        "domain was removed")
    p.add_argument("--db", type=Path, metavar="PATH", help="scan history database")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from reports.atomic import atomic_text
    from reports.safe import csv_cell

    from ..api import get_profile
    from .report import resolve_scan_id

    profile = get_profile(args.profile) if args.profile else None
    counts: Counter = Counter()
    with Store(args.db or default_db_path()) as store, ExitStack() as stack:
        old = store.scan(resolve_scan_id(store, args.old))
        new = store.scan(resolve_scan_id(store, args.new))
        writer = None
        if args.csv:
            writer = csv.writer(stack.enter_context(atomic_text(args.csv, newline="")))
            writer.writerow(CSV_COLUMNS)
        print(_header(old, new, profile))
        shown = None
        for c in changes(store, old.id, new.id, profile):
            counts[c.kind] += 1
            counts["down"] += c.kind == "compliance" and c.new.startswith("not")
            shown = _print_change(c, shown)
            if writer is not None:
                writer.writerow([csv_cell(v) for v in (c.kind, c.domain, c.check, c.old, c.new)])
    print("changes: " + ", ".join(f"{counts[k]} {k}" for k in KINDS))
    got_worse = counts["worse"] or counts["removed"] or counts["down"]
    return 1 if args.fail_on_worse and got_worse else 0


def _header(old: ScanRecord, new: ScanRecord, profile: Profile | None) -> str:
    graded = (f"both graded under {profile.name}" if profile is not None else
              f"as graded: {old.profile} -> {new.profile}")
    return (f"scan {old.id} ({old.started}, {old.domains} domains) -> scan {new.id} "
            f"({new.started}, {new.domains} domains); {graded}")


def _printable(text: str) -> str:
    """Invalid inputs are hostile text: no terminal control characters on stdout."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _print_change(c: Change, shown: str | None) -> str:
    """Text output, one block per domain: '+' added, '-' removed, '~' changed."""
    name = _printable(c.domain)
    if c.kind == "added":
        print(f"+ {name}  added: {c.new}")
    elif c.kind == "removed":
        print(f"- {name}  removed (was {c.old})")
    else:
        if shown != c.domain:
            print(f"~ {name}")
        if c.kind == "compliance":
            print(f"    compliance  {c.old} -> {c.new}")
        else:
            print(f"    {c.kind:<11} {c.check}: {c.old} -> {c.new}")
    return c.domain
