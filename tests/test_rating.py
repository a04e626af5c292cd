"""The rating guide's rules (docs/rating.md, scanner/rating.py), one at a time, on hand-made
findings: the score's penalties and bounds, the bands, each cap alone, A+, "not graded", the
scanner's-network rule, scopes, the null MX and +all refinements, and the fixes."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from scanner.evidence.smtp import SmtpProbe
from scanner.findings import Finding, Status
from scanner.profiles import Profile, Requirement, parse_profile
from scanner.explain import cap_groups, explain_cap
from scanner.rating import (CAP, GRADES, GUIDE_VERSION, MEANINGS, NOT_GRADED, PENALTY, assess, band,
                            distribution, grade_rank, improvements, observe)
from scanner.checks import all_checks
from scanner.checks.smtp import ENDPOINT_ROLES
from scanner.serde import from_jsonable
from scanner.verdict import Verdict, grade

from tests.checks.records_ev import D, dmarc_ev, ev, spf_simple

P, W, F, I, E, S = (Status.PASS, Status.WARN, Status.FAIL, Status.INFO, Status.ERROR,
                    Status.SKIPPED)
CATS = {cid: spec.category for cid, spec in all_checks().items()}
KNOWN = set(CATS)
EMPTY = Profile("t", "t", "", (), {})
OK = [Finding("domain.valid", D, P, ""), Finding("domain.exists", D, P, ""),
      Finding("spf.present", D, P, "")]
MX25, MX587 = "mx1.example.test [192.0.2.1]:25", "mx1.example.test [192.0.2.1]:587"


def rate(*pairs, profile: Profile = EMPTY, evidence=None, subject: str = D):
    findings = OK + [Finding(c, subject, s, "msg") for c, s in pairs]
    return assess(observe(findings, evidence), profile, CATS, evidence)


def required(*checks: str, accept=(P, W, I, S)) -> Profile:
    return Profile("req", "req", "", tuple(Requirement(c, tuple(accept)) for c in checks), {})


def user_profile(text: str) -> Profile:
    return parse_profile(f'name = "mine"\n{text}', "mine.toml", KNOWN)


# ---------------------------------------------------------------- score (rule 6) and bands (8)
@pytest.mark.parametrize(("pairs", "score", "grade_", "caps"), [
    ((), 100, "A+", ()),
    ((("mx.ipv6", W),), 98, "A", ("low:mx.ipv6",)),
    ((("dmarc.policy", W),), 94, "B", ("medium:dmarc.policy",)),
    ((("dmarc.present", F),), 85, "C", ("high:dmarc.present",)),
    ((("smtp.starttls", F),), 60, "F", ("critical:smtp.starttls",)),
    # one penalty per check however many subjects fail; the worst status of the check counts
    ((("smtp.starttls", F), ("smtp.starttls", F), ("smtp.starttls", P)), 60, "F",
     ("critical:smtp.starttls",)),
    ((("spf.all", W), ("spf.all", F)), 85, "C", ("high:spf.all",)),
    # info, skipped and error carry no severity
    ((("bimi.record", I), ("dkim.key", S), ("mx.ptr", E)), 100, "A+", ()),
    # severities add up; never below 0
    ((("dmarc.present", F), ("dmarc.pct", W), ("mx.ptr", W)), 77, "C",
     ("high:dmarc.present", "medium:dmarc.pct", "low:mx.ptr")),
    # a compliant domain (this profile requires nothing) scores 50 at least (rule 7)
    ((("smtp.starttls", F), ("smtp.auth_before_tls", F), ("spf.all", F), ("dmarc.present", F)),
     50, "F", ("critical:smtp.starttls", "critical:smtp.auth_before_tls", "high:spf.all",
               "high:dmarc.present")),
])
def test_score_is_100_minus_the_penalties_and_the_grade_is_capped(pairs, score, grade_, caps):
    r = rate(*pairs)
    assert (r.score, r.grade, r.caps) == (score, grade_, caps)


def test_penalties_of_the_guide():
    assert PENALTY == {"critical": 40, "high": 15, "medium": 6, "low": 2}
    assert CAP == {"critical": "F", "high": "C", "medium": "B", "low": "A"}


@pytest.mark.parametrize(("score", "letter"), [
    (100, "A"), (90, "A"), (89.5, "B"), (75, "B"), (74.9, "C"), (60, "C"), (59, "D"), (40, "D"),
    (39.9, "F"), (0, "F")])
def test_bands(score, letter):
    assert band(score) == letter


@pytest.mark.parametrize(("weight", "compliant", "score", "letter"), [
    (5, True, 90, "A"), (5.5, True, 89, "B"), (12.5, True, 75, "B"), (13, True, 74, "C"),
    (20, True, 60, "C"), (20.5, True, 59, "D"), (25, True, 50, "D"),
    (30.5, True, 50, "D"),                  # a compliant domain never scores below 50
    (5, False, 49, "D"), (30, False, 40, "D"), (30.5, False, 39, "F")])
def test_the_band_binds_when_no_cap_is_lower(weight, compliant, score, letter):
    """A low finding (cap A) weighted to land on each band's edge: the band decides."""
    require = "" if compliant else '[[require]]\ncheck = "mx.ptr"\naccept = ["pass"]\n'
    profile = user_profile(f'{require}[weights]\n"mx.ptr" = {weight}\n')
    r = rate(("mx.ptr", W), profile=profile)
    assert (r.score, r.grade, r.compliant) == (score, letter, compliant)


