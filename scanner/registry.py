"""The registry of checks: one pure function per check ID of CHECKS.md.

A check is registered once with ``@check(ID, ...)``; registering an ID twice is an error
at import time. A check function takes a DomainEvidence and yields Outcomes; the runner
stamps them with the check's ID and default remediation, isolates exceptions (a crashing
check becomes an ``error`` finding of that check, never a lost domain), and applies the
preconditions shared by all checks (invalid or non-existent domain) in one place.

Check modules must not import network libraries: they see evidence only. The registry
does not import them either: ``scanner.checks`` imports every check module and offers
``all_checks()``; whoever evaluates imports it (scanner/result.py does).
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from scanner.evidence import DnsOutcome, DomainEvidence
from scanner.findings import Finding, Status

# What a check needs before it can say anything:
#   "input"  - runs on every row, even junk input (domain.valid)
#   "valid"  - runs on every syntactically valid domain (domain.exists)
#   "exists" - runs when the domain's MX lookup answered and the name exists
REQUIRES = ("input", "valid", "exists")


@dataclass(frozen=True)
class Outcome:
    """What a check function yields; the runner turns it into a Finding."""

    status: Status
    message: str
    subject: str = ""            # default: the domain
    remediation: str | None = None   # default: the check's registered remediation


CheckFn = Callable[[DomainEvidence], Iterable[Outcome]]


@dataclass(frozen=True)
class CheckSpec:
    id: str
    fn: CheckFn
    title: str
    category: str       # "mx", "transport", "sender", "policy", "info": used for scoring
    reference: str
    remediation: str
    requires: str = "exists"


# The categories' titles, in the order reports show them (report.html, mxaudit check).
CATEGORY_TITLES = {
    "mx": "Mail routing (MX)",
    "transport": "Transport security (SMTP, TLS, certificates, AUTH)",
    "policy": "Policy records (MTA-STS, TLS-RPT)",
    "sender": "Sender authentication (SPF, DKIM, DMARC)",
    "info": "Informational",
}

_REGISTRY: dict[str, CheckSpec] = {}


class DuplicateCheckError(RuntimeError):
    pass


def check(check_id: str, *, title: str, category: str, reference: str,
          remediation: str = "", requires: str = "exists") -> Callable[[CheckFn], CheckFn]:
    if requires not in REQUIRES:
        raise ValueError(f"{check_id}: requires must be one of {REQUIRES}")

    def register(fn: CheckFn) -> CheckFn:
        if check_id in _REGISTRY:
            raise DuplicateCheckError(f"check {check_id!r} registered twice "
                                      f"({_REGISTRY[check_id].fn.__module__} and {fn.__module__})")
        _REGISTRY[check_id] = CheckSpec(check_id, fn, title, category, reference,
                                        remediation, requires)
        return fn

    return register


def registered() -> dict[str, CheckSpec]:
    """Every check registered so far, in registration order. ``scanner.checks.all_checks``
    is the same after importing every check module: use that."""
    return dict(_REGISTRY)


# (registry dict, its size, its checks, check ID -> category): what evaluate() and judge()
# use per domain instead of copying the registry. Registration only adds (an ID is never
# registered twice), so the same dict at the same size has the same checks; tests that swap
# in a scratch registry swap the dict.
_snapshot: tuple[dict[str, CheckSpec], int, tuple[CheckSpec, ...], dict[str, str]] | None = None


def _current() -> tuple[tuple[CheckSpec, ...], dict[str, str]]:
    global _snapshot
    snap = _snapshot
    if snap is None or snap[0] is not _REGISTRY or snap[1] != len(_REGISTRY):
        specs = tuple(_REGISTRY.values())
        snap = _snapshot = (_REGISTRY, len(_REGISTRY), specs,
                            {spec.id: spec.category for spec in specs})
    return snap[2], snap[3]


def categories() -> Mapping[str, str]:
    """Check ID -> category, for scoring (do not modify: shared between calls)."""
    return _current()[1]


T = TypeVar("T")


def per_evidence(fn: Callable[[DomainEvidence], T]) -> Callable[[DomainEvidence], T]:
    """Memoise ``fn(ev)`` for the evidence being judged: several checks derive the same facts
    (the DKIM keys, the DMARC record in effect) from one DomainEvidence. One slot, holding the
    last evidence itself (so its id cannot be reused while cached) and compared by identity;
    the slot is swapped in one assignment, so threads at worst recompute. ``fn`` must be pure
    and its result must not be mutated by callers (return tuples, frozen dataclasses)."""
    slot: list[Any] = [None]

    @functools.wraps(fn)
    def memoised(ev: DomainEvidence) -> T:
        cached = slot[0]
        if cached is not None and cached[0] is ev:
            return cached[1]
        result = fn(ev)
        slot[0] = (ev, result)
        return result

    return memoised


def _precondition(spec: CheckSpec, ev: DomainEvidence) -> Outcome | None | bool:
    """True to run the check; None to emit nothing; an Outcome to emit instead of running."""
    if spec.requires == "input":
        return True
    if not ev.valid:
        return None
    if spec.requires == "valid":
        return True
    if ev.mx is None:
        return Outcome(Status.ERROR, f"not evaluated: {ev.error or 'the domain was not scanned'}")
    outcome = ev.mx.lookup.outcome
    if outcome is DnsOutcome.NXDOMAIN:
        return Outcome(Status.SKIPPED, "not evaluated: the domain does not exist")
    if not outcome.answered:
        return Outcome(Status.ERROR, f"not evaluated: {ev.mx.lookup.describe()}")
    return True


def run_check(spec: CheckSpec, ev: DomainEvidence) -> list[Finding]:
    return _run(spec, ev, _precondition(spec, ev))


class Stamped(tuple):
    """Findings a check made itself with ``stamp`` (its own ID and remediation rule), which the
    runner takes as they are. For checks that hand out the same immutable Finding objects for
    many domains (smtp.*: one provider's endpoints serve thousands of them), so the runner does
    not build each one again."""

    __slots__ = ()


def stamp(spec: CheckSpec, o: Outcome, subject_default: str) -> Finding:
    """The finding of one outcome of ``spec``: its subject (default: the domain), and its
    remediation (default: the check's, for a fail or a warn)."""
    remediation = o.remediation
    if remediation is None:
        remediation = spec.remediation if o.status in _REMEDIATE else ""
    return Finding(spec.id, o.subject or subject_default, o.status, o.message, remediation)


def spec_of(check_id: str) -> CheckSpec:
    """The registered check ``check_id`` (for checks that ``stamp`` their own findings)."""
    return _REGISTRY[check_id]


def _run(spec: CheckSpec, ev: DomainEvidence, pre: Outcome | None | bool) -> list[Finding]:
    if pre is None:
        return []
    try:
        if pre is True:
            got = spec.fn(ev)
            if got.__class__ is Stamped:
                return list(got)
            outcomes = list(got)
        else:
            outcomes = [pre]
    except Exception as exc:  # a check bug must not lose the domain
        outcomes = [Outcome(Status.ERROR, f"internal error in check: {type(exc).__name__}: {exc}")]
    subject_default = ev.domain or ev.input
    return [stamp(spec, o, subject_default) for o in outcomes]


_REMEDIATE = frozenset((Status.FAIL, Status.WARN))


def evaluate(ev: DomainEvidence) -> tuple[Finding, ...]:
    """Evidence -> findings: every registered check, pure, in catalogue order."""
    findings: list[Finding] = []
    specs, _ = _current()
    # the precondition depends only on ``requires`` and the evidence: decide it once per level
    pre: dict[str, Outcome | None | bool] = {}
    for spec in specs:
        if spec.requires not in pre:
            pre[spec.requires] = _precondition(spec, ev)
        findings.extend(_run(spec, ev, pre[spec.requires]))
    return tuple(findings)
