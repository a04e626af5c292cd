"""The DNSSEC collect stage's own rules (the validator is tested in tests/dns/dnssec)."""
from __future__ import annotations

from contextlib import contextmanager

from scanner.collect.dnssec import _parse_tlsa, collect_dnssec, tlsa_record
from scanner.evidence import DnsOutcome, DnsResult, MxEvidence
from scanner.evidence.dnssec import Security
from tests.conftest import run_without_loop_errors


def test_tlsa_records_from_presentation_text():
    assert _parse_tlsa("3 1 1 0A0b" + "cc" * 30) == (3, 1, 1, bytes.fromhex("0a0b" + "cc" * 30))
    # dnspython splits long hex data into chunks: the chunks join
    assert _parse_tlsa("3 0 0 abcd ef01")[3] == bytes.fromhex("abcdef01")
    for junk in ("", "3 1", "x 1 1 ab", "3 1 1 zz"):
        assert _parse_tlsa(junk) is None


def test_full_data_records_keep_only_their_digest():
    data = b"\x30\x82" + bytes(500)
    rec = tlsa_record(3, 1, 0, data)
    assert rec.length == 502 and len(rec.data) == 64          # SHA-256, not 1 KB of hex
    assert tlsa_record(3, 1, 1, bytes(32)).data == "00" * 32


class _Broken:
    anchors = type("A", (), {"describe": staticmethod(lambda: ("test anchor",))})()

    @contextmanager
    def asking(self, via):
        yield

    async def validate(self, name, rdtype, **kw):
        raise KeyError("a bug")


def test_a_validator_bug_costs_only_the_dnssec_evidence():
    ctx = type("Ctx", (), {"validator": _Broken(), "budget": None})()
    mx = MxEvidence(DnsResult("example.test", "MX", DnsOutcome.OK, ("10 mx.example.test",)))
    ev = run_without_loop_errors(lambda: collect_dnssec(ctx, "example.test", mx))
    assert ev.domain.state is Security.INDETERMINATE and ev.domain.outcome is DnsOutcome.ERROR
    assert ev.domain.detail == "internal error in DNSSEC validation: KeyError: 'a bug'"
