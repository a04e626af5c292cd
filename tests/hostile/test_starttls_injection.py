"""STARTTLS command injection seen from the client (issue 14, item 6; CVE-2011-0411 class).

The lab's ``starttls_inject`` server answers STARTTLS with its 220 and, in the same write,
``250-injected.example`` / ``250 AUTH PLAIN LOGIN``, as a man in the middle would; after a
real handshake its honest EHLO offers no AUTH. Before issue 14 the probe read the injected
lines after TLS as the server's encrypted EHLO reply: ``auth_after_tls`` said PLAIN LOGIN,
a forged fact, and smtp.starttls passed."""
from __future__ import annotations

import pytest

from scanner.findings import Status
from tests.integration.test_smtp_lab import scan, world  # noqa: F401 (the module's lab world)

pytestmark = pytest.mark.lab


def test_injected_plaintext_is_discarded_recorded_and_reported(world):  # noqa: F811
    table, probes, _ = scan(world, "starttls_inject")
    for role in ("smtp", "submission"):
        probe = next(p for p in probes if p.role == role)
        assert probe.tls is not None and probe.tls.completed
        assert probe.auth_after_tls == ()                          # not the injected PLAIN LOGIN
        assert probe.extensions_tls == ("SIZE 1000000",)           # the real post-TLS EHLO
        assert probe.starttls_injection == "44 bytes: 250-injected.example | 250 AUTH PLAIN LOGIN"
        assert any("plaintext bytes after STARTTLS" in line for line in probe.transcript)
        assert table[role]["smtp.starttls"] is Status.FAIL
        assert table[role]["smtp.auth_mechanisms"] is Status.INFO


def test_starttls_finding_names_the_violation(world):  # noqa: F811
    from scanner.checks.smtp import starttls
    from scanner.evidence import DomainEvidence
    from tests.integration.test_smtp_lab import mx_of

    _, probes, host = scan(world, "starttls_inject", name="inject.example.test")
    ev = DomainEvidence(position=0, input="example.test", domain="example.test",
                        allow_private=True, mx=mx_of(("inject.example.test", host.ip)),
                        smtp=probes)
    messages = [o.message for o in starttls(ev) if o.status is Status.FAIL]
    assert len(messages) == 2
    assert all("before the TLS handshake" in m and "RFC 3207" in m and "CVE-2011-0411" in m
               for m in messages)
