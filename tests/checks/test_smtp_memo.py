"""The smtp.* findings of an endpoint are made once per distinct probe (scanner/checks/
_probe_memo.py) and reused for every domain with an equal probe: what depends on the rest of
a domain's evidence (the scan time, DANE, the endpoints its network held back) must still
follow each domain, and a probe that differs in anything must be judged on its own."""
from __future__ import annotations

from dataclasses import replace

from scanner.checks import smtp
from scanner.checks._probe_memo import ProbeMemo
from scanner.evidence import DomainEvidence
from scanner.findings import Status
from scanner.registry import _REGISTRY, run_check
from scanner.serde import dumps, loads
from tests.checks import dnssec_ev
from tests.checks.test_smtp import SMTP_IDS, evidence, good

P, W, F, I, E, S = (Status.PASS, Status.WARN, Status.FAIL, Status.INFO, Status.ERROR,
                    Status.SKIPPED)


def findings(ev: DomainEvidence) -> dict[str, list]:
    return {cid: run_check(_REGISTRY[cid], ev) for cid in SMTP_IDS}


def test_an_equal_probe_decoded_again_gets_the_same_findings_objects():
    ev = evidence(good(), good(587, "submission"))
    again = loads(DomainEvidence, dumps(ev))          # what a stored scan re-graded holds
    assert again.smtp[0] is not ev.smtp[0] and again.smtp[0] == ev.smtp[0]
    first, second = findings(ev), findings(again)
    assert second == first
    for cid in SMTP_IDS:
        assert all(a is b for a, b in zip(first[cid], second[cid])), cid


def test_a_probe_that_differs_in_one_field_is_judged_on_its_own():
    base = good()
    other = replace(base, greeting="mx1 ESMTP ready")
    assert smtp._MEMO.of(other) is not smtp._MEMO.of(base)
    assert [f.message for f in run_check(_REGISTRY["smtp.reachable"], evidence(base))] == [
        "220 greeting: mx1 ESMTP"]
    assert [f.message for f in run_check(_REGISTRY["smtp.reachable"], evidence(other))] == [
        "220 greeting: mx1 ESMTP ready"]
    # a certificate one day shorter: the expiry check sees it on the same scan time
    leaf = replace(base.tls.chain[0], not_after="2026-06-10T00:00:00+00:00")
    short = replace(base, tls=replace(base.tls, chain=(leaf,)))
    (f,) = run_check(_REGISTRY["smtp.cert_expiry"], evidence(short))
    assert (f.status, f.message) == (W, "certificate expires in 8 days (2026-06-10T00:00:00+00:00)")


def test_cert_expiry_follows_each_domains_scan_time():
    probe = good()                                    # valid 2026-01-01 .. 2026-12-31
    at = {"2026-06-01T12:00:00+00:00": (P, "valid until 2026-12-31T00:00:00+00:00"),
          "2026-12-25T00:00:00+00:00": (W, "certificate expires in 6 days "
                                            "(2026-12-31T00:00:00+00:00)"),
          "2027-01-02T00:00:00+00:00": (F, "certificate expired on 2026-12-31T00:00:00+00:00"),
          "2025-12-01T00:00:00+00:00": (F, "certificate not valid before "
                                           "2026-01-01T00:00:00+00:00")}
    for _ in range(2):                                # the second round from the memo
        for when, expected in at.items():
            (f,) = run_check(_REGISTRY["smtp.cert_expiry"], evidence(probe, scanned_at=when))
            assert (f.status, f.message) == expected, when


def test_a_held_endpoint_is_judged_with_the_rest_of_its_domain():
    """The same IPv6 probe, not made by the scanner's network: skipped where the host was
    judged on another address, an error where it was not."""
    v6 = replace(good(), ip="2001:db8::1", connected=False, greeting_code=None, greeting="",
                 ehlo_code=None, tls=None, legacy=None, weak_cipher=None,
                 environment="env.ipv6", error="no IPv6 route")
    for _ in range(2):
        alone = run_check(_REGISTRY["smtp.reachable"], evidence(v6))
        assert [(f.status, f.message) for f in alone] == [
            (E, "no IPv6 route (env.ipv6); no address of mx1.example.test could be probed: "
                "not tested")]
        both = run_check(_REGISTRY["smtp.reachable"], evidence(good(connections=1), v6))
        assert [(f.status, f.message) for f in both][1] == (
            S, "no IPv6 route (env.ipv6); mx1.example.test is judged on the addresses that "
               "were probed")
        assert [f.status for f in run_check(_REGISTRY["smtp.starttls"], evidence(v6))] == [S]


def test_dane_follows_each_domain_not_the_probe():
    """One probe, judged for a domain whose DANE-EE record matches it (port 25's PKIX checks
    are info) and for one without DANE (they keep their verdicts), in both orders."""
    ders = dnssec_ev.chain_ders("elsewhere.example.test", expired=True)
    probe = dnssec_ev.probe(ders=ders)
    with_dane = dnssec_ev.evidence(dnssec_ev.host_dnssec(records=(dnssec_ev.tlsa(3, 1, 1, ders[0]),)),
                                   probes=(probe,))
    without = dnssec_ev.evidence(dnssec_ev.host_dnssec(), probes=(probe,))
    pkix = ("smtp.cert_trusted", "smtp.cert_hostname", "smtp.cert_expiry")
    for ev, expected in ((without, F), (with_dane, I), (without, F), (with_dane, I)):
        assert [run_check(_REGISTRY[cid], ev)[0].status for cid in pkix] == [expected] * 3


def test_null_mx_is_per_domain():
    probe = good()
    assert [f.status for f in run_check(_REGISTRY["smtp.starttls"], evidence(probe))] == [P]
    (f,) = run_check(_REGISTRY["smtp.starttls"], evidence(probe, null_mx=True))
    assert (f.subject, f.status) == ("example.test", S)


def test_the_memo_is_bounded_and_keyed_by_content():
    memo = ProbeMemo(limit=2, identity_limit=1)
    a, b, c = good(), good(587, "submission"), good(465, "submissions")
    ja = memo.of(a)
    assert memo.of(replace(a)) is ja                  # equal content, another object
    assert memo.of(b) is not ja
    memo.of(c)                                        # the third content: the memo starts over
    assert memo.of(replace(a)) is not ja
    assert len(memo._by_text) <= 2 and len(memo._by_id) <= 1
    # an object is held while remembered by identity, so its id cannot be reused meanwhile
    probe = replace(b)
    memo.of(probe)
    assert any(held is probe for held in memo._by_id.held())