# ---------------------------------------------------------------------- caps one at a time (9)
@pytest.mark.parametrize(("level", "check", "status"), [
    ("critical", "smtp.starttls", F), ("high", "dmarc.present", F),
    ("medium", "mta_sts.record", W), ("low", "tls_rpt.record", W)])
def test_each_cap_alone(level, check, status):
    """Weight 0 keeps the score at 100: only the cap limits the grade."""
    profile = user_profile(f'[weights]\n"{check}" = 0\n')
    r = rate((check, status), profile=profile)
    assert (r.score, r.grade, r.caps) == (100, CAP[level], (f"{level}:{check}",))


def test_a_plus_is_an_a_with_nothing_to_improve():
    assert rate().grade == "A+"
    assert rate(("mx.ipv6", W)).grade == "A"
    silenced = user_profile('[severity]\n"mx.ipv6" = "none"\n')
    assert rate(("mx.ipv6", W), profile=silenced).grade == "A+"


# ------------------------------------------------------------------ compliance bounds (rule 7)
def test_an_unmet_requirement_bounds_the_score_at_49():
    r = rate(("mx.ptr", W), profile=required("mx.ptr", accept=(P,)))
    assert (r.score, r.grade, r.compliant) == (49, "D", False)
    assert r.caps == ("unmet:mx.ptr", "low:mx.ptr")


def test_a_compliant_domain_scores_at_least_50():
    r = rate(("smtp.starttls", F), ("smtp.auth_before_tls", F), ("spf.all", F))
    assert (r.score, r.grade, r.compliant) == (50, "F", True)


def test_unmet_match_counts_at_the_checks_fail_severity():
    """BOD 18-01 asks for p=reject; p=quarantine passes dmarc.policy but not the profile."""
    from scanner.api import get_profile

    bod = get_profile("bod-18-01")
    e = ev(dmarc=dmarc_ev("v=DMARC1; p=quarantine; rua=mailto:reports@dmarc.cyber.dhs.gov"))
    findings = [Finding(r.check, D, r.accept[0], "") for r in bod.requirements]
    r = assess(observe(findings, e), bod, CATS, e)
    assert r.failed == ("dmarc.policy", "dmarc.subdomain_policy")
    assert r.caps == ("unmet:dmarc.policy", "unmet:dmarc.subdomain_policy", "high:dmarc.policy",
                      "medium:dmarc.subdomain_policy")
    assert (r.score, r.grade) == (49, "D")


