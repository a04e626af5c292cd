"""dane.tlsa, dane.rollover and the port-25 PKIX-to-info rule on hand-made evidence with
real certificates: every status, every TLSA usage x selector x matching type."""
from __future__ import annotations

import itertools

import pytest

from scanner.evidence import DnsOutcome
from scanner.evidence.dnssec import Security, TlsaRecord
from scanner.evidence.smtp import Failure, SmtpProbe
from scanner.findings import Status
from scanner.registry import _REGISTRY, run_check
from tests.checks.dnssec_ev import HOST, chain_ders, evidence, host_dnssec, probe, tlsa

P, W, F, I, E, S = (Status.PASS, Status.WARN, Status.FAIL, Status.INFO, Status.ERROR,
                    Status.SKIPPED)
LEAF, CA = chain_ders()


def found(cid, ev):
    return [(f.subject, f.status, f.message) for f in run_check(_REGISTRY[cid], ev)]


def status(cid, ev):
    return [st for _, st, _ in found(cid, ev)]


def secure(*records, probes=None, **kw):
    return evidence(host_dnssec(records=records, **kw),
                    probes=(probe(),) if probes is None else probes)


@pytest.mark.parametrize("usage, selector, mtype", list(itertools.product((0, 1, 2, 3), (0, 1), (0, 1, 2))))
def test_every_usage_selector_and_matching_type(usage, selector, mtype):
    der = LEAF if usage in (1, 3) else CA          # EE records name the leaf, TA the CA
    ((_, st, message),) = found("dane.tlsa", secure(tlsa(usage, selector, mtype, der)))
    if usage in (0, 1):
        assert st is F and "unusable for SMTP (RFC 7672 3.1.3)" in message
    else:
        assert st is P, message
        assert ("the leaf" if usage == 3 else "certificate 1 (trust anchor)") in message


@pytest.mark.parametrize("usage, selector, mtype", list(itertools.product((2, 3), (0, 1), (0, 1, 2))))
def test_a_record_for_another_key_does_not_match(usage, selector, mtype):
    other_leaf, other_ca = chain_ders("other.example.test")
    rec = tlsa(usage, selector, mtype, other_leaf if usage == 3 else other_ca)
    ((_, st, message),) = found("dane.tlsa", secure(rec))
    assert st is F and "does not match the server at 192.0.2.1" in message


def test_dane_tlsa_pass_needs_a_match_at_every_address():
    rec = tlsa(3, 1, 1, LEAF)
    other = chain_ders("mx1.example.test", expired=True)       # another key at .2
    ev = secure(rec, probes=(probe("192.0.2.1"), probe("192.0.2.2", ders=other)))
    ((_, st, message),) = found("dane.tlsa", ev)
    assert st is F and "192.0.2.2" in message and "192.0.2.1:" not in message
    ev = secure(rec, probes=(probe("192.0.2.1"), probe("192.0.2.2")))
    assert status("dane.tlsa", ev) == [P]


def test_dane_ta_checks_the_leaf_names():
    """RFC 7672 3.2.2: under DANE-TA the leaf must name the TLSA base domain or the MX host."""
    wrong = chain_ders("elsewhere.example.test")
    ((_, st, message),) = found("dane.tlsa", secure(tlsa(2, 0, 1, wrong[1]), probes=(probe(ders=wrong),)))
    assert st is F and "leaf names (elsewhere.example.test) match neither" in message
    # DANE-EE does not look at names at all
    assert status("dane.tlsa", secure(tlsa(3, 1, 1, wrong[0]), probes=(probe(ders=wrong),))) == [P]


def test_dane_ta_accepts_the_cname_expanded_base_domain():
    target = "mx.provider.test"
    ders = chain_ders(target)
    ev = evidence(host_dnssec(records=(tlsa(2, 1, 1, ders[1]),), tlsa_name=f"_25._tcp.{target}"),
                  probes=(probe(ders=ders),))
    assert status("dane.tlsa", ev) == [P]


def test_dane_ta_needs_the_chain_below_it_to_be_signed():
    other_leaf, _ = chain_ders("mx1.example.test", expired=True)   # issued by another CA
    ev = secure(tlsa(2, 0, 1, CA), probes=(probe(ders=(other_leaf, CA)),))
    ((_, st, message),) = found("dane.tlsa", ev)
    assert st is F and "not issued by it" in message


