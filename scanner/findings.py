"""Statuses and findings: the vocabulary every check, profile and report shares.

A *finding* is one judgement of one check (an ID from CHECKS.md) about one subject
(the domain, an MX host, a host+IP+port, a selector, ...). The domain-level status of a
check is the worst over its subjects, in the catalogue's order:
fail > error > warn > pass > info > skipped.
"""
from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Status(str, enum.Enum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    INFO = "info"
    ERROR = "error"
    SKIPPED = "skipped"

    def __str__(self) -> str:  # "pass", not "Status.PASS", in reports and f-strings
        return self.value


# Status -> its word ("pass"), for code that turns many statuses into text: a dict lookup
# (str's hash) costs a fraction of an Enum member's ``.value`` (a descriptor in Python).
TEXT: dict[Status, str] = {s: s.value for s in Status}

# Higher is worse. `error` sits between warn and fail: "could not determine" must never
# read as a pass, and never be confused with an observed failure.
SEVERITY: dict[Status, int] = {
    Status.SKIPPED: 0,
    Status.INFO: 1,
    Status.PASS: 2,
    Status.WARN: 3,
    Status.ERROR: 4,
    Status.FAIL: 5,
}


def worst(statuses: Iterable[Status]) -> Status | None:
    """The domain-level status over several subjects; None when there are none."""
    return max(statuses, key=SEVERITY.__getitem__, default=None)


@dataclass(frozen=True)
class Finding:
    check: str
    subject: str
    status: Status
    message: str
    remediation: str = ""


def domain_statuses(findings: Iterable[Finding]) -> dict[str, Status]:
    """Check ID -> worst status over that check's findings."""
    out: dict[str, Status] = {}
    severity = SEVERITY
    for f in findings:
        check, status = f.check, f.status
        cur = out.get(check)
        if cur is None or severity[status] > severity[cur]:
            out[check] = status
    return out


def subject_ip(host: str, ip: str) -> str:
    """Subject naming an MX host's address: 'mx.example.com [192.0.2.1]'."""
    return f"{host} [{ip}]"


def subject_endpoint(host: str, ip: str, port: int) -> str:
    """Subject naming one SMTP endpoint: 'mx.example.com [192.0.2.1]:25'."""
    return f"{host} [{ip}]:{port}"
