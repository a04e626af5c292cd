"""Renderers on hand-made results: CSV neutralisation, HTML escaping, columns, JSONL round trip."""
from __future__ import annotations

import csv
import json

import pytest

from reports import write_reports
from reports.safe import csv_cell
from scanner.api import get_profile
from scanner.evidence import DnsOutcome, DnsResult, DomainEvidence, MxEvidence, MxRecord
from scanner.findings import Finding, Status
from scanner.result import DomainResult
from scanner.serde import from_jsonable
from scanner.verdict import Verdict

EVIL = "<script>alert('x')</script>"
CHECKS = ["domain.valid", "domain.exists", "mx.present"]


@pytest.mark.parametrize("value, cell", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("a=b", "a=b"), ("", ""), (None, ""), (42, "42"),
    (" =x", " =x"),
])
def test_csv_cell(value, cell):
    assert csv_cell(value) == cell


def results() -> list[DomainResult]:
    mx = MxEvidence(DnsResult("a.example", "MX", DnsOutcome.OK, ("10 mx.a.example",)),
                    (MxRecord(10, "mx.a.example"),))
    good = DomainResult(
        DomainEvidence(0, "A.example", "a.example", mx=mx),
        (Finding("domain.valid", "a.example", Status.PASS, "valid"),
         Finding("mx.present", "a.example", Status.WARN, f"TXT says {EVIL}", "=HYPERLINK(\"x\")"),
         Finding("mx.present", "b", Status.FAIL, "-2+3")),
        Verdict("baseline", False, 55, ("mx.present",)))
    junk = DomainResult(DomainEvidence(1, EVIL, "", "not a valid domain name"),
                        (Finding("domain.valid", EVIL, Status.FAIL, "not valid"),),
                        Verdict("baseline", False, 0))
    return [good, junk]


@pytest.fixture
def out(tmp_path):
    meta = {"scan_id": 1, "started": "s", "finished": "f", "profile": f"p{EVIL}", "version": "v"}
    summary = write_reports(tmp_path, results(), get_profile("baseline"), meta, check_ids=CHECKS)
    assert (summary.domains, summary.compliant, summary.invalid) == (2, 0, 1)
    return tmp_path


def test_domains_csv(out):
    rows = list(csv.reader(open(out / "domains.csv", newline="", encoding="utf-8")))
    assert rows[0] == ["domain", "input", "status", "compliant", "score", *CHECKS,
                       "mx_hosts", "mx_addresses", "scan_error", "spf_record", "spf_lookups",
                       "dmarc_policy", "dkim_selectors", "tls_versions", "auth_mechanisms",
                       "auth_before_tls"]
    assert rows[1] == ["a.example", "A.example", "ok", "false", "55", "pass", "", "fail", "", "", "",
                       "", "", "", "", "", "", ""]
    assert rows[2] == ["", EVIL, "ok", "false", "0", "fail", "", "", "", "", "not a valid domain name",
                       "", "", "", "", "", "", ""]


def test_findings_csv(out):
    rows = list(csv.reader(open(out / "findings.csv", newline="", encoding="utf-8")))
    assert rows[1:] == [
        ["a.example", "domain.valid", "a.example", "pass", "valid", ""],
        ["a.example", "mx.present", "a.example", "warn", f"TXT says {EVIL}", "'=HYPERLINK(\"x\")"],
        ["a.example", "mx.present", "b", "fail", "'-2+3", ""],
        [EVIL, "domain.valid", EVIL, "fail", "not valid", ""],
    ]


def test_results_jsonl(out):
    objs = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [from_jsonable(DomainEvidence, o["evidence"]) for o in objs] == [r.evidence for r in results()]
    verdict = {k: objs[0]["verdict"][k] for k in ("profile", "compliant", "score", "failed",
                                                  "undetermined")}
    assert verdict == {"profile": "baseline", "compliant": False, "score": 55,
                       "failed": ["mx.present"], "undetermined": []}
    assert objs[0]["findings"][1]["message"] == f"TXT says {EVIL}"   # JSON keeps the raw text


def test_html_escapes_everything(out):
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "alert('x')" not in html
    assert html.count("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") >= 4  # input, subject, message, profile
    assert "<link" not in html and "src=" not in html      # self-contained


def test_no_half_written_files_left(out):
    assert sorted(p.name for p in out.iterdir()) == ["domains.csv", "findings.csv", "manifest.json",
                                                     "report.html", "results.jsonl"]
