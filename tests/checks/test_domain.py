"""domain.valid and domain.exists on hand-made evidence, and the shared preconditions."""
from __future__ import annotations

import pytest

from scanner.evidence import DnsOutcome, DnsResult, DomainEvidence, MxEvidence
from scanner.findings import Status
from scanner.registry import evaluate, run_check
from scanner.checks import all_checks

P, W, F, I, E, S = (Status.PASS, Status.WARN, Status.FAIL, Status.INFO, Status.ERROR,
                    Status.SKIPPED)
D = "example.test"


def ev_with_mx(outcome: DnsOutcome, **kw) -> DomainEvidence:
    records = ("0 .",) if outcome is DnsOutcome.OK else ()
    return DomainEvidence(0, D, D, mx=MxEvidence(DnsResult(D, "MX", outcome, records)), **kw)


def findings(check_id: str, ev: DomainEvidence) -> list[tuple[str, str, Status]]:
    return [(f.check, f.subject, f.status) for f in run_check(all_checks()[check_id], ev)]


@pytest.mark.parametrize("ev, expected", [
    (DomainEvidence(0, "Example.test", D), [("domain.valid", D, P)]),
    (DomainEvidence(3, "bad input!", "", invalid_reason="contains whitespace"),
     [("domain.valid", "bad input!", F)]),
    # an empty domain without a reason is not valid either
    (DomainEvidence(0, "x", ""), [("domain.valid", "x", F)]),
])
def test_domain_valid(ev, expected):
    assert findings("domain.valid", ev) == expected


def test_domain_valid_message_names_the_reason_and_the_a_label():
    bad = run_check(all_checks()["domain.valid"], DomainEvidence(0, "a b", "", "contains whitespace"))
    assert bad[0].message == "not a valid domain name: contains whitespace"
    idn = run_check(all_checks()["domain.valid"],
                    DomainEvidence(0, "Bücher.example", "xn--bcher-kva.example"))
    assert idn[0].message == "valid domain name (as xn--bcher-kva.example)"


@pytest.mark.parametrize("outcome, status", [
    (DnsOutcome.OK, P),
    (DnsOutcome.NODATA, P),
    (DnsOutcome.NXDOMAIN, F),
    (DnsOutcome.SERVFAIL, E),
    (DnsOutcome.REFUSED, E),
    (DnsOutcome.TIMEOUT, E),
    (DnsOutcome.ERROR, E),
])
def test_domain_exists_taxonomy(outcome, status):
    assert findings("domain.exists", ev_with_mx(outcome)) == [("domain.exists", D, status)]


def test_domain_exists_when_not_scanned():
    ev = DomainEvidence(0, D, D, error="domain deadline of 1s exceeded")
    got = run_check(all_checks()["domain.exists"], ev)
    assert [(f.check, f.status) for f in got] == [("domain.exists", E)]
    assert "deadline" in got[0].message


def test_invalid_domain_gets_only_domain_valid():
    ev = DomainEvidence(0, "junk!", "", "bad")
    assert [(f.check, f.status) for f in evaluate(ev)] == [("domain.valid", F)]


@pytest.mark.parametrize("outcome, exists, others", [
    (DnsOutcome.NXDOMAIN, F, S),
    (DnsOutcome.SERVFAIL, E, E),
    (DnsOutcome.REFUSED, E, E),
    (DnsOutcome.TIMEOUT, E, E),
    (DnsOutcome.ERROR, E, E),
])
def test_preconditions_of_the_other_checks(outcome, exists, others):
    """NXDOMAIN: everything else skipped; DNS failure: everything else `error`, never pass/fail."""
    got = {(f.check, f.status) for f in evaluate(ev_with_mx(outcome))}
    expected = {("domain.valid", P), ("domain.exists", exists)}
    expected |= {(cid, others) for cid in all_checks() if cid not in ("domain.valid", "domain.exists")}
    assert got == expected