@pytest.mark.parametrize("rec, why", [
    (TlsaRecord(3, 1, 1, "ab" * 16, 16), "SHA2-256 digest of 16 bytes"),
    (TlsaRecord(3, 2, 1, "ab" * 32, 32), "unknown selector 2"),
    (TlsaRecord(3, 1, 3, "ab" * 32, 32), "unknown matching type 3"),
    (TlsaRecord(4, 1, 1, "ab" * 32, 32), "unknown usage 4"),
])
def test_malformed_records_are_unusable(rec, why):
    ((_, st, message),) = found("dane.tlsa", secure(rec))
    assert st is F and why in message


def test_unusable_records_remediation_gives_the_record_to_publish():
    (f,) = run_check(_REGISTRY["dane.tlsa"], secure(tlsa(1, 1, 1, LEAF)))
    want = tlsa(3, 1, 1, LEAF).data
    assert f"_25._tcp.{HOST}. IN TLSA 3 1 1 {want}" in f.remediation


def test_no_match_remediation_gives_the_record_for_the_presented_key():
    other_leaf, _ = chain_ders("other.example.test")
    (f,) = run_check(_REGISTRY["dane.tlsa"], secure(tlsa(3, 1, 1, other_leaf)))
    assert f"IN TLSA 3 1 1 {tlsa(3, 1, 1, LEAF).data}" in f.remediation


@pytest.mark.parametrize("kw, expected, words", [
    (dict(records=(), state=Security.SECURE), I, "securely denied"),
    (dict(records=(), state=Security.INSECURE), I, "not DNSSEC-signed"),
    (dict(records=(tlsa(3, 1, 1, LEAF),), state=Security.INSECURE), W, "sending servers ignore them"),
    (dict(records=(tlsa(3, 1, 1, LEAF),), tlsa_state=Security.INSECURE), W, "the TLSA RRset is"),
    (dict(records=(tlsa(3, 1, 1, LEAF),), tlsa_state=Security.BOGUS), F, "TLSA answer"),
    (dict(state=Security.BOGUS), F, "bogus, so DANE cannot apply"),
    (dict(records=(), tlsa_state=Security.INDETERMINATE, tlsa_outcome=DnsOutcome.SERVFAIL), E,
     "could not determine the TLSA"),
    (dict(state=Security.INDETERMINATE), E, "indeterminate"),
])
def test_dane_tlsa_states(kw, expected, words):
    ((_, st, message),) = found("dane.tlsa", evidence(host_dnssec(**kw), probes=(probe(),)))
    assert st is expected and words in message


def test_ip_literal_exchanges_are_skipped():
    from scanner.evidence.dnssec import MxHostDnssec
    literal = MxHostDnssec("[192.0.2.1]", tlsa_skipped="the exchange is an IP literal")
    assert found("dane.tlsa", evidence(literal)) == [("[192.0.2.1]", S, "no TLSA lookup: the exchange is an IP literal")]
    assert status("dane.rollover", evidence(literal)) == [S]


def test_dane_tlsa_skipped_without_port_25_or_starttls():
    rec = tlsa(3, 1, 1, LEAF)
    assert status("dane.tlsa", secure(rec, probes=())) == [S]
    assert status("dane.tlsa", secure(rec, probes=(probe(port=587, role="submission"),))) == [S]
    assert status("dane.tlsa", secure(rec, probes=(probe(tls=False),))) == [S]
    assert status("dane.tlsa", evidence(null_mx=True)) == [S]
    assert status("dane.tlsa", evidence(dnssec=False)) == [E]


@pytest.mark.parametrize("records, expected, words", [
    ((tlsa(3, 1, 1, LEAF), tlsa(3, 1, 1, CA)), P, "for 2 different keys"),            # next key published
    ((tlsa(3, 1, 1, LEAF), tlsa(2, 0, 1, CA)), P, "for 2 different keys"),            # EE + TA
    ((tlsa(3, 1, 1, LEAF),), W, "a single usable TLSA record"),
    ((tlsa(3, 1, 1, LEAF), tlsa(3, 0, 1, LEAF)), W, "all for the same key"),          # one key, twice
    ((tlsa(3, 1, 1, LEAF), tlsa(1, 1, 1, LEAF)), W, "a single usable TLSA record"),   # PKIX-EE unusable
])
def test_dane_rollover(records, expected, words):
    ((_, st, message),) = found("dane.rollover", secure(*records))
    assert st is expected and words in message


def test_dane_rollover_skipped_without_dane():
    assert status("dane.rollover", secure()) == [S]
    insecure = evidence(host_dnssec(records=(tlsa(3, 1, 1, LEAF),), state=Security.INSECURE))
    assert status("dane.rollover", insecure) == [S]


# ------------------------------------------------------------------ the PKIX-to-info rule

