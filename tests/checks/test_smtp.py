"""smtp.* checks on hand-made evidence: exact (check, subject, status) per scenario."""
from __future__ import annotations

from dataclasses import replace

import pytest

from scanner.evidence import DnsOutcome, DnsResult, DomainEvidence, MxEvidence, MxRecord
from scanner.evidence.smtp import (Attempt, CertificateFacts, Failure, HandshakeAttempt,
                                   SmtpProbe, TlsFacts)
from scanner.findings import Status
from scanner.registry import CheckSpec, run_check

import scanner.checks.smtp  # noqa: F401  (registers the smtp checks)
from scanner.registry import _REGISTRY

SMTP_IDS = [
    "smtp.reachable", "smtp.starttls", "smtp.implicit_tls", "smtp.tls_version",
    "smtp.legacy_tls", "smtp.weak_cipher", "smtp.cert_trusted", "smtp.cert_hostname",
    "smtp.cert_expiry", "smtp.cert_key", "smtp.auth_before_tls", "smtp.auth_mechanisms",
    "smtp.submission_tls_required",
]
P, W, F, I, E, S = (Status.PASS, Status.WARN, Status.FAIL, Status.INFO, Status.ERROR,
                    Status.SKIPPED)
HOST = "mx1.example.test"
SCANNED = "2026-06-01T12:00:00+00:00"

LEAF = CertificateFacts(
    subject="CN=mx1.example.test", issuer="CN=lab CA,O=lab", dns_names=(HOST,),
    common_name=HOST, not_before="2026-01-01T00:00:00+00:00",
    not_after="2026-12-31T00:00:00+00:00", key_type="EC", key_bits=256,
    signature_algorithm="ecdsa-with-SHA256", sha256="ab" * 32)
GOOD_TLS = TlsFacts(completed=True, version="TLSv1.3", cipher="TLS_AES_256_GCM_SHA384",
                    chain=(LEAF,), trusted=True)
REFUSED_LEGACY = HandshakeAttempt(Attempt.REFUSED, offered="TLS 1.0-1.1", detail="alert")
REFUSED_WEAK = HandshakeAttempt(Attempt.REFUSED, offered="RC4, 3DES, NULL, EXPORT suites")
GREETED = dict(connected=True, greeting_code=220, greeting="mx1 ESMTP", ehlo_code=250)


def good(port=25, role="smtp", **kw) -> SmtpProbe:
    base = SmtpProbe(HOST, "192.0.2.1", port, role, **GREETED,
                     extensions=("PIPELINING", "STARTTLS") if role != "submissions" else (),
                     starttls_code=220 if role != "submissions" else None,
                     tls=GOOD_TLS, extensions_tls=("AUTH PLAIN LOGIN",),
                     auth_after_tls=("PLAIN", "LOGIN"),
                     mail_from_code=530 if role == "submission" else None,
                     legacy=REFUSED_LEGACY, weak_cipher=REFUSED_WEAK)
    return replace(base, **kw)


def evidence(*probes: SmtpProbe, null_mx=False, scanned_at=SCANNED) -> DomainEvidence:
    records = (MxRecord(0, ""),) if null_mx else (MxRecord(10, HOST),)
    mx = MxEvidence(lookup=DnsResult("example.test", "MX", DnsOutcome.OK, ("10 " + HOST,)),
                    records=records)
    return DomainEvidence(position=0, input="example.test", domain="example.test",
                          scanned_at=scanned_at, mx=mx, smtp=probes)


def statuses(ev: DomainEvidence, ids=SMTP_IDS) -> dict[str, list[Status]]:
    return {cid: [f.status for f in run_check(_REGISTRY[cid], ev)] for cid in ids}


def one(ev: DomainEvidence) -> dict[str, Status]:
    """Check -> status for a single-endpoint evidence."""
    out = {}
    for cid, sts in statuses(ev).items():
        assert len(sts) == 1, (cid, sts)
        out[cid] = sts[0]
    return out


def test_registered_in_catalogue_order_with_transport_category():
    ids = [k for k in _REGISTRY if k.startswith("smtp.")]
    assert ids == SMTP_IDS
    for cid in SMTP_IDS:
        spec: CheckSpec = _REGISTRY[cid]
        assert spec.category == "transport" and spec.reference and spec.remediation


