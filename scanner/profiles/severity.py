"""Severity: how much a check that does not pass matters, for the rating (docs/rating.md).

Every check of the catalogue has a default rule (``DEFAULTS``; the reason for each is in
docs/rating.md's table, which tests/test_rating_guide.py keeps in step with this table). A rule
gives the severity of a ``fail`` and of a ``warn`` - critical, high, medium, low, or none (shown,
never rated) - and, for SMTP checks, may give other severities on submission ports (465/587),
where mail clients validate certificates and send passwords, than on port 25, where senders
use TLS opportunistically (RFC 7435, RFC 8314 4.1). ``error``, ``info``, ``skipped`` and
``pass`` carry no severity: "could not test" is handled by the rating's "not graded" rule.

A profile overrides rules in its ``[severity]`` table::

    [severity]
    "mx.ipv6" = "none"                                    # every status, every port
    "dmarc.policy" = { warn = "high" }                    # the other keys keep their default
    "smtp.cert_trusted" = { fail = "high", submission = "critical" }
    "smtp.cert_expiry" = { submission = { fail = "critical", warn = "medium" } }

One refinement is built in and not expressible in a profile: ``spf.all`` at ``fail`` is
critical when the record ends in ``+all`` (every host passes SPF, and with it DMARC through SPF
alignment), high otherwise (``?all`` or no ``all`` decide nothing, like no SPF record). A
profile that sets ``spf.all``'s ``fail`` severity sets it for both.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from scanner.errors import UsageError
from scanner.findings import Status

LEVELS = ("critical", "high", "medium", "low")
NONE = "none"
SUBMISSION = "submission"      # the scope of SMTP subjects on submission/submissions ports

_KEYS = ("fail", "warn", SUBMISSION)


@dataclass(frozen=True)
class SeverityRule:
    """Severities of one check. ``None``: that status carries no severity. The submission
    pair, when set, replaces (fail, warn) on submission ports."""

    fail: str | None = None
    warn: str | None = None
    submission: tuple[str | None, str | None] | None = None
    plus_all_critical: bool = False     # the built-in spf.all refinement (module docstring)

    def level(self, status: Status, scope: str = "") -> str | None:
        fail, warn = (self.submission if scope == SUBMISSION and self.submission is not None
                      else (self.fail, self.warn))
        return fail if status is Status.FAIL else warn if status is Status.WARN else None

    def worst(self, status: Status) -> str | None:
        """The higher of the port-25 and submission severities of ``status``."""
        return max_level(self.level(status), self.level(status, SUBMISSION))

    def describe(self) -> str:
        """'fail critical, warn medium; on submission ports fail high' (docs and reports)."""
        parts = [f"{name} {lvl}" for name, lvl in (("fail", self.fail), ("warn", self.warn)) if lvl]
        text = ", ".join(parts) or "none"
        if self.plus_all_critical:
            text += " (fail with +all: critical)"
        if self.submission is not None and self.submission != (self.fail, self.warn):
            sub = [f"{name} {lvl or NONE}" for name, lvl in zip(("fail", "warn"), self.submission)]
            text += f"; on submission ports {', '.join(sub)}"
        return text


def rank(level: str | None) -> int:
    """critical 4 ... low 1, none 0."""
    return len(LEVELS) - LEVELS.index(level) if level in LEVELS else 0


def max_level(*levels: str | None) -> str | None:
    best = max(levels, key=rank, default=None)
    return best if rank(best) else None


def _r(fail: str | None = None, warn: str | None = None, *, submission: tuple | None = None,
       plus_all: bool = False) -> SeverityRule:
    return SeverityRule(fail, warn, submission, plus_all)


# The catalogue's defaults (CHECKS.md order). docs/rating.md gives the reason for each row.
DEFAULTS: dict[str, SeverityRule] = {
    "domain.valid": _r(),                       # invalid input is "not graded" (rating rule 1)
    "domain.exists": _r("critical"),
    "dnssec.signed": _r("critical", "low"),
    "dnssec.mx_signed": _r("critical", "low"),
    "mx.present": _r("high", "medium"),
    "mx.null": _r("high"),
    "mx.resolvable": _r("high"),
    "mx.cname": _r(None, "low"),
    "mx.public_address": _r("high"),
    "mx.ipv6": _r(None, "low"),
    "mx.ptr": _r(None, "low"),
    "smtp.reachable": _r("high", submission=(None, None)),
    "smtp.starttls": _r("critical"),
    "smtp.implicit_tls": _r("high"),
    "smtp.tls_version": _r("high"),
    "smtp.legacy_tls": _r(None, "medium"),
    "smtp.weak_cipher": _r("high"),
    "smtp.cert_trusted": _r("medium", submission=("high", None)),
    "smtp.cert_hostname": _r("medium", submission=("high", None)),
    "smtp.cert_expiry": _r("medium", "low", submission=("high", "low")),
    "smtp.cert_key": _r("medium", submission=("high", None)),
    "smtp.auth_before_tls": _r("critical", "medium"),
    "smtp.auth_mechanisms": _r(None, "low"),
    "smtp.submission_tls_required": _r("high"),
    "mta_sts.record": _r("medium", "medium"),
    "mta_sts.policy": _r("medium"),
    "mta_sts.mode": _r(None, "medium"),
    "mta_sts.mx_coverage": _r("high"),
    "tls_rpt.record": _r("low", "low"),
    "dane.tlsa": _r("critical", "low"),
    "dane.rollover": _r(None, "low"),
    "spf.present": _r("high"),
    "spf.single": _r("high"),
    "spf.syntax": _r("high"),
    "spf.lookups": _r("high"),
    "spf.void_lookups": _r("high"),
    "spf.all": _r("high", "medium", plus_all=True),
    "spf.ptr": _r(None, "low"),
    "spf.mx_authorized": _r(),
    "dmarc.present": _r("high"),
    "dmarc.single": _r("high"),
    "dmarc.syntax": _r("high"),
    "dmarc.policy": _r("high", "medium"),
    "dmarc.subdomain_policy": _r("medium", "medium"),
    "dmarc.pct": _r(None, "medium"),
    "dmarc.rua": _r("low", "low"),
    "dmarc.rua_authorized": _r("low"),
    "dkim.present": _r("medium", "medium"),
    "dkim.key": _r("high", "medium"),
    "dkim.syntax": _r("high"),
    "dkim.testing": _r(None, "low"),
    "dkim.hash": _r(None, "medium"),
    "bimi.record": _r(),
    "submission.srv": _r(),
}
# A check registered without a row here (a new check added later) is rated at: fail medium,
# warn low, until someone decides (tests/test_rating_guide.py asks for a row per check).
FALLBACK = _r("medium", "low")


def default_rule(check_id: str) -> SeverityRule:
    return DEFAULTS.get(check_id, FALLBACK)


def _level(value: object, where: str) -> str | None:
    if value not in (*LEVELS, NONE):
        raise UsageError(f"{where}: severity must be one of {', '.join((*LEVELS, NONE))} "
                         f"(got {value!r})")
    return None if value == NONE else str(value)


def parse_rule(check_id: str, raw: object, where: str) -> SeverityRule:
    """A profile's ``[severity]`` entry for ``check_id``, over the check's default."""
    base = default_rule(check_id)
    if isinstance(raw, str):
        level = _level(raw, where)
        return SeverityRule(level, level, None, False)
    if not isinstance(raw, dict) or not raw:
        raise UsageError(f"{where}: a severity (\"high\") or a table such as "
                         f"{{ fail = \"high\", warn = \"medium\" }}")
    unknown = set(raw) - set(_KEYS)
    if unknown:
        raise UsageError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
                         f"(use {', '.join(_KEYS)})")
    rule = base
    if "fail" in raw:
        rule = replace(rule, fail=_level(raw["fail"], f"{where}: fail"), plus_all_critical=False)
    if "warn" in raw:
        rule = replace(rule, warn=_level(raw["warn"], f"{where}: warn"))
    if SUBMISSION in raw:
        rule = replace(rule, submission=_submission(raw[SUBMISSION], rule, f"{where}: submission"))
    return rule


def _submission(raw: object, rule: SeverityRule, where: str) -> tuple[str | None, str | None]:
    if isinstance(raw, str):
        level = _level(raw, where)
        return level, level
    if not isinstance(raw, dict) or not raw or set(raw) - {"fail", "warn"}:
        raise UsageError(f"{where}: a severity or a table {{ fail = ..., warn = ... }}")
    fail, warn = rule.submission if rule.submission is not None else (rule.fail, rule.warn)
    if "fail" in raw:
        fail = _level(raw["fail"], f"{where}: fail")
    if "warn" in raw:
        warn = _level(raw["warn"], f"{where}: warn")
    return fail, warn
