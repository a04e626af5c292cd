"""The result model: one domain's evidence judged into findings and a verdict. Pure.

``judge`` is the one function that judges a domain: the scan process, the report worker,
``mxaudit report`` / ``diff`` (re-grading stored evidence) and Dask all call it. It imports
no collector and no network library (tests/test_layers.py holds that rule).
"""
from __future__ import annotations

from dataclasses import dataclass

import scanner.checks  # noqa: F401  (registers every check that evaluate() runs)
from scanner.evidence import DomainEvidence
from scanner.findings import Finding
from scanner.profiles import Profile
from scanner.registry import categories, evaluate
from scanner.verdict import Verdict, grade


@dataclass(frozen=True)
class DomainResult:
    evidence: DomainEvidence
    findings: tuple[Finding, ...]
    verdict: Verdict

    @property
    def status(self) -> str:
        return domain_status(self.evidence)


def domain_status(ev: DomainEvidence) -> str:
    """`ok`, or `error` when the scan of this domain could not complete."""
    return "error" if ev.error else "ok"


def judge(ev: DomainEvidence, profile: Profile) -> DomainResult:
    """Evidence -> findings -> verdict. Also used to re-grade stored scans."""
    findings = evaluate(ev)
    return DomainResult(ev, findings, grade(findings, profile, categories(), ev))