def test_good_port25():
    assert one(evidence(good())) == {
        "smtp.reachable": P, "smtp.starttls": P, "smtp.implicit_tls": S,
        "smtp.tls_version": P, "smtp.legacy_tls": P, "smtp.weak_cipher": P,
        "smtp.cert_trusted": P, "smtp.cert_hostname": P, "smtp.cert_expiry": P,
        "smtp.cert_key": P, "smtp.auth_before_tls": P, "smtp.auth_mechanisms": I,
        "smtp.submission_tls_required": S}


def test_good_submission_and_submissions():
    assert one(evidence(good(587, "submission")))["smtp.submission_tls_required"] == P
    sub = one(evidence(good(465, "submissions")))
    assert sub == {
        "smtp.reachable": P, "smtp.starttls": S, "smtp.implicit_tls": P,
        "smtp.tls_version": P, "smtp.legacy_tls": P, "smtp.weak_cipher": P,
        "smtp.cert_trusted": P, "smtp.cert_hostname": P, "smtp.cert_expiry": P,
        "smtp.cert_key": P, "smtp.auth_before_tls": S, "smtp.auth_mechanisms": I,
        "smtp.submission_tls_required": S}


def test_subjects_are_endpoints():
    ev = evidence(good(), good(587, "submission"))
    findings = run_check(_REGISTRY["smtp.reachable"], ev)
    assert [f.subject for f in findings] == [f"{HOST} [192.0.2.1]:25", f"{HOST} [192.0.2.1]:587"]


def test_null_mx_one_skipped_per_check():
    ev = evidence(null_mx=True)
    for cid in SMTP_IDS:
        findings = run_check(_REGISTRY[cid], ev)
        assert [(f.check, f.subject, f.status) for f in findings] == [(cid, "example.test", S)]


def test_no_probes_no_findings():
    """Private addresses that were not probed have no SmtpProbe: nothing is reported."""
    assert statuses(evidence()) == {cid: [] for cid in SMTP_IDS}


UNREACHED = {cid: S for cid in SMTP_IDS}


@pytest.mark.parametrize("probe, reach", [
    (SmtpProbe(HOST, "192.0.2.1", 25, "smtp", failure=Failure.REFUSED), F),
    (SmtpProbe(HOST, "192.0.2.1", 25, "smtp", failure=Failure.TIMEOUT, error="connect"), E),
    (SmtpProbe(HOST, "192.0.2.1", 25, "smtp", connected=True, failure=Failure.TIMEOUT), E),
    (SmtpProbe(HOST, "192.0.2.1", 25, "smtp", connected=True, failure=Failure.RESET), E),
    (SmtpProbe(HOST, "192.0.2.1", 25, "smtp", connected=True, failure=Failure.BAD_GREETING,
               greeting_code=554, greeting="go away"), F),
    (SmtpProbe(HOST, "192.0.2.1", 25, "smtp", connected=True, failure=Failure.PROTOCOL,
               error="line longer than 4096 bytes"), E),
])
def test_unreachable_endpoints(probe, reach):
    expected = dict(UNREACHED, **{"smtp.reachable": reach, "smtp.implicit_tls": S})
    assert one(evidence(probe)) == expected


def test_no_starttls():
    p = good(extensions=("PIPELINING",), starttls_code=None, tls=None, extensions_tls=(),
             auth_after_tls=(), legacy=None, weak_cipher=None)
    r = one(evidence(p))
    assert r["smtp.starttls"] == F
    for cid in ("smtp.tls_version", "smtp.legacy_tls", "smtp.weak_cipher", "smtp.cert_trusted",
                "smtp.cert_hostname", "smtp.cert_expiry", "smtp.cert_key"):
        assert r[cid] == S, cid
    assert r["smtp.auth_mechanisms"] == I and r["smtp.auth_before_tls"] == P


def test_helo_fallback_fails_starttls():
    p = good(used_helo=True, extensions=(), starttls_code=None, tls=None, legacy=None,
             weak_cipher=None)
    assert one(evidence(p))["smtp.starttls"] == F


def test_starttls_454():
    p = good(starttls_code=454, tls=None, legacy=None, weak_cipher=None, auth_after_tls=())
    r = one(evidence(p))
    assert (r["smtp.starttls"], r["smtp.tls_version"], r["smtp.cert_trusted"]) == (F, S, S)


