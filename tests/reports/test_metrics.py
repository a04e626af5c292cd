"""The metrics text on its own: Prometheus' parser reads back every value and label (hostile
domain names included), grades appear when the verdicts carry them, an interrupted scan says
so, and the file is replaced atomically."""
from __future__ import annotations

import json

from prometheus_client.parser import text_string_to_metric_families

from reports import write_reports
from reports.metrics import render, write_scan_metrics
from scanner.api import get_profile

from .test_outputs import results

META = {"scan_id": 5, "started": "2026-01-15T02:00:00+00:00",
        "finished": "2026-01-15T02:09:30+00:00", "profile": "baseline", "version": "t"}


def parse(text: str) -> dict:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def manifest(tmp_path) -> dict:
    write_reports(tmp_path, results(), get_profile("baseline"), META)
    return json.loads((tmp_path / "manifest.json").read_text())


def test_values_times_and_bounded_labels(tmp_path):
    found = parse(render(manifest(tmp_path), complete=False, seconds=61.25,
                         last_complete="2026-01-14T02:10:00+00:00"))
    assert found[("mxaudit_scan_complete", ())] == 0
    assert found[("mxaudit_scan_id", ())] == 5
    assert found[("mxaudit_scan_duration_seconds", ())] == 61.25
    assert found[("mxaudit_scan_end_timestamp_seconds", ())] - \
        found[("mxaudit_scan_start_timestamp_seconds", ())] == 570
    assert found[("mxaudit_last_complete_scan_timestamp_seconds", ())] == 1768356600
    assert found[("mxaudit_domains", (("verdict", "not_compliant"),))] == 2
    assert found[("mxaudit_domains_invalid", ())] == 1
    assert found[("mxaudit_check_domains", (("check", "mx.present"), ("status", "fail")))] == 1
    assert found[("mxaudit_check_domains", (("check", "spf.all"), ("status", "error")))] == 0
    labels = {k for _, ls in found for k, _ in ls}
    assert labels == {"verdict", "check", "status", "profile", "version"}
    assert ("mxaudit_domains_worse", ()) not in found          # a first scan: nothing to compare


def test_grades_and_hostile_domain_labels_read_back_exactly(tmp_path):
    m = manifest(tmp_path)
    m["summary"]["grades"] = {"A+": 3, "C": 1, "not graded": 2}
    evil = 'x"}\nmxaudit_scan_complete 1\n\\'
    found = parse(render(m, complete=True, seconds=1.0, last_complete=None,
                         domains=[(evil, False, 55, "C"), ("b.example", True, None, "")]))
    assert found[("mxaudit_domains_by_grade", (("grade", "A+"),))] == 3
    assert found[("mxaudit_domains_by_grade", (("grade", "not graded"),))] == 2
    assert found[("mxaudit_domain_compliant", (("domain", evil),))] == 0
    assert found[("mxaudit_domain_score", (("domain", evil),))] == 55
    assert found[("mxaudit_domain_grade", (("domain", evil), ("grade", "C")))] == 1
    assert ("mxaudit_domain_score", (("domain", "b.example"),)) not in found
    assert ("mxaudit_last_complete_scan_timestamp_seconds", ()) not in found
    assert found[("mxaudit_scan_complete", ())] == 1


def test_the_file_is_replaced_whole(tmp_path):
    out = tmp_path / "out"
    manifest(out)
    target = tmp_path / "mxaudit.prom"
    target.write_text("old\n")
    before = target.stat().st_ino
    write_scan_metrics(target, out, complete=True, seconds=2.0, last_complete=None,
                       per_domain=True)
    assert target.stat().st_ino != before                     # renamed over, never rewritten
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["mxaudit.prom"]
    found = parse(target.read_text())
    assert found[("mxaudit_domain_score", (("domain", "a.example"),))] == 55
