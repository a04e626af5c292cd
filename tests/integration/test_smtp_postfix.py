"""Interop: the SMTP probe against a real Postfix (tests/peers/postfix.sh) on 127.0.2.25.

Postfix there: STARTTLS on 25 (no AUTH), 587 with TLS required and SASL PLAIN/LOGIN only
after STARTTLS, 465 implicit TLS, TLS 1.2+ only, certificate for mail.postfix.test issued
by the lab CA (which the probe trusts through ca_file).
"""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from scanner.collect.smtp import PROBE_DEADLINE_STEPS, collect_smtp
from scanner.collect.context import ScanContext
from scanner.evidence import (AddressEvidence, DnsOutcome, DnsResult, DomainEvidence,
                              MxEvidence, MxHostEvidence, MxRecord, PortSpec)
from scanner.findings import Status
from scanner.lab.ca import LabCA
from scanner.options import ScanOptions
from scanner.registry import _REGISTRY, run_check
from tests.peers.postfix import postfix_unavailable_reason, start_postfix

import scanner.checks.smtp  # noqa: F401

pytestmark = pytest.mark.postfix

P, I, S = Status.PASS, Status.INFO, Status.SKIPPED
TIMEOUT = 5.0


@pytest.fixture(scope="module")
def postfix(tmp_path_factory):
    ca = LabCA(tmp_path_factory.mktemp("postfix-ca"))
    issued = ca.issue(["mail.postfix.test"], key="ec256")
    peer = start_postfix(tmp_path_factory.mktemp("postfix"), issued.cert_path,
                         issued.key_path, ca.cert_path)
    if peer is None:
        pytest.skip(postfix_unavailable_reason() or "Postfix peer unavailable")
    try:
        yield peer, ca
    finally:
        peer.stop()


def _probe(peer, ca):
    probes, ev, _ = probe_peer(peer, ca)
    return probes, ev


def probe_peer(peer, ca, **options):
    """collect_smtp against the peer: (probes, evidence, the scan's context)."""
    mx = MxEvidence(
        lookup=DnsResult("postfix.test", "MX", DnsOutcome.OK),
        records=(MxRecord(10, peer.hostname),),
        hosts=(MxHostEvidence(peer.hostname, 10,
                              addresses=(AddressEvidence(peer.ip, 4, False, True),)),))
    ports = tuple(PortSpec(port, role) for role, port in peer.ports.items())

    async def main():
        ctx = ScanContext.create(ScanOptions(allow_private=True, ca_file=ca.cert_path,
                                             timeout=TIMEOUT, ports=ports,
                                             ehlo_name="scanner.mxaudit.test", **options))
        return await asyncio.wait_for(collect_smtp(ctx, mx), TIMEOUT * PROBE_DEADLINE_STEPS), ctx

    probes, ctx = asyncio.run(main())
    ev = DomainEvidence(position=0, input="postfix.test", domain="postfix.test",
                        scanned_at=datetime.now(timezone.utc).isoformat(), allow_private=True,
                        mx=mx, smtp=probes)
    return probes, ev, ctx


def expected_findings() -> dict[tuple[str, str], Status]:
    """(check, role) -> status of this Postfix (TLS 1.2+, AUTH after TLS, 530 to MAIL in clear)."""
    common = {"smtp.reachable": P, "smtp.tls_version": P, "smtp.legacy_tls": P,
              "smtp.weak_cipher": P, "smtp.cert_trusted": P, "smtp.cert_hostname": P,
              "smtp.cert_expiry": P, "smtp.cert_key": P, "smtp.auth_mechanisms": I}
    want = {
        "smtp": dict(common, **{"smtp.starttls": P, "smtp.implicit_tls": S,
                                "smtp.auth_before_tls": P, "smtp.submission_tls_required": S}),
        "submission": dict(common, **{"smtp.starttls": P, "smtp.implicit_tls": S,
                                      "smtp.auth_before_tls": P,
                                      "smtp.submission_tls_required": P}),
        "submissions": dict(common, **{"smtp.starttls": S, "smtp.implicit_tls": P,
                                       "smtp.auth_before_tls": S,
                                       "smtp.submission_tls_required": S}),
    }
    return {(c, r): s for r, row in want.items() for c, s in row.items()}


def test_postfix_exact_findings(postfix):
    peer, ca = postfix
    probes, ev = _probe(peer, ca)
    role_of = {port: role for role, port in peer.ports.items()}
    got = {(f.check, role_of[int(f.subject.rsplit(":", 1)[1])]): f.status
           for cid in _REGISTRY if cid.startswith("smtp.")
           for f in run_check(_REGISTRY[cid], ev)}
    want = expected_findings()
    assert got == want

    by_role = {p.role: p for p in probes}
    assert by_role["smtp"].auth_after_tls == () and by_role["smtp"].auth_before_tls == ()
    assert set(by_role["submission"].auth_after_tls) == {"PLAIN", "LOGIN"}
    assert by_role["submission"].auth_before_tls == ()
    assert by_role["submission"].mail_from_code == 530
    assert set(by_role["submissions"].auth_after_tls) == {"PLAIN", "LOGIN"}
    for p in probes:
        assert p.tls.version in ("TLSv1.2", "TLSv1.3") and p.tls.trusted is True
        assert p.greeting_code == 220 and (p.connections, p.tls_sessions) == (3, 3)
