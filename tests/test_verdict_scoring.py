"""The score of issue 5: points per check (worst subject counts), groups (transport security,
sender authentication, policy records, and mail routing) averaged with equal weight, "could
not test" kept apart from "fail"."""
from __future__ import annotations

import pytest

from dataclasses import dataclass

from scanner.findings import Finding, Status, domain_statuses
from scanner.profiles import Profile, parse_profile
from scanner.checks import all_checks
from scanner.verdict import GROUP_TITLES, SCORE_GROUPS, Verdict, grade, group_scores, not_tested, unmet

CATEGORIES = {cid: spec.category for cid, spec in all_checks().items()}
EMPTY = Profile("t", "t", "", (), {})
PREREQ = [Finding("domain.valid", "d.test", Status.PASS, ""),
          Finding("domain.exists", "d.test", Status.PASS, "")]


@dataclass
class Graded:
    """The verdict plus what reports derive from the same findings."""
    score: int
    groups: dict[str, int]
    not_tested: tuple[str, ...]
    verdict: Verdict


def graded(findings: list[Finding], profile: Profile = EMPTY) -> Graded:
    v = grade(findings, profile, CATEGORIES)
    groups = group_scores(domain_statuses(findings), profile, CATEGORIES)
    return Graded(v.score, {g: round(x) for g, x in groups.items()}, not_tested(findings), v)


def verdict(*pairs: tuple[str, Status], profile: Profile = EMPTY, subject: str = "d.test"):
    return graded(PREREQ + [Finding(c, subject, s, "") for c, s in pairs], profile)


def test_the_groups_are_the_registry_categories_but_info():
    assert list(SCORE_GROUPS) == ["transport", "sender", "policy"]   # issue 5's three
    assert set(GROUP_TITLES) == set(SCORE_GROUPS)
    assert {c for cats in SCORE_GROUPS.values() for c in cats} == set(CATEGORIES.values()) - {"info"}


def test_groups_are_averaged_with_equal_weight_not_by_check_count():
    v = verdict(("smtp.starttls", Status.PASS), ("smtp.tls_version", Status.PASS),
                ("smtp.cert_key", Status.PASS),                       # transport 100
                ("spf.present", Status.PASS), ("dmarc.present", Status.FAIL),   # sender 50
                ("tls_rpt.record", Status.WARN))                      # policy 50
    assert v.groups == {"transport": 100, "sender": 50, "policy": 50}
    assert v.score == 67


def test_mail_routing_counts_in_transport_security():
    v = verdict(("mx.ptr", Status.WARN), ("mx.ipv6", Status.PASS), ("smtp.starttls", Status.FAIL))
    assert v.groups == {"transport": 50}
    assert v.score == 50


def test_the_worst_subject_counts():
    findings = PREREQ + [Finding("smtp.starttls", "mx1 [192.0.2.1]:25", Status.PASS, ""),
                         Finding("smtp.starttls", "mx2 [192.0.2.2]:25", Status.FAIL, ""),
                         Finding("spf.present", "d.test", Status.PASS, "")]
    v = graded(findings)
    assert v.groups == {"transport": 0, "sender": 100}
    assert v.score == 50


def test_could_not_test_is_kept_apart_from_fail():
    v = verdict(("smtp.starttls", Status.ERROR), ("smtp.tls_version", Status.PASS),
                ("spf.present", Status.PASS))
    assert v.groups == {"transport": 100, "sender": 100}
    assert (v.score, v.not_tested) == (100, ("smtp.starttls",))


def test_a_group_with_nothing_scorable_is_left_out_not_zero():
    v = verdict(("smtp.starttls", Status.SKIPPED), ("smtp.reachable", Status.ERROR),
                ("mx.null", Status.INFO), ("spf.present", Status.WARN))
    assert v.groups == {"sender": 50}
    assert (v.score, v.not_tested) == (50, ("smtp.reachable",))


def test_info_checks_are_not_scored():
    v = verdict(("bimi.record", Status.FAIL), ("spf.present", Status.PASS))
    assert (v.groups, v.score) == ({"sender": 100}, 100)


def test_weights_of_the_profile():
    profile = parse_profile('name = "w"\n[weights]\n"dmarc.policy" = 3\n', "w", set(CATEGORIES))
    v = verdict(("dmarc.policy", Status.FAIL), ("spf.present", Status.PASS), profile=profile)
    assert (v.groups, v.score) == ({"sender": 25}, 25)


@pytest.mark.parametrize(("check", "status"), [
    ("domain.valid", Status.FAIL), ("domain.exists", Status.FAIL), ("domain.exists", Status.ERROR),
])
def test_a_domain_that_cannot_be_assessed_scores_zero(check, status):
    findings = [Finding(check, "d.test", status, ""), Finding("spf.present", "d.test", Status.PASS, "")]
    assert grade(findings, EMPTY, CATEGORIES).score == 0


def test_nothing_scorable_scores_zero():
    assert verdict(("smtp.starttls", Status.ERROR)).score == 0


def test_compliance_is_separate_from_the_score():
    profile = parse_profile('name = "r"\n[[require]]\ncheck = "spf.present"\naccept = ["pass"]\n'
                            "source = \"test\"\n", "r", set(CATEGORIES))
    v = verdict(("spf.present", Status.WARN), ("smtp.starttls", Status.PASS), profile=profile).verdict
    assert (v.compliant, v.failed, unmet(v, profile), v.score) == (
        False, ("spf.present",), ("spf.present",), 75)


def test_the_stored_verdict_keeps_its_five_fields():
    """results.jsonl and the store carry the verdict as is; report details are derived."""
    import dataclasses

    assert [f.name for f in dataclasses.fields(Verdict)] == [
        "profile", "compliant", "score", "failed", "undetermined"]