def test_a_required_check_skipped_because_of_an_earlier_problem_adds_no_penalty():
    profile = required("dmarc.present", "dmarc.pct", accept=(P,))
    r = rate(("dmarc.present", F), ("dmarc.pct", S), profile=profile)
    assert r.failed == ("dmarc.present", "dmarc.pct")
    assert [p.check for p in r.penalties] == ["dmarc.present"]
    assert r.score == 49


# ----------------------------------------------------------------------- not graded (1, 10)
def test_invalid_input_is_not_graded():
    r = assess(observe([Finding("domain.valid", "x y", F, "")]), EMPTY, CATS)
    assert (r.grade, r.score, r.caps, r.invalid) == (NOT_GRADED, 0, ("invalid",), True)


def test_a_domain_that_does_not_exist_is_f():
    findings = [Finding("domain.valid", D, P, ""), Finding("domain.exists", D, F, ""),
                Finding("spf.present", D, S, "")]
    r = assess(observe(findings), required("domain.exists"), CATS)
    assert (r.grade, r.score) == ("F", 0)
    assert r.caps == ("critical:domain.exists", "unmet:domain.exists")


def test_a_domain_that_could_not_be_looked_up_is_not_graded():
    findings = [Finding("domain.valid", D, P, ""), Finding("domain.exists", D, E, "timeout"),
                Finding("spf.present", D, E, "not evaluated")]
    r = assess(observe(findings), EMPTY, CATS)
    assert (r.grade, r.score) == (NOT_GRADED, 0)


def test_nothing_tested_is_not_graded():
    r = assess(observe([Finding("domain.valid", D, P, ""), Finding("domain.exists", D, P, ""),
                        Finding("spf.present", D, E, "timeout")]), EMPTY, CATS)
    assert (r.grade, r.caps) == (NOT_GRADED, ("untested:all",))


def test_an_untested_required_check_is_not_graded_with_the_range():
    r = rate(("smtp.starttls", E), ("mx.ipv6", W), profile=required("smtp.starttls"))
    assert r.grade == NOT_GRADED
    assert r.range == ("F", "A")          # failed: critical; passed: the low finding remains
    assert r.caps == ("untested:smtp.starttls", "low:mx.ipv6")
    assert r.undetermined == ("smtp.starttls",) and r.score == 98   # not scored, not bounded


def test_an_untested_required_check_that_cannot_change_the_grade_is_graded():
    r = rate(("smtp.starttls", E), ("spf.all", F), ("smtp.auth_before_tls", F),
             profile=required("smtp.starttls"))
    assert r.grade == "F" and r.range is None
    assert "untested:smtp.starttls" not in r.caps and r.undetermined == ("smtp.starttls",)


def test_a_non_required_check_in_error_is_left_out():
    r = rate(("smtp.starttls", E))
    assert (r.grade, r.score) == ("A+", 100)


# ------------------------------------------------------------- the scanner's network (rule 11)
PORT25_HELD = "not probed: outbound port 25 looks filtered from this host (...)"


def _held(port: int, role: str, note: str = "env.port25", ip: str = "192.0.2.1",
          **kw) -> SmtpProbe:
    return SmtpProbe("mx1.example.test", ip, port, role, environment=note, error=PORT25_HELD,
                     **kw)


def _smtp_findings(e):
    """OK plus what the real SMTP checks say of the evidence."""
    from scanner.registry import run_check

    return OK + [f for cid in ENDPOINT_ROLES for f in run_check(all_checks()[cid], e)]


def _good(port: int, role: str, ip: str = "192.0.2.1") -> SmtpProbe:
    from tests.checks.test_smtp import good

    return replace(good(port, role), ip=ip)


