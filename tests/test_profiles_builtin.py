"""The built-in profiles: every one loads, every requirement names its source, and every
requirement (the profile's rules) decides compliance as written - one test per rule."""
from __future__ import annotations

import pytest

from scanner.api import get_profile
from scanner.evidence import DnsOutcome, DnsResult, DomainEvidence
from scanner.evidence.records import DmarcEvidence, RecordsEvidence
from scanner.findings import Finding, Status
from scanner.profiles import FACTS, builtin_names, fact_values, parse_profile
from scanner.checks import all_checks
from scanner.verdict import grade, not_tested, unmet

BUILTIN = ("baseline", "bod-18-01", "bulk-sender-2024", "nist-800-177")
CHECK_IDS = set(all_checks())
CATEGORIES = {cid: spec.category for cid, spec in all_checks().items()}
CISA = "mailto:reports@dmarc.cyber.dhs.gov"
# the worst statuses first: the first one a requirement does not accept is used to break it
BREAKING = (Status.FAIL, Status.WARN, Status.INFO, Status.SKIPPED, Status.PASS)


def dmarc_evidence(record: str | None, *, outcome: DnsOutcome = DnsOutcome.OK) -> DomainEvidence:
    records = (record,) if record is not None else ()
    lookup = DnsResult("_dmarc.example.com", "TXT",
                       outcome if record is not None or outcome is not DnsOutcome.OK
                       else DnsOutcome.NODATA, records)
    dmarc = DmarcEvidence(lookup=lookup, org_domain="example.com")
    return DomainEvidence(0, "example.com", "example.com", records=RecordsEvidence(dmarc=dmarc))


STRICT_DMARC = f"v=DMARC1; p=reject; pct=100; rua={CISA},mailto:dmarc@example.com"


def rules() -> list[tuple[str, int]]:
    return [(name, i) for name in BUILTIN for i in range(len(get_profile(name).requirements))]


def passing_findings(profile) -> list[Finding]:
    """Every required check at the first status its requirement accepts."""
    return [Finding(r.check, "example.com", r.accept[0], "ok") for r in profile.requirements]


def test_the_builtin_profiles_are_the_four_of_the_design():
    assert set(BUILTIN) <= set(builtin_names())


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_profile_loads_and_every_requirement_names_its_source(name):
    profile = get_profile(name)
    assert profile.name == name and profile.title and profile.description
    assert profile.requirements
    for req in profile.requirements:
        assert req.check in CHECK_IDS
        assert req.source.strip(), f"{name}: {req.check} has no source"
        assert req.match is None or req.match.fact in FACTS


@pytest.mark.parametrize("name", BUILTIN)
def test_every_requirement_met_is_compliant(name):
    profile = get_profile(name)
    verdict = grade(passing_findings(profile), profile, CATEGORIES, dmarc_evidence(STRICT_DMARC))
    assert (verdict.compliant, verdict.failed, verdict.undetermined) == (True, (), ())


@pytest.mark.parametrize(("name", "index"), rules())
def test_rule_observed_outside_accept_fails(name, index):
    profile = get_profile(name)
    req = profile.requirements[index]
    bad = next(s for s in BREAKING if s not in req.accept)
    findings = [f if f.check != req.check else Finding(f.check, f.subject, bad, "broken")
                for f in passing_findings(profile)]
    verdict = grade(findings, profile, CATEGORIES, dmarc_evidence(STRICT_DMARC))
    assert verdict.compliant is False
    assert verdict.failed == (req.check,) and verdict.undetermined == ()


@pytest.mark.parametrize(("name", "index"), rules())
def test_rule_in_error_is_undetermined_not_failed(name, index):
    profile = get_profile(name)
    req = profile.requirements[index]
    findings = [f if f.check != req.check else Finding(f.check, f.subject, Status.ERROR, "timeout")
                for f in passing_findings(profile)]
    verdict = grade(findings, profile, CATEGORIES, dmarc_evidence(STRICT_DMARC))
    assert (verdict.compliant, verdict.failed, verdict.undetermined) == (False, (), (req.check,))
    assert req.check in not_tested(findings)


# ---- the rules with a `match` on a DMARC tag: each breaks on the record, not on the status
@pytest.mark.parametrize(("record", "unmet"), [
    (STRICT_DMARC, ()),
    ("v=DMARC1; p=quarantine; rua=mailto:reports@dmarc.cyber.dhs.gov",
     ("dmarc.policy", "dmarc.subdomain_policy")),
    ("v=DMARC1; p=reject; sp=quarantine; rua=mailto:reports@dmarc.cyber.dhs.gov",
     ("dmarc.subdomain_policy",)),
    ("v=DMARC1; p=reject; rua=mailto:dmarc@example.com", ("dmarc.rua",)),
    # the size suffix and letter case do not matter (RFC 7489 6.2, 6.3)
    ("v=DMARC1; p=REJECT; rua=mailto:Reports@dmarc.cyber.dhs.gov!10m", ()),
])
def test_bod_18_01_dmarc_rules_read_the_record(record, unmet):
    profile = get_profile("bod-18-01")
    verdict = grade(passing_findings(profile), profile, CATEGORIES, dmarc_evidence(record))
    assert verdict.failed == unmet
    assert verdict.compliant is (not unmet)


