"""Verdict and score rules (scanner/verdict.py docstring)."""
from __future__ import annotations

import pytest

from scanner.findings import Finding, Status
from scanner.profiles import Profile, Requirement
from scanner.verdict import Verdict, grade, score

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
    assert grade_of(findings + fs(domain_valid=P, domain_exists=P)) == Verdict("t", False, 0, (), ("m.a",))


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


@pytest.mark.parametrize("statuses, expected", [
    ({**OK, "m.a": P}, 100),
    ({**OK, "m.a": F}, 0),
    ({**OK, "m.a": W}, 50),
    ({**OK, "m.a": P, "m.b": F}, 50),
    # mail routing (m.*) and SMTP (t.*) form one group, transport security
    ({**OK, "m.a": P, "m.b": P, "t.a": F}, 67),
    # groups averaged with equal weight, whatever their number of checks
    ({**OK, "m.a": P, "m.b": P, "s.a": F}, 50),
    ({**OK, "m.a": P, "t.a": W, "s.a": F, "p.a": P}, round(100 * (0.75 + 0 + 1) / 3)),
    # info, skipped and error earn nothing and count nothing
    ({**OK, "m.a": P, "m.b": E, "t.a": S, "i.a": F}, 100),
    ({**OK, "m.a": I}, 0),                       # nothing scorable
    ({**OK}, 0),
    # prerequisites
    ({"domain.valid": F, "m.a": P}, 0),
    ({"domain.valid": P, "domain.exists": F, "m.a": P}, 0),
    ({"domain.valid": P, "domain.exists": E, "m.a": P}, 0),
    ({"m.a": P}, 100),          # prerequisites absent are not held against the domain
])
def test_score(statuses, expected):
    assert score(statuses, PROFILE, CATS) == expected


def test_weights():
    weighted = Profile("w", "w", "", (), {"m.a": 3.0, "m.b": 0.0})
    assert score({**OK, "m.a": P, "m.b": F}, weighted, CATS) == 100
    assert score({**OK, "m.a": F, "m.b": P, "t.a": P}, weighted, CATS) == 25   # (0*3 + 1*0 + 1*1) / 4
    assert score({**OK, "m.a": W, "m.c": F}, Profile("w", "w", "", (), {"m.a": 3.0}),
                 {**CATS, "m.c": "mx"}) == round(100 * 1.5 / 4)


def test_profile_name_in_verdict():
    assert grade_of(fs(domain_valid=P)).profile == "t"