def test_port25_held_back_is_not_graded_never_f_never_a_by_omission():
    """The SMTP checks put the held endpoint down as error (smtp.reachable) and skipped (the
    rest): without rule 11 the submission port alone would make the domain A+."""
    e = replace(ev(), smtp=(_held(25, "smtp"), _good(587, "submission")))
    findings = _smtp_findings(e)
    r = assess(observe(findings, e), required("smtp.starttls"), CATS, e)
    assert (r.grade, r.range, r.score) == (NOT_GRADED, ("F", "A"), 100)
    assert r.caps == ("env-untested:env.port25",) and r.compliant     # the verdict as main's
    assert "port 25 of the MX hosts was not tested" in explain_cap("env-untested:env.port25")
    assert improvements(observe(findings, e), required("smtp.starttls"), CATS, e) == []
    # the same endpoint probed and passing: A+
    ok = replace(e, smtp=(_good(25, "smtp"), _good(587, "submission")))
    assert assess(observe(_smtp_findings(ok), ok), EMPTY, CATS, ok).grade == "A+"


def test_a_port25_timeout_put_down_to_the_filter_is_held_back_too():
    from scanner.evidence.smtp import Failure

    e = replace(ev(), smtp=(_held(25, "smtp", failure=Failure.TIMEOUT, connections=1),
                            _good(587, "submission")))
    r = assess(observe(_smtp_findings(e), e), EMPTY, CATS, e)
    assert r.grade == NOT_GRADED and r.caps == ("env-untested:env.port25",)


def test_port25_held_back_beside_a_critical_finding_is_f_all_the_same():
    e = replace(ev(), smtp=(_held(25, "smtp"), _good(587, "submission")))
    findings = _smtp_findings(e) + [Finding("spf.all", D, F, "+all")]
    r = assess(observe(findings, e), EMPTY, CATS, replace(e, records=ev(
        spf=spf_simple("v=spf1 +all")).records))
    assert (r.grade, r.caps) == ("F", ("critical:spf.all", "env:env.port25"))


def test_a_profile_that_rates_no_smtp_check_grades_around_the_held_endpoint():
    e = replace(ev(), smtp=(_held(25, "smtp"), _good(587, "submission")))
    quiet = user_profile("[severity]\n" + "".join(f'"{c}" = "none"\n' for c in ENDPOINT_ROLES))
    r = assess(observe(_smtp_findings(e), e), quiet, CATS, e)
    assert (r.grade, r.caps) == ("A", ("env:env.port25",))      # graded, but not A+


def test_an_ipv6_address_held_back_on_a_host_judged_over_ipv4_costs_a_plus_only():
    v6 = "2001:db8::25"
    e = replace(ev(), smtp=(_good(25, "smtp"), _held(25, "smtp", "env.ipv6", v6)))
    r = assess(observe(_smtp_findings(e), e), EMPTY, CATS, e)
    assert (r.grade, r.score, r.caps) == ("A", 100, ("env:env.ipv6",))
    # an IPv6-only host held back: nothing of it was judged
    only = replace(ev(), smtp=(_held(25, "smtp", "env.ipv6", v6),))
    r = assess(observe(_smtp_findings(only), only), EMPTY, CATS, only)
    assert r.grade == NOT_GRADED and r.caps == ("env-untested:env.ipv6",)


def test_the_held_endpoints_checks_are_the_ones_that_apply_to_its_role():
    """ENDPOINT_ROLES (which the rating reads) says what the checks do: an endpoint of a role
    a check does not judge gets 'not applicable' from it, the others judge it."""
    from scanner.registry import run_check

    for role, port in (("smtp", 25), ("submission", 587), ("submissions", 465)):
        e = replace(ev(), smtp=(_good(port, role),))
        for cid, roles in ENDPOINT_ROLES.items():
            (f,) = run_check(all_checks()[cid], e)
            applies = roles is None or role in roles
            assert f.message.startswith("not applicable") is not applies, (cid, role)
    assert set(ENDPOINT_ROLES) == {c for c in all_checks() if c.startswith("smtp.")}