def test_session_died_before_ehlo_is_error():
    p = good(ehlo_code=None, extensions=(), starttls_code=None, tls=None, legacy=None,
             weak_cipher=None, failure=Failure.PROTOCOL, error="reply larger than 65536 bytes")
    r = one(evidence(p))
    assert (r["smtp.reachable"], r["smtp.starttls"], r["smtp.auth_before_tls"],
            r["smtp.tls_version"]) == (P, E, E, E)


def test_handshake_failure_and_timeout():
    failed = TlsFacts(completed=False, failure=Failure.TLS, error="EOF during handshake")
    p = good(tls=failed, legacy=REFUSED_LEGACY, weak_cipher=REFUSED_WEAK)
    r = one(evidence(p))
    assert (r["smtp.starttls"], r["smtp.tls_version"], r["smtp.cert_trusted"]) == (F, S, S)
    timed = replace(failed, failure=Failure.TIMEOUT)
    assert one(evidence(good(tls=timed)))["smtp.starttls"] == E


def test_tls10_only_server():
    failed = TlsFacts(completed=False, failure=Failure.TLS, error="unsupported protocol")
    legacy = HandshakeAttempt(Attempt.ACCEPTED, version="TLSv1", cipher="ECDHE-ECDSA-AES128-SHA",
                              chain=(LEAF,), trusted=True)
    r = one(evidence(good(tls=failed, legacy=legacy)))
    assert (r["smtp.starttls"], r["smtp.tls_version"], r["smtp.legacy_tls"],
            r["smtp.cert_trusted"], r["smtp.cert_hostname"]) == (P, F, W, P, P)
    r465 = one(evidence(good(465, "submissions", tls=failed, legacy=legacy,
                             greeting_code=None, greeting="", ehlo_code=None,
                             failure=Failure.TLS)))
    assert (r465["smtp.reachable"], r465["smtp.implicit_tls"], r465["smtp.tls_version"],
            r465["smtp.legacy_tls"]) == (E, P, F, W)
    greeted = replace(legacy, greeting_code=220)   # the greeting read over the TLS 1.0 session
    r465 = one(evidence(good(465, "submissions", tls=failed, legacy=greeted,
                             greeting_code=None, greeting="", ehlo_code=None,
                             failure=Failure.TLS)))
    assert (r465["smtp.reachable"], r465["smtp.implicit_tls"]) == (P, P)


def test_legacy_and_weak_outcomes():
    accepts = HandshakeAttempt(Attempt.ACCEPTED, version="TLSv1.1", cipher="AES128-SHA")
    assert one(evidence(good(legacy=accepts)))["smtp.legacy_tls"] == W
    err = HandshakeAttempt(Attempt.ERROR, detail="timeout")
    assert one(evidence(good(legacy=err, weak_cipher=err)))["smtp.legacy_tls"] == E
    assert one(evidence(good(weak_cipher=err)))["smtp.weak_cipher"] == E
    weak = HandshakeAttempt(Attempt.ACCEPTED, version="TLSv1.2", cipher="DES-CBC3-SHA")
    assert one(evidence(good(weak_cipher=weak)))["smtp.weak_cipher"] == F
    untestable = HandshakeAttempt(Attempt.NOT_TESTED,
                                  detail="not testable with the local TLS library")
    assert one(evidence(good(weak_cipher=untestable)))["smtp.weak_cipher"] == E


@pytest.mark.parametrize("leaf_kw, trusted, expect", [
    ({}, False, {"smtp.cert_trusted": F, "smtp.cert_hostname": P}),
    ({"self_issued": True, "issuer": LEAF.subject}, False, {"smtp.cert_trusted": F}),
    ({}, None, {"smtp.cert_trusted": E}),
    ({"dns_names": ("other.example.test",)}, True, {"smtp.cert_hostname": F}),
    ({"dns_names": ("*.example.test",)}, True, {"smtp.cert_hostname": P}),
    ({"dns_names": ("*.test",)}, True, {"smtp.cert_hostname": F}),
    ({"dns_names": (), "common_name": HOST}, True, {"smtp.cert_hostname": P}),
    ({"dns_names": ("other.test",), "common_name": HOST}, True, {"smtp.cert_hostname": F}),
    ({"not_after": "2026-05-01T00:00:00+00:00"}, True, {"smtp.cert_expiry": F}),
    ({"not_before": "2026-07-01T00:00:00+00:00"}, True, {"smtp.cert_expiry": F}),
    ({"not_after": "2026-06-10T00:00:00+00:00"}, True, {"smtp.cert_expiry": W}),
    ({"not_after": "2026-06-16T00:00:00+00:00"}, True, {"smtp.cert_expiry": P}),
    ({"key_type": "RSA", "key_bits": 1024}, True, {"smtp.cert_key": F}),
    ({"key_type": "RSA", "key_bits": 2048}, True, {"smtp.cert_key": P}),
    ({"key_type": "EC", "key_bits": 224}, True, {"smtp.cert_key": F}),
    ({"key_type": "Ed25519", "key_bits": 256}, True, {"smtp.cert_key": P}),
])
def test_certificate_checks(leaf_kw, trusted, expect):
    tls = replace(GOOD_TLS, chain=(replace(LEAF, **leaf_kw),), trusted=trusted,
                  trust_error="" if trusted else "unable to get local issuer")
    r = one(evidence(good(tls=tls)))
    assert {k: r[k] for k in expect} == expect


