"""The check registry: one registration per ID, crash isolation, finding stamping."""
from __future__ import annotations

import pytest

from scanner import registry
from scanner.evidence import DnsOutcome, DnsResult, DomainEvidence, MxEvidence, MxRecord
from scanner.findings import Status
from scanner.registry import DuplicateCheckError, Outcome, check, evaluate, run_check
from scanner.checks import all_checks

D = "example.test"
EXISTS = DomainEvidence(0, D, D, mx=MxEvidence(DnsResult(D, "MX", DnsOutcome.OK, ("0 .",)),
                                              (MxRecord(0, ""),)))


@pytest.fixture
def scratch_registry(monkeypatch):
    """A copy of the registry for the test: registrations do not leak into other tests."""
    all_checks()
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    return registry._REGISTRY


def test_duplicate_id_raises(scratch_registry):
    @check("test.once", title="t", category="info", reference="-")
    def first(ev):
        return []

    with pytest.raises(DuplicateCheckError, match="'test.once' registered twice"):
        @check("test.once", title="t", category="info", reference="-")
        def second(ev):
            return []
    assert scratch_registry["test.once"].fn is first


def test_reregistering_a_catalogue_id_raises(scratch_registry):
    with pytest.raises(DuplicateCheckError, match="'mx.present'"):
        check("mx.present", title="again", category="mx", reference="-")(lambda ev: [])


def test_bad_requires_rejected():
    with pytest.raises(ValueError):
        check("test.req", title="t", category="info", reference="-", requires="always")


def test_crashing_check_becomes_an_error_finding_of_that_check(scratch_registry):
    @check("test.crash", title="t", category="info", reference="-")
    def crash(ev):
        yield Outcome(Status.PASS, "half-way")
        raise KeyError("boom")

    found = [(f.check, f.subject, f.status) for f in evaluate(EXISTS) if f.check.startswith("test.")]
    assert found == [("test.crash", D, Status.ERROR)]
    (f,) = run_check(scratch_registry["test.crash"], EXISTS)
    assert f.message == "internal error in check: KeyError: 'boom'"
    # the other checks still ran
    assert ("mx.null", Status.INFO) in [(f.check, f.status) for f in evaluate(EXISTS)]


def test_outcomes_are_stamped(scratch_registry):
    @check("test.stamp", title="t", category="info", reference="-", remediation="fix it")
    def stamp(ev):
        yield Outcome(Status.FAIL, "bad", subject="host [1.2.3.4]")
        yield Outcome(Status.WARN, "meh")
        yield Outcome(Status.PASS, "good")
        yield Outcome(Status.FAIL, "own", remediation="own fix")

    got = [(f.check, f.subject, f.status, f.remediation)
           for f in run_check(scratch_registry["test.stamp"], EXISTS)]
    assert got == [("test.stamp", "host [1.2.3.4]", Status.FAIL, "fix it"),
                   ("test.stamp", D, Status.WARN, "fix it"),
                   ("test.stamp", D, Status.PASS, ""),
                   ("test.stamp", D, Status.FAIL, "own fix")]


def test_stamped_findings_are_taken_as_they_are(scratch_registry):
    """A check that makes its own findings (``stamp``, returned as ``Stamped``) gets them
    through unchanged, the same objects; a crash while making them is still isolated."""
    made = []

    @check("test.own", title="t", category="info", reference="-", remediation="fix it")
    def own(ev):
        spec = registry.spec_of("test.own")
        made[:] = [registry.stamp(spec, Outcome(Status.FAIL, "bad", "host [1.2.3.4]:25"), ""),
                   registry.stamp(spec, Outcome(Status.PASS, "good"), ev.domain)]
        return registry.Stamped(made)

    got = run_check(scratch_registry["test.own"], EXISTS)
    assert [(f.check, f.subject, f.status, f.remediation) for f in got] == [
        ("test.own", "host [1.2.3.4]:25", Status.FAIL, "fix it"),
        ("test.own", D, Status.PASS, "")]
    assert all(a is b for a, b in zip(got, made))

    @check("test.own_crash", title="t", category="info", reference="-")
    def own_crash(ev):
        return registry.Stamped([registry.stamp(registry.spec_of("test.nope"),
                                                Outcome(Status.PASS, "x"), "")])

    (f,) = run_check(scratch_registry["test.own_crash"], EXISTS)
    assert (f.status, f.message) == (Status.ERROR, "internal error in check: KeyError: 'test.nope'")


def test_input_checks_use_the_input_as_subject_for_junk():
    ev = DomainEvidence(0, "<b>junk</b>", "", "bad")
    assert [(f.check, f.subject) for f in evaluate(ev)] == [("domain.valid", "<b>junk</b>")]


def test_registration_order_is_catalogue_order():
    ids = list(all_checks())
    assert ids[:11] == ["domain.valid", "domain.exists", "dnssec.signed", "dnssec.mx_signed",
                        "mx.present", "mx.null", "mx.resolvable", "mx.cname", "mx.public_address",
                        "mx.ipv6", "mx.ptr"]
    # CHECKS.md lists DANE after TLS-RPT, at the end of its SMTP table
    at = ids.index("tls_rpt.record")
    assert ids[at + 1:at + 3] == ["dane.tlsa", "dane.rollover"]


def test_categories_are_known():
    assert {s.category for s in all_checks().values()} <= {"mx", "transport", "policy", "sender", "info"}