def test_an_error_that_is_not_the_scanners_network_is_not_excused():
    findings = OK + [Finding("smtp.starttls", MX25, E, "timeout after 10s"),
                     Finding("smtp.starttls", MX587, P, "ok")]
    assert assess(observe(findings), required("smtp.starttls"), CATS).grade == NOT_GRADED
    # only the evidence excuses: text quoted from a server cannot excuse itself
    findings[0] = Finding("smtp.starttls", MX25, E, "env.port25: not probed (env.port25)")
    r = assess(observe(findings), required("smtp.starttls"), CATS)
    assert r.grade == NOT_GRADED and r.caps == ("untested:smtp.starttls",)


def test_old_evidence_without_environment_holds_nothing_back():
    e = replace(ev(), smtp=(SmtpProbe("mx1.example.test", "192.0.2.1", 25, "smtp"),))
    assert observe(_smtp_findings(e), e).held == frozenset()


# -------------------------------------------------------------------- refinements (3, 4, 5)
def test_certificates_weigh_more_on_submission_ports():
    assert rate(("smtp.cert_trusted", F), subject=MX25).caps == ("medium:smtp.cert_trusted",)
    assert rate(("smtp.cert_trusted", F), subject=MX587).caps == ("high:smtp.cert_trusted",)
    # a refused submission port is a service not offered; a refused port 25 is not
    assert rate(("smtp.reachable", F), subject=MX587).grade == "A+"
    assert rate(("smtp.reachable", F), subject=MX25).caps == ("high:smtp.reachable",)


def test_the_role_comes_from_the_evidence_for_any_port():
    e = replace(ev(), smtp=(SmtpProbe("mx1.example.test", "192.0.2.1", 2525, "submission"),))
    sub = "mx1.example.test [192.0.2.1]:2525"
    assert rate(("smtp.cert_trusted", F), subject=sub).caps == ("medium:smtp.cert_trusted",)
    assert rate(("smtp.cert_trusted", F), subject=sub, evidence=e).caps == \
        ("high:smtp.cert_trusted",)


@pytest.mark.parametrize(("record", "level"), [
    ("v=spf1 mx +all", "critical"), ("v=spf1 mx all", "critical"), ("v=spf1 mx ?all", "high"),
    ("v=spf1 mx", "high")])
def test_spf_plus_all_is_critical(record, level):
    e = ev(spf=spf_simple(record))
    assert rate(("spf.all", F), evidence=e).caps == (f"{level}:spf.all",)


def test_a_profile_setting_spf_all_fail_sets_it_for_plus_all_too():
    e = ev(spf=spf_simple("v=spf1 +all"))
    profile = user_profile('[severity]\n"spf.all" = { fail = "medium" }\n')
    assert rate(("spf.all", F), evidence=e, profile=profile).caps == ("medium:spf.all",)


def test_a_null_mx_domain_is_not_rated_on_inbound_protection():
    assert rate(("mx.null", I), ("mta_sts.record", W), ("tls_rpt.record", W)).grade == "A+"
    assert rate(("mta_sts.record", W), ("tls_rpt.record", W)).caps == \
        ("medium:mta_sts.record", "low:tls_rpt.record")


# -------------------------------------------------------------------------- user severities
def test_a_user_profile_overrides_severities():
    pnone = (("dmarc.policy", W),)
    assert rate(*pnone).grade == "B"
    stricter = user_profile('[severity]\n"dmarc.policy" = { warn = "high" }\n')
    assert rate(*pnone, profile=stricter).caps == ("high:dmarc.policy",)
    assert rate(*pnone, profile=stricter).grade == "C"
    critical = user_profile('[severity]\n"smtp.cert_trusted" = { submission = "critical" }\n')
    assert rate(("smtp.cert_trusted", F), subject=MX587, profile=critical).grade == "F"
    assert rate(("smtp.cert_trusted", F), subject=MX25, profile=critical).grade == "B"


