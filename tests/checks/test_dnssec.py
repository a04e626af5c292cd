"""dnssec.signed and dnssec.mx_signed on hand-made evidence: every status."""
from __future__ import annotations

import pytest

from scanner.evidence import DnsOutcome
from scanner.evidence.dnssec import MxHostDnssec, Security
from scanner.findings import Status
from scanner.registry import _REGISTRY, run_check
from tests.checks.dnssec_ev import HOST, evidence, host_dnssec, validation

P, W, F, I, E, S = (Status.PASS, Status.WARN, Status.FAIL, Status.INFO, Status.ERROR,
                    Status.SKIPPED)


def found(cid, ev):
    return [(f.subject, f.status, f.message) for f in run_check(_REGISTRY[cid], ev)]


@pytest.mark.parametrize("state, status", [
    (Security.SECURE, P), (Security.INSECURE, W), (Security.BOGUS, F), (Security.INDETERMINATE, E)])
def test_dnssec_signed(state, status):
    ((subject, st, message),) = found("dnssec.signed", evidence(host_dnssec(), domain_state=state))
    assert (subject, st) == ("example.test", status)
    assert message.startswith(f"MX example.test: {state}" if state is Security.SECURE
                              else f"{state}: MX example.test")
    if state is Security.SECURE:
        assert ". 20326/8 > test. 1234/13 > example.test. 5678/13" in message


def test_dnssec_signed_remediation_names_the_fix():
    (bogus,) = run_check(_REGISTRY["dnssec.signed"], evidence(domain_state=Security.BOGUS))
    assert "DS record at the parent" in bogus.remediation
    (insecure,) = run_check(_REGISTRY["dnssec.signed"], evidence(domain_state=Security.INSECURE))
    assert "publish its DS" in insecure.remediation


def test_dnssec_signed_without_evidence_is_an_error_and_nxdomain_is_skipped():
    assert [s for _, s, _ in found("dnssec.signed", evidence(dnssec=False))] == [E]
    nx = evidence(domain_outcome=DnsOutcome.NXDOMAIN)
    assert [s for _, s, _ in found("dnssec.signed", nx)] == [S]


def test_the_resolvers_opinion_is_mentioned_never_trusted():
    from dataclasses import replace
    ev = evidence(domain_state=Security.BOGUS)
    d = replace(ev.dnssec, domain=replace(ev.dnssec.domain, resolver_ad=True))
    ((_, st, message),) = found("dnssec.signed", replace(ev, dnssec=d))
    assert st is F and "the resolver claimed it secure (AD)" in message


@pytest.mark.parametrize("state, status", [
    (Security.SECURE, P), (Security.INSECURE, W), (Security.BOGUS, F), (Security.INDETERMINATE, E)])
def test_dnssec_mx_signed(state, status):
    other = "mx2.example.test"
    ev = evidence(host_dnssec(HOST, state), host_dnssec(other))
    assert [(s, st) for s, st, _ in found("dnssec.mx_signed", ev)] == [(HOST, status), (other, P)]


def test_mx_signed_takes_the_worst_of_a_and_aaaa():
    h = MxHostDnssec(HOST, validation(HOST, "A"), validation(HOST, "AAAA", Security.BOGUS,
                                                             detail="AAAA mx1: RRSIG expired"))
    ((_, st, message),) = found("dnssec.mx_signed", evidence(h))
    assert st is F and "RRSIG expired" in message


def test_mx_signed_skips_null_mx_and_ip_literals():
    assert [s for _, s, _ in found("dnssec.mx_signed", evidence(null_mx=True))] == [S]
    literal = MxHostDnssec("[192.0.2.1]", tlsa_skipped="the exchange is an IP literal")
    assert [(h, s) for h, s, _ in found("dnssec.mx_signed", evidence(literal))] == [("[192.0.2.1]", S)]
    assert [s for _, s, _ in found("dnssec.mx_signed", evidence(dnssec=False))] == [E]


def test_dnssec_signed_speaks_when_the_resolver_refused_the_mx_answer():
    """A validating resolver answers SERVFAIL for a bogus domain: the other checks cannot
    run, dnssec.signed judges what came with CD set."""
    ev = evidence(domain_state=Security.BOGUS, domain_outcome=DnsOutcome.SERVFAIL)
    assert [s for _, s, _ in found("dnssec.signed", ev)] == [F]
    assert [s for _, s, _ in found("dnssec.mx_signed", ev)] == [E]
    assert [s for _, s, _ in found("domain.exists", ev)] == [E]