def test_expired_intermediate_fails_and_root_is_ignored():
    inter = replace(LEAF, subject="CN=inter", not_after="2026-03-01T00:00:00+00:00")
    root = replace(LEAF, subject="CN=root", self_issued=True, not_after="2000-01-01T00:00:00")
    assert one(evidence(good(tls=replace(GOOD_TLS, chain=(LEAF, root)))))["smtp.cert_expiry"] == P
    assert one(evidence(good(tls=replace(GOOD_TLS, chain=(LEAF, inter)))))["smtp.cert_expiry"] == F


def test_expiry_uses_scan_time_only():
    assert one(evidence(good(), scanned_at=""))["smtp.cert_expiry"] == E
    assert one(evidence(good(), scanned_at="2027-01-05T00:00:00Z"))["smtp.cert_expiry"] == F


def test_no_certificate_presented_is_error():
    r = one(evidence(good(tls=replace(GOOD_TLS, chain=()))))
    assert r["smtp.cert_trusted"] == E and r["smtp.cert_key"] == E


@pytest.mark.parametrize("before, expect", [
    ((), P), (("PLAIN", "LOGIN"), F), (("LOGIN",), F), (("CRAM-MD5",), W),
    (("SCRAM-SHA-256", "PLAIN"), F),
])
def test_auth_before_tls(before, expect):
    assert one(evidence(good(auth_before_tls=before)))["smtp.auth_before_tls"] == expect


@pytest.mark.parametrize("before, after, expect", [
    ((), ("PLAIN", "LOGIN"), I), ((), (), I), (("CRAM-MD5",), ("CRAM-MD5", "DIGEST-MD5"), W),
    ((), ("CRAM-MD5", "PLAIN"), I),
])
def test_auth_mechanisms(before, after, expect):
    p = good(auth_before_tls=before, auth_after_tls=after)
    assert one(evidence(p))["smtp.auth_mechanisms"] == expect


def test_auth_mechanisms_message_lists_both():
    p = good(auth_before_tls=("PLAIN",), auth_after_tls=("PLAIN", "LOGIN"))
    [f] = run_check(_REGISTRY["smtp.auth_mechanisms"], evidence(p))
    assert f.message == "AUTH after TLS: PLAIN LOGIN; before TLS: PLAIN"


@pytest.mark.parametrize("code, expect", [(530, P), (550, P), (250, F), (451, E), (None, E)])
def test_submission_tls_required(code, expect):
    p = good(587, "submission", mail_from_code=code)
    assert one(evidence(p))["smtp.submission_tls_required"] == expect


def test_failures_carry_remediation_and_passes_do_not():
    p = good(auth_before_tls=("PLAIN",))
    [f] = run_check(_REGISTRY["smtp.auth_before_tls"], evidence(p))
    assert f.status is F and f.remediation
    [f] = run_check(_REGISTRY["smtp.reachable"], evidence(p))
    assert f.status is P and f.remediation == ""


def test_evidence_round_trips_through_serde():
    from scanner.serde import from_jsonable, to_jsonable
    import json
    p = good(tls=replace(GOOD_TLS, failure=None), legacy=REFUSED_LEGACY,
             transcript=("S: 220 hi", "C: EHLO x"), failure=Failure.TIMEOUT)
    data = json.loads(json.dumps(to_jsonable(p)))
    assert from_jsonable(SmtpProbe, data) == p
