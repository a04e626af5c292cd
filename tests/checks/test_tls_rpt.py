"""tls_rpt.record on hand-made evidence."""
from __future__ import annotations

import pytest

from scanner.evidence.records import RecordsEvidence
from tests.checks.records_ev import D, E, F, P, W, ev, fail_res, res, statuses


@pytest.mark.parametrize("records,expected", [
    (("v=TLSRPTv1; rua=mailto:tls@example.test",), P),
    (("v=TLSRPTv1; rua=mailto:tls@example.test,https://r.example.test/v1",), P),
    ((), W),
    (("unrelated",), W),
    (("v=TLSRPTv1; rua=mailto:a@example.test", "v=TLSRPTv1; rua=mailto:b@example.test"), F),
    (("v=TLSRPTv1",), F),
    (("v=TLSRPTv1; rua=ftp://x.example.test",), F),
    (("v=TLSRPTv1; rua=",), F),
    (("v=TLSRPTv1; rua=mailto:a@example.test; rua=mailto:b@example.test",), F),
])
def test_tls_rpt_record(records, expected):
    result = res(f"_smtp._tls.{D}", "TXT", *records)
    assert statuses("tls_rpt.record", ev(tls_rpt=result)) == [expected]


def test_tls_rpt_errors():
    assert statuses("tls_rpt.record", ev(tls_rpt=fail_res(f"_smtp._tls.{D}"))) == [E]
    assert statuses("tls_rpt.record", ev(RecordsEvidence())) == [E]