# ------------------------------------------------------------------------------- the verdict
def test_the_verdict_records_grade_caps_and_guide():
    v = grade(OK + [Finding("dmarc.policy", D, W, "p=none")], EMPTY, CATS)
    assert (v.grade, v.caps, v.guide, v.score) == ("B", ("medium:dmarc.policy",), GUIDE_VERSION, 94)


def test_a_verdict_stored_before_the_rating_guide_still_decodes():
    old = json.loads('{"profile":"baseline","compliant":true,"score":82,"failed":[],'
                     '"undetermined":[]}')
    v = from_jsonable(Verdict, old)
    assert (v.grade, v.caps, v.guide, v.score) == ("", (), "", 82)


def test_grades_and_meanings():
    assert GRADES == ("A+", "A", "B", "C", "D", "F")
    assert set(MEANINGS) == {*GRADES, NOT_GRADED}
    assert [grade_rank(g) for g in (*GRADES, NOT_GRADED, "")] == [6, 5, 4, 3, 2, 1, 0, 0]
    assert distribution({"A": 2, "F": 1, "": 3}) == [
        ("A+", 0), ("A", 2), ("B", 0), ("C", 0), ("D", 0), ("F", 1), (NOT_GRADED, 0),
        ("no grade", 3)]


def test_caps_are_grouped_by_what_they_limit_worst_first():
    caps = ("critical:smtp.starttls", "unmet:spf.all", "high:smtp.tls_version", "low:mx.ipv6",
            "critical:spf.all")
    assert [(limit, checks) for limit, _, checks in cap_groups(caps)] == [
        ("F at best", ("smtp.starttls", "spf.all")), ("D at best (score 49 at most)", ("spf.all",)),
        ("C at best", ("smtp.tls_version",)), ("A at best", ("mx.ipv6",))]


# ---------------------------------------------------------------------------------- fixes
def _steps(*pairs, profile=EMPTY, evidence=None):
    findings = OK + [Finding(c, D, s, "") for c, s in pairs]
    obs = observe(findings, evidence)
    return [(s.checks, s.before, s.after) for s in improvements(obs, profile, CATS, evidence)]


def test_fixes_raise_the_grade_step_by_step_to_the_best_reachable():
    legacy = (("smtp.starttls", F), ("spf.all", F), ("dmarc.policy", W), ("mx.ipv6", W))
    plus_all = ev(spf=spf_simple("v=spf1 mx +all"))
    assert _steps(*legacy, evidence=plus_all) == [
        (("smtp.starttls", "spf.all"), "F", "B"),      # both criticals must go together
        (("dmarc.policy",), "B", "A"),                  # "publish DMARC p=quarantine: B -> A"
        (("mx.ipv6",), "A", "A+")]
    assert _steps(*legacy) == [                         # without +all, spf.all is high
        (("smtp.starttls",), "F", "C"), (("spf.all",), "C", "B"), (("dmarc.policy",), "B", "A"),
        (("mx.ipv6",), "A", "A+")]


def test_fixes_meet_unmet_requirements_first():
    profile = required("dmarc.rua", accept=(P,))
    assert _steps(("dmarc.rua", W), ("mta_sts.record", W), profile=profile) == [
        (("dmarc.rua",), "D", "B"), (("mta_sts.record",), "B", "A+")]


def test_fixes_take_a_family_skipped_by_an_earlier_problem_along():
    profile = required("dmarc.present", "dmarc.pct", accept=(P,))
    assert _steps(("dmarc.present", F), ("dmarc.pct", S), profile=profile) == [
        (("dmarc.present",), "D", "A+")]


def test_no_fixes_for_a_plus_not_graded_or_a_domain_that_does_not_exist():
    assert _steps() == []
    assert _steps(("smtp.starttls", E), profile=required("smtp.starttls")) == []
    gone = [Finding("domain.valid", D, P, ""), Finding("domain.exists", D, F, "")]
    assert improvements(observe(gone), required("domain.exists"), CATS) == []
