"""Interop: the SMTP probe meets a real 421 from a real MTA. Two more Postfix instances
(tests/peers/postfix.sh, beside the unlimited one of test_smtp_postfix.py) run with Postfix's
own client limits (anvil), loopback not exempted:

- 127.0.2.26: smtpd_client_connection_count_limit = 1. While a test holds one connection,
  every probe connection is greeted "421 4.7.0 ... Error: too many connections from ...":
  the address is throttled for everyone, the probes are redone after the pause, once the
  connection is released, and every finding is what the unlimited Postfix gives.
- 127.0.2.27: smtpd_client_connection_rate_limit = 1 per 60 s. Once the test has used the
  rate, every connection is refused for the rest of the window: the redone probes are
  refused again, so the endpoints are `error` quoting Postfix's reply - never `fail`.
"""
from __future__ import annotations

import socket
import threading

import pytest

from scanner.findings import Status
from scanner.lab.ca import LabCA
from scanner.registry import _REGISTRY, run_check
from tests.integration.test_smtp_postfix import expected_findings, probe_peer
from tests.peers.postfix import postfix_unavailable_reason, start_postfix

import scanner.checks.smtp  # noqa: F401

pytestmark = pytest.mark.postfix



def _peer(tmp_path_factory, ip: str, **limits):
    ca = LabCA(tmp_path_factory.mktemp(f"postfix-ca-{ip}"))
    issued = ca.issue(["mail.postfix.test"], key="ec256")
    peer = start_postfix(tmp_path_factory.mktemp(f"postfix-{ip}"), issued.cert_path,
                         issued.key_path, ca.cert_path, ip=ip, **limits)
    if peer is None:
        pytest.skip(postfix_unavailable_reason() or "Postfix peer unavailable")
    return peer, ca


@pytest.fixture(scope="module")
def count_limited(tmp_path_factory):
    peer, ca = _peer(tmp_path_factory, "127.0.2.26", count_limit=1)
    try:
        yield peer, ca
    finally:
        peer.stop()


@pytest.fixture(scope="module")
def rate_limited(tmp_path_factory):
    peer, ca = _peer(tmp_path_factory, "127.0.2.27", rate_limit=1, rate_unit="60s")
    try:
        yield peer, ca
    finally:
        peer.stop()


def _greeting(ip: str, port: int) -> tuple[socket.socket, str]:
    sock = socket.create_connection((ip, port), timeout=10)
    return sock, sock.recv(512).decode("ascii", "replace")


def _statuses(peer, ev) -> dict[tuple[str, str], Status]:
    role_of = {port: role for role, port in peer.ports.items()}
    return {(f.check, role_of[int(f.subject.rsplit(":", 1)[1])]): f.status
            for cid in _REGISTRY if cid.startswith("smtp.") for f in run_check(_REGISTRY[cid], ev)}


def test_a_real_421_is_waited_for_and_the_probe_then_passes(count_limited):
    peer, ca = count_limited
    held, greeting = _greeting(peer.ip, 25)          # the one connection Postfix allows
    assert greeting.startswith("220 ")
    release = threading.Timer(1.0, held.close)       # released while the probes back off
    release.start()
    try:
        probes, ev, ctx = probe_peer(peer, ca, retry_pause=3.0)
    finally:
        release.cancel()
        held.close()
    refused = [p for p in probes if p.transient]
    assert refused, "no probe met Postfix's 421"
    for p in refused:
        assert p.transient.startswith("greeting 421 4.7.0") and "too many connections" in p.transient
        assert p.retried_after is not None and p.failure is None
    assert _statuses(peer, ev) == expected_findings()   # as the unlimited Postfix
    (throttled,) = ctx.limiter.throttled()
    assert throttled.ip == peer.ip and throttled.refusals >= len(refused)
    assert ctx.limiter.peak_after_throttle(peer.ip) == 1


def test_a_rate_limited_postfix_is_error_quoting_its_421_never_fail(rate_limited):
    peer, ca = rate_limited
    for port in (25, 587):                            # use up the rate of each service
        sock, greeting = _greeting(peer.ip, port)
        assert greeting.startswith("220 ")
        sock.sendall(b"QUIT\r\n")
        sock.close()
    probes, ev, ctx = probe_peer(peer, ca, retry_pause=0.5)
    statuses = _statuses(peer, ev)
    assert Status.FAIL not in statuses.values()
    assert statuses[("smtp.reachable", "smtp")] is Status.ERROR
    assert statuses[("smtp.reachable", "submission")] is Status.ERROR
    for p in probes:
        if p.port in (25, 587):
            assert p.greeting_code == 421 and p.retried_after is not None
            assert "too many connections" in p.error
    assert ctx.limiter.throttled()[0].ip == peer.ip
