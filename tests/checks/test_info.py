"""bimi.record and submission.srv (info checks) on hand-made evidence."""
from __future__ import annotations

from tests.checks.records_ev import D, E, I, NX, ev, fail_res, messages, res, statuses


def test_bimi_record():
    rec = "v=BIMI1; l=https://example.test/logo.svg; a=https://example.test/vmc.pem"
    evidence = ev(bimi=res(f"default._bimi.{D}", "TXT", rec))
    assert statuses("bimi.record", evidence) == [I]
    msg = messages("bimi.record", evidence)[0]
    assert "https://example.test/logo.svg" in msg and "vmc.pem" in msg
    assert statuses("bimi.record", ev(bimi=res(f"default._bimi.{D}", "TXT"))) == [I]
    assert statuses("bimi.record", ev(bimi=res(f"default._bimi.{D}", "TXT", "v=BIMI1; junk"))) == [I]
    assert statuses("bimi.record", ev(bimi=fail_res(f"default._bimi.{D}"))) == [E]


def test_submission_srv():
    srv = (res(f"_submission._tcp.{D}", "SRV", "0 1 587 mail.example.test."),
           res(f"_submissions._tcp.{D}", "SRV", outcome=NX))
    evidence = ev(submission_srv=srv)
    assert [(f, s) for f, s in zip(messages("submission.srv", evidence),
                                   statuses("submission.srv", evidence))] == [
        ("mail.example.test:587 (priority 0, weight 1)", I), ("no SRV record", I)]
    dot = ev(submission_srv=(res(f"_submission._tcp.{D}", "SRV", "0 0 0 ."),))
    assert "not offered" in messages("submission.srv", dot)[0]
    assert statuses("submission.srv", ev(submission_srv=(fail_res(f"_submission._tcp.{D}", "SRV"),))) == [E]
