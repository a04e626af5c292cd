"""`mxaudit diff`: text, CSV, --fail-on-worse and the HTML section, end to end against the lab;
the per-domain comparison on hand-made results."""
from __future__ import annotations

import dataclasses

import pytest

from scanner.api import get_profile
from scanner.evidence import DomainEvidence
from scanner.findings import Finding, Status
from scanner.result import DomainResult, judge
from reports.diff import Change, compare
from scanner.verdict import Verdict

from .conftest import BAD_ZONE, GOOD_ZONE, read_csv


def _result(findings, compliant: bool, score: int, grade: str = "", guide: str = "1"
            ) -> DomainResult:
    ev = DomainEvidence(position=0, input="a.test", domain="a.test", scanned_at="2025-01-01T00:00:00+00:00")
    base = judge(ev, get_profile("baseline")).verdict
    verdict: Verdict = dataclasses.replace(base, compliant=compliant, score=score, grade=grade,
                                           guide=guide if grade else "")
    return DomainResult(ev, tuple(Finding(c, "", Status(s), "") for c, s in findings), verdict)


def test_compare_classifies_by_severity_and_ignores_ungraded_and_one_sided_checks():
    old = _result([("spf.all", "pass"), ("dmarc.policy", "fail"), ("smtp.starttls", "warn"),
                   ("smtp.starttls", "pass"), ("dkim.present", "pass"), ("dmarc.pct", "pass"),
                   ("tls_rpt.present", "skipped")], True, 90, "A")
    new = _result([("spf.all", "fail"), ("dmarc.policy", "error"), ("smtp.starttls", "warn"),
                   ("mta_sts.present", "fail"), ("dmarc.pct", "skipped"),
                   ("tls_rpt.present", "fail")], False, 40, "D")
    assert list(compare(old, new)) == [
        Change("compliance", "a.test", "", "compliant (A, 90)", "not compliant (D, 40)"),
        Change("grade", "a.test", "down", "A", "D"),
        Change("better", "a.test", "dmarc.policy", "fail", "error"),
        Change("worse", "a.test", "spf.all", "pass", "fail"),
    ]


@pytest.mark.parametrize(("old", "new", "change"), [
    (("B", "1"), ("A", "1"), Change("grade", "a.test", "up", "B", "A")),
    (("A", "1"), ("A", "1"), None),
    (("", ""), ("A", "1"), None),                   # stored before the rating guide: no grade
    (("B", "1"), ("C", "2"), Change("grade", "a.test", "guide 1 -> 2", "B", "C")),
])
def test_grade_changes(old, new, change):
    a = _result([("spf.all", "pass")], True, 90, *old)
    b = _result([("spf.all", "pass")], True, 90, *new)
    assert [c for c in compare(a, b) if c.kind == "grade"] == ([change] if change else [])


@pytest.fixture
def two_scans(lab, tmp_path, run_cli, make_domains, lab_args):
    """Scan 1: keep, flip, gone, 'junk !'; then flip turns bad; scan 2: keep, flip, fresh."""
    keep, flip, gone, fresh = make_domains(4)
    db, listing = tmp_path / "h.sqlite", tmp_path / "list.txt"
    listing.write_text(f"{keep}\n{flip}\n{gone}\njunk !\n")
    first = run_cli(["scan", listing, "--db", db, "--out", tmp_path / "r1", *lab_args], timeout=60)
    assert first.returncode == 0, first.stderr
    lab.dns.add_zone(flip, BAD_ZONE)
    listing.write_text(f"{keep}\n{flip}\n{fresh}\n")
    second = run_cli(["scan", listing, "--db", db, "--out", tmp_path / "r2", *lab_args], timeout=60)
    assert second.returncode == 0, second.stderr
    lab.dns.add_zone(flip, GOOD_ZONE)
    return db, keep, flip, gone, fresh


@pytest.mark.lab
def test_diff_text_csv_and_exit_status(two_scans, tmp_path, run_cli):
    db, keep, flip, gone, fresh = two_scans
    out_csv = tmp_path / "changes.csv"
    proc = run_cli(["diff", "previous", "latest", "--db", db, "--csv", out_csv], timeout=30)
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(out_csv)
    assert list(rows[0]) == ["change", "domain", "check", "old", "new"]
    changes = {(r["change"], r["domain"], r["check"], r["old"], r["new"]) for r in rows}
    assert ("worse", flip, "spf.all", "pass", "fail") in changes
    assert {(c, d) for c, d, *_ in changes if c in ("added", "removed")} == \
           {("removed", gone), ("removed", "junk !"), ("added", fresh)}
    assert not any(d == keep for _, d, *_ in changes)            # unchanged: not listed
    assert {(c, ch) for c, d, ch, *_ in changes if d == flip} == \
           {("compliance", ""), ("grade", "down"), ("worse", "spf.all"), ("worse", "dmarc.present")}
    grade_change = next(r for r in rows if r["change"] == "grade")
    assert (grade_change["domain"], grade_change["old"], grade_change["new"]) == (flip, "A", "F")
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("scan 1 (") and "-> scan 2 (" in lines[0]
    assert f"~ {flip}" in lines and f"- {gone}  removed (was compliant (" in proc.stdout
    assert any(line.startswith(f"+ {fresh}  added: ") for line in lines)
    assert "    worse       spf.all: pass -> fail" in lines
    assert "    grade       A -> F (down)" in lines
    n_worse = sum(c == "worse" for c, *_ in changes)
    assert lines[-1].startswith("changes: 1 added, 2 removed, 1 compliance, 1 grade, ")
    assert f"{n_worse} worse, 0 better" in lines[-1]

    proc = run_cli(["diff", "1", "2", "--db", db, "--fail-on-worse"], timeout=30)
    assert proc.returncode == 1
    proc = run_cli(["diff", "2", "2", "--db", db, "--fail-on-worse"], timeout=30)
    assert proc.returncode == 0 and proc.stdout.splitlines()[1:] == \
        ["changes: 0 added, 0 removed, 0 compliance, 0 grade, 0 worse, 0 better"]
    proc = run_cli(["diff", "1", "7", "--db", db], timeout=30)
    assert proc.returncode == 2 and "no scan '7'" in proc.stderr


@pytest.mark.lab
def test_report_html_has_since_previous_section_and_trend(two_scans, tmp_path):
    db, keep, flip, gone, fresh = two_scans
    first = (tmp_path / "r1" / "report.html").read_text(encoding="utf-8")
    second = (tmp_path / "r2" / "report.html").read_text(encoding="utf-8")
    assert "since-previous" not in first                   # no earlier scan to compare with
    assert 'id="since-previous"' in second and "Compared with scan 1" in second
    assert "Checks that got worse" in second and "Domains removed" in second
    assert "Grade changes" in second and "grade changes</div>" in second
    assert "Trend over the last 2 scans" in second and "Trend over" not in first
