"""Verdict and score rules (scanner/verdict.py docstring)."""
from __future__ import annotations

import pytest

from scanner.findings import Finding, Status
from scanner.profiles import Profile, Requirement
from scanner.verdict import grade

P, W, F, I, E, S = (Status.PASS, Status.WARN, Status.FAIL, Status.INFO, Status.ERROR,
                    Status.SKIPPED)
CATS = {"domain.valid": "mx", "domain.exists": "mx", "m.a": "mx", "m.b": "mx", "t.a": "transport",
        "s.a": "sender", "p.a": "policy", "i.a": "info"}
PROFILE = Profile("t", "t", "", (Requirement("m.a"), Requirement("t.a", (P,))), {})
OK = {"domain.valid": P, "domain.exists": P}


def fs(**statuses) -> list[Finding]:
    return [Finding(k.replace("_", "."), "d", s, "") for k, s in statuses.items()]


def grade_of(findings, profile=PROFILE):
    return grade(findings, profile, CATS)


def test_domain_level_status_is_the_worst_subject():
    findings = [Finding("m.a", "h1", P, ""), Finding("m.a", "h2", E, ""), Finding("m.a", "h3", W, "")]
    v = grade_of(findings + fs(domain_valid=P, domain_exists=P))
    assert (v.compliant, v.failed, v.undetermined, v.grade) == (False, (), ("m.a",), "not graded")


@pytest.mark.parametrize("findings, compliant, failed, undetermined", [
    (fs(domain_valid=P, domain_exists=P, m_a=P, t_a=P), True, (), ()),
    (fs(domain_valid=P, domain_exists=P, m_a=W, t_a=P), True, (), ()),      # default accept
    (fs(domain_valid=P, domain_exists=P, m_a=I, t_a=P), True, (), ()),
    (fs(domain_valid=P, domain_exists=P, m_a=S, t_a=P), True, (), ()),
    (fs(domain_valid=P, domain_exists=P, m_a=F, t_a=P), False, ("m.a",), ()),
    (fs(domain_valid=P, domain_exists=P, m_a=E, t_a=P), False, (), ("m.a",)),
    (fs(domain_valid=P, domain_exists=P, m_a=P, t_a=W), False, ("t.a",), ()),   # accept = pass
    (fs(domain_valid=P, domain_exists=P, m_a=F, t_a=E), False, ("m.a",), ("t.a",)),
    (fs(domain_valid=P, domain_exists=P), True, (), ()),    # required checks absent: not failed
    (fs(domain_valid=F), False, (), ()),                    # invalid input is never compliant
])
def test_compliance(findings, compliant, failed, undetermined):
    v = grade_of(findings)
    assert (v.compliant, v.failed, v.undetermined) == (compliant, failed, undetermined)


def test_the_score_and_grade_come_from_the_rating_guide():
    """scanner/rating.py (tests/test_rating.py has its rules one by one): a check registered
    without a severity row of its own is rated fail medium, warn low."""
    v = grade_of(fs(domain_valid=P, domain_exists=P, m_a=P, t_a=P, s_a=W))
    assert (v.compliant, v.score, v.grade, v.caps, v.guide) == (True, 98, "A", ("low:s.a",), "1")
    v = grade_of(fs(domain_valid=P, domain_exists=P, m_a=F, t_a=P))
    assert (v.compliant, v.score, v.grade, v.caps) == (False, 49, "D", ("unmet:m.a", "medium:m.a"))


def test_profile_name_in_verdict():
    assert grade_of(fs(domain_valid=P)).profile == "t"