PKIX = ("smtp.cert_trusted", "smtp.cert_hostname", "smtp.cert_expiry")


def pkix(ev):
    return {cid: status(cid, ev) for cid in PKIX}


def test_dane_ee_match_makes_port_25_pkix_info():
    """An expired, untrusted certificate for another name: PKIX fails, DANE-EE authenticates."""
    ders = chain_ders("elsewhere.example.test", expired=True)
    probes = (probe(ders=ders), probe(port=587, role="submission", ders=ders))
    ev = secure(tlsa(3, 1, 1, ders[0]), probes=probes)
    assert status("dane.tlsa", ev) == [P]
    assert pkix(ev) == {cid: [I, F] for cid in PKIX}    # 25 info, 587 keeps its verdicts
    without = secure(probes=probes)
    assert pkix(without) == {cid: [F, F] for cid in PKIX}
    (info,) = [f for f in run_check(_REGISTRY["smtp.cert_trusted"], ev) if f.status is I]
    assert info.message.startswith("DANE authenticates this server (dane.tlsa, RFC 7672 3.1.1)")


def test_dane_ta_match_makes_only_trust_info():
    """Under DANE-TA names and dates still matter (RFC 7672 3.1.2)."""
    ders = chain_ders(HOST, expired=True)
    ev = secure(tlsa(2, 1, 1, ders[1]), probes=(probe(ders=ders),))
    assert status("dane.tlsa", ev) == [P]
    assert pkix(ev) == {"smtp.cert_trusted": [I], "smtp.cert_hostname": [P], "smtp.cert_expiry": [F]}


def test_failing_dane_leaves_pkix_alone():
    other_leaf, _ = chain_ders("other.example.test")
    ev = secure(tlsa(3, 1, 1, other_leaf))
    assert status("dane.tlsa", ev) == [F]
    assert pkix(ev)["smtp.cert_trusted"] == [F]


# ------------------------------------------------------------------ the scan's own network

def held(ip: str, note: str) -> SmtpProbe:
    """A port-25 endpoint this host's network kept from being probed (scanner/collect/
    environment.py not_probed): no connection, the note ID in ``environment``."""
    why = {"env.port25": "not probed: outbound port 25 looks filtered from this host (--no-port25 given)",
           "env.ipv6": "not probed: this host has no route to IPv6 addresses like this one"}[note]
    return SmtpProbe(HOST, ip, 25, "smtp", environment=note, error=why,
                     transcript=(f"*: {why} ({note})",))


def test_port_25_filtered_here_is_not_tested_never_a_dane_failure():
    """Secure TLSA for another key, but port 25 was never reached from this host: nothing
    was matched, so dane.tlsa says not tested (skipped, naming env.port25), not fail."""
    other_leaf, _ = chain_ders("other.example.test")
    ev = secure(tlsa(3, 1, 1, other_leaf), probes=(held("192.0.2.1", "env.port25"),))
    ((_, st, message),) = found("dane.tlsa", ev)
    assert st is S and "env.port25" in message and "not tested" in message
    assert status("dane.rollover", ev) == [W]         # judged on the records alone
    # smtp.reachable says error (could not be tested), the PKIX checks skip it: never info
    assert status("smtp.reachable", ev) == [E]
    assert pkix(ev) == {cid: [S] for cid in PKIX}


def test_a_timed_out_port_25_put_down_to_the_filter_is_not_tested():
    """A port-25 connection that timed out before the filter was found, explained by it at
    the domain's end (environment set, one connection attempted)."""
    timed_out = SmtpProbe(HOST, "192.0.2.1", 25, "smtp", connections=1, failure=Failure.TIMEOUT,
                          error="connect timed out", environment="env.port25")
    ev = secure(tlsa(3, 1, 1, LEAF), probes=(timed_out,))
    ((_, st, message),) = found("dane.tlsa", ev)
    assert st is S and "env.port25" in message
    assert status("smtp.reachable", ev) == [E]
    assert pkix(ev) == {cid: [S] for cid in PKIX}


def test_dane_passes_on_the_probed_address_and_names_the_unprobed_one():
    """IPv4 matched; the IPv6 address had no route from this host (env.ipv6): DANE passes
    on what was tested, port 25's PKIX checks are info there and skipped on the IPv6 one."""
    ev = secure(tlsa(3, 1, 1, LEAF), probes=(probe("192.0.2.1"), held("2001:db8::1", "env.ipv6")))
    ((_, st, message),) = found("dane.tlsa", ev)
    assert st is P and "1 address(es) had no TLS session: env.ipv6" in message
    assert pkix(ev) == {cid: [I, S] for cid in PKIX}
