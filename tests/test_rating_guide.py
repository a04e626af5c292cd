"""docs/rating.md is the rating guide: it and the code (scanner/rating.py,
scanner/profiles/severity.py) must say the same thing - version, numbers, and the severity of
every check of the catalogue."""
from __future__ import annotations

from pathlib import Path

from scanner.profiles import PLANNED_CHECKS
from scanner.profiles.severity import DEFAULTS
from scanner.rating import BANDS, CAP, COMPLIANT_MIN, GUIDE_VERSION, MEANINGS, NOT_COMPLIANT_MAX, PENALTY
from scanner.checks import all_checks

GUIDE = (Path(__file__).resolve().parents[1] / "docs" / "rating.md").read_text(encoding="utf-8")


def _table(after: str) -> list[list[str]]:
    """The rows of the first markdown table after the heading ``after``."""
    text = GUIDE[GUIDE.index(after):]
    rows = []
    for line in text.splitlines():
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif rows:
            break
    return rows[2:]        # header and separator


def _level(cell: str) -> str | None:
    return None if cell in ("-", "") else cell


def test_the_guide_states_its_version():
    assert GUIDE.startswith("# The rating guide\n\n**Version 1.**")
    assert GUIDE_VERSION == "1"


def test_every_check_of_the_catalogue_has_a_severity_row_and_it_matches_the_code():
    rows = {r[0].strip("`"): r for r in _table("## Severity of each check")}
    catalogue = set(all_checks()) | PLANNED_CHECKS
    assert catalogue <= set(rows), f"no row for {sorted(catalogue - set(rows))}"
    assert set(DEFAULTS) == set(rows)
    for check, (_, fail, warn, submission, reason) in rows.items():
        rule = DEFAULTS[check]
        assert (_level(fail), _level(warn)) == (rule.fail, rule.warn), check
        sub = None if not submission else tuple(_level(x.strip()) for x in submission.split("/"))
        assert sub == rule.submission, check
        assert reason, f"{check} has no reason"


def test_the_grade_meanings_are_the_codes():
    rows = {r[0]: r[1] for r in _table("## What the grades mean")}
    assert rows == MEANINGS


def test_the_numbers_in_the_rules_are_the_codes():
    assert ("critical 40, high 15, medium 6, low 2" in GUIDE
            and PENALTY == {"critical": 40, "high": 15, "medium": 6, "low": 2})
    assert (f"scores\nat least {COMPLIANT_MIN}" in GUIDE
            and f"at most {NOT_COMPLIANT_MAX}" in GUIDE)
    assert "A from 90, B from 75, C from 60, D from 40, F below 40" in GUIDE
    assert BANDS == ((90, "A"), (75, "B"), (60, "C"), (40, "D"), (0, "F"))
    assert ("F with a critical finding, C with a high one, B with a medium\none, A with a low one"
            in GUIDE and CAP == {"critical": "F", "high": "C", "medium": "B", "low": "A"})


def test_the_issues_examples_hold_by_default():
    """Issue 15's severities: critical: no STARTTLS, credentials in clear, SPF +all, DNSSEC
    bogus; high: TLS 1.0/1.1 only, untrusted or expired certificate on a submission port, no
    DMARC, SPF permerror; medium: p=none, ~all, no MTA-STS; low: no TLS-RPT, no IPv6."""
    r = DEFAULTS
    assert r["smtp.starttls"].fail == r["smtp.auth_before_tls"].fail == "critical"
    assert r["spf.all"].plus_all_critical and r["dnssec.signed"].fail == "critical"
    assert r["smtp.tls_version"].fail == r["dmarc.present"].fail == "high"
    assert r["smtp.cert_trusted"].submission[0] == r["smtp.cert_expiry"].submission[0] == "high"
    assert all(r[c].fail == "high" for c in ("spf.single", "spf.syntax", "spf.lookups"))
    assert r["dmarc.policy"].warn == r["spf.all"].warn == r["mta_sts.record"].warn == "medium"
    assert r["tls_rpt.record"].warn == r["mx.ipv6"].warn == "low"
