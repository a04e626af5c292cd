"""Calibration, tested: the contract tests/fixtures/calibration.toml (realistic domains, why
each gets its grade, "grade score" under every built-in profile) against the stored evidence of
tests/calibration.py, and the rules the issue sets for any rating: a well-run domain is A or
A+; no STARTTLS, AUTH PLAIN before TLS and SPF +all are F; DMARC p=none is B at best; under every
profile, every domain that fails a requirement scores below every compliant one. The order of
grades over the fixture cannot change without the contract changing with it."""
from __future__ import annotations

import tomllib

import pytest

from scanner.api import get_profile
from scanner.profiles import builtin_names
from scanner.rating import GRADES, NOT_GRADED, grade_rank
from scanner.result import judge

from tests.calibration import CONTRACT, load_evidence

CONTRACT_DOC = tomllib.loads(CONTRACT.read_text(encoding="utf-8"))["domains"]
EVIDENCE = load_evidence()
PROFILES = builtin_names()


def _verdict(domain: str, profile: str):
    return judge(EVIDENCE[domain], get_profile(profile)).verdict


def _expected(domain: str, profile: str) -> tuple[str, int]:
    grade, _, score = CONTRACT_DOC[domain][profile].rpartition(" ")
    return grade, int(score)


def test_the_contract_covers_the_fixture_and_every_builtin_profile():
    assert set(CONTRACT_DOC) == set(EVIDENCE) and len(EVIDENCE) >= 20
    for name, entry in CONTRACT_DOC.items():
        assert entry["why"] and entry["source"], name
        assert set(entry) - {"why", "source"} == set(PROFILES), name


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("domain", sorted(CONTRACT_DOC))
def test_grade_and_score_are_the_contracts(domain, profile):
    v = _verdict(domain, profile)
    assert (v.grade, v.score) == _expected(domain, profile), CONTRACT_DOC[domain]["why"]


@pytest.mark.parametrize("profile", PROFILES)
def test_every_domain_that_fails_the_profile_scores_below_every_compliant_one(profile):
    verdicts = [_verdict(d, profile) for d in CONTRACT_DOC]
    compliant = [v.score for v in verdicts if v.compliant]
    failing = [v.score for v in verdicts if v.failed]       # observed failures (or invalid)
    invalid = [v.score for v in verdicts if not v.compliant and not v.failed
               and not v.undetermined]
    assert compliant and failing
    assert max(failing + invalid) < min(compliant)


def test_the_issues_anchors():
    baseline = {d: _verdict(d, "baseline") for d in CONTRACT_DOC}
    assert baseline["good.test"].grade in ("A", "A+")
    assert baseline["exemplary.test"].grade == "A+"
    for profile in PROFILES:
        assert _verdict("bod-ready.test", profile).grade == "A+", profile
        for broken in ("legacy.test", "authleak.test", "plus-all.test", "ghost.test"):
            assert _verdict(broken, profile).grade == "F", (broken, profile)
        assert grade_rank(_verdict("dmarc-none.test", profile).grade) <= grade_rank("B"), profile
    assert baseline["not a domain!"].grade == baseline["dmarc-servfail.test"].grade == NOT_GRADED


@pytest.mark.parametrize("profile", PROFILES)
def test_what_the_scanners_network_held_back_is_never_f_nor_a_by_omission(profile):
    """Rule 11: port 25 held back by env.port25 leaves a domain that is otherwise good not
    graded (never F for the scanner's network, never A for what it did not see), shows the
    range, and lists no fixes; a critical finding elsewhere is F all the same; an IPv6 address
    held back on a host judged over IPv4 costs A+ only."""
    from scanner.explain import explain

    prof = get_profile(profile)
    r = judge(EVIDENCE["port25-filtered.test"], prof)
    assert r.verdict.grade == NOT_GRADED and "env-untested:env.port25" in r.verdict.caps
    assert "smtp.reachable" not in r.verdict.failed
    why = explain(r, prof)
    assert why.range is not None and why.range[0] == "F" and why.steps == ()
    seen = judge(EVIDENCE["good.test"], prof).verdict
    assert why.range[1] == min(seen.grade, "A", key=grade_rank)
    assert r.verdict.score == seen.score                   # scored on what was probed
    bad = judge(EVIDENCE["port25-filtered-plus-all.test"], prof).verdict
    assert bad.grade == "F" and "env:env.port25" in bad.caps
    v6 = judge(EVIDENCE["ipv6-unprobed.test"], prof).verdict
    assert "env:env.ipv6" in v6.caps and v6.grade != "A+"
    assert v6.grade == min(_verdict("exemplary.test", profile).grade, "A", key=grade_rank)


@pytest.mark.parametrize("profile", PROFILES)
def test_the_order_of_grades_is_the_contracts(profile):
    """The ranking of the fixture by (grade, score), best first, is the contract's."""
    def ranking(entries):
        graded = [(d, g, s) for d, (g, s) in entries.items() if g in GRADES]
        return [d for d, g, s in sorted(graded, key=lambda x: (-grade_rank(x[1]), -x[2], x[0]))]

    got = {d: (_verdict(d, profile).grade, _verdict(d, profile).score) for d in CONTRACT_DOC}
    assert ranking(got) == ranking({d: _expected(d, profile) for d in CONTRACT_DOC})


@pytest.mark.parametrize("profile", PROFILES)
def test_each_fix_step_is_what_regrading_with_those_checks_passed_gives(profile):
    """The steps are computed from the rating's parts (a check's penalty and requirement
    depend on that check alone); re-grading the evidence with the checks passed - and the
    required checks of their families that were only skipped - gives the same grade and score."""
    from scanner.findings import Status
    from scanner.rating import assess, improvements, observe
    from scanner.registry import categories

    prof, cats = get_profile(profile), categories()
    for domain, ev in EVIDENCE.items():
        r = judge(ev, prof)
        obs = observe(r.findings, ev)
        current = assess(obs, prof, cats, ev)
        followers = {c for c in current.failed if obs.full.get(c) is Status.SKIPPED}
        fixed: set[str] = set()
        for step in improvements(obs, prof, cats, ev, current):
            fixed.update(step.checks)
            families = {c.split(".")[0] for c in fixed}
            chosen = fixed | {c for c in followers if c.split(".")[0] in families}
            again = assess(obs, prof, cats, ev, fixed=chosen)
            assert (again.grade, again.score) == (step.after, step.score_after), (domain, step)