def test_bod_18_01_unmet_rua_is_described_with_the_expected_address():
    profile = get_profile("bod-18-01")
    verdict = grade(passing_findings(profile), profile, CATEGORIES,
                    dmarc_evidence("v=DMARC1; p=reject"))
    assert unmet(verdict, profile) == (f"dmarc.rua (dmarc.rua contains {CISA})",)


def test_bod_18_01_match_without_a_readable_record_fails_unless_the_check_errored():
    profile = get_profile("bod-18-01")
    no_record = grade(passing_findings(profile), profile, CATEGORIES, dmarc_evidence(None))
    assert set(no_record.failed) == {"dmarc.policy", "dmarc.subdomain_policy", "dmarc.rua"}
    findings = [f if f.check != "dmarc.rua" else Finding(f.check, f.subject, Status.ERROR, "x")
                for f in passing_findings(profile)]
    servfail = grade(findings, profile, CATEGORIES,
                     dmarc_evidence(None, outcome=DnsOutcome.SERVFAIL))
    assert "dmarc.rua" in servfail.undetermined and "dmarc.rua" not in servfail.failed


@pytest.mark.parametrize(("record", "compliant"), [
    ("v=DMARC1; p=none", True),
    ("v=DMARC1; p=quarantine", True),
    ("v=DMARC1; p=bogus", False),
])
def test_bulk_sender_accepts_any_valid_dmarc_policy(record, compliant):
    profile = get_profile("bulk-sender-2024")
    verdict = grade(passing_findings(profile), profile, CATEGORIES, dmarc_evidence(record))
    assert verdict.compliant is compliant


def test_match_requirements_are_undetermined_without_evidence():
    profile = get_profile("bod-18-01")
    verdict = grade(passing_findings(profile), profile, CATEGORIES)
    assert verdict.failed == ()
    assert set(verdict.undetermined) == {"dmarc.policy", "dmarc.subdomain_policy", "dmarc.rua"}


@pytest.mark.parametrize(("record", "fact", "values"), [
    ("v=DMARC1; p=reject", "dmarc.pct", ("100",)),
    ("v=DMARC1; p=reject", "dmarc.sp", ("reject",)),
    ("v=DMARC1; p=none; sp=reject", "dmarc.policy", ("none",)),
    ("v=DMARC1; p=none", "dmarc.rua", ()),
    ("v=DMARC1; p=none; rua=mailto:a@x.test!5m, https://r.test/x", "dmarc.rua",
     ("mailto:a@x.test", "https://r.test/x")),
])
def test_facts(record, fact, values):
    assert fact_values(fact, dmarc_evidence(record)) == values


# ---- schema errors of the `match` extension
@pytest.mark.parametrize(("match", "reason"), [
    ('{ fact = "dmarc.nope", equals = "x" }', "fact must be one of"),
    ('{ fact = "dmarc.p" }', "needs exactly one of equals, one_of, contains"),
    ('{ fact = "dmarc.p", equals = "x", contains = "y" }', "needs exactly one of"),
    ('{ fact = "dmarc.p", one_of = "reject" }', "one_of must be a non-empty list of strings"),
    ('{ fact = "dmarc.p", equals = "" }', "equals must be a non-empty string"),
    ('"reject"', "match: must be a table"),
])
def test_match_is_validated_on_load(match, reason):
    from scanner.errors import UsageError

    text = f'name = "x"\n\n[[require]]\ncheck = "dmarc.policy"\nmatch = {match}\n'
    with pytest.raises(UsageError) as exc:
        parse_profile(text, "mine.toml", CHECK_IDS)
    assert str(exc.value).startswith("profile mine.toml: require #1: match: ")
    assert reason in str(exc.value)


def test_malformed_profile_exits_2_with_the_line_and_the_reason(run_cli, tmp_path):
    bad = tmp_path / "mine.toml"
    bad.write_text('name = "mine"\n[[require]]\ncheck = spf.present\nsource = "x"\n')
    proc = run_cli(["report", "latest", "--profile", bad, "--out", tmp_path / "out",
                    "--db", tmp_path / "none.sqlite"], timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"mxaudit: error: profile {bad}: line 3, column 9: Invalid value")
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


@pytest.mark.parametrize(("record", "level", "matched"), [
    ("v=DMARC1; p=quarantine; rua=mailto:reports@dmarc.cyber.dhs.gov", "fail", True),
    ("v=DMARC1; p=quarantine; rua=mailto:reports@dmarc.cyber.dhs.gov", "warn", True),
    (STRICT_DMARC, "fail", False),
])
def test_fail_on_counts_an_unmet_match_as_a_failure(record, level, matched):
    from scanner.verdict import fail_on_matches
    from scanner.result import DomainResult

    profile = get_profile("bod-18-01")
    ev = dmarc_evidence(record)
    findings = tuple(passing_findings(profile))
    result = DomainResult(ev, findings, grade(findings, profile, CATEGORIES, ev))
    assert fail_on_matches(result, profile, level) is matched
