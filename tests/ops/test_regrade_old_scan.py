"""A scan stored before the rating guide (first released schema, verdicts without grade, caps or
guide, the old equal-weight score) still reads, and gets grades when re-graded: `mxaudit report`
re-grades its evidence under the rating guide; `mxaudit diff` compares grades only where both
scans have one, and re-grades both with --profile."""
from __future__ import annotations

import csv
import json
import sqlite3
from dataclasses import replace

from scanner.api import get_profile
from scanner.result import judge
from scanner.store import Store

from tests.calibration import load_evidence

from .test_store_migration import V1_DDL, insert_v1_result

OLD_SCORES = {"good.test": 99, "legacy.test": 73}      # what mxaudit 0.1.0 stored


def make_old_db(path, scans: int = 1) -> None:
    evidence = load_evidence()
    profile = get_profile("baseline")
    con = sqlite3.connect(path)
    con.executescript(V1_DDL)
    for scan_id in range(1, scans + 1):
        con.execute("INSERT INTO scans VALUES (?, ?, ?, 'baseline', '{}', '0.1.0', 2, 1, 0)",
                    (scan_id, f"2025-01-0{scan_id}T02:00:00+00:00",
                     f"2025-01-0{scan_id}T02:05:00+00:00"))
        for pos, name in enumerate(("good.test", "legacy.test")):
            ev = replace(evidence[name], position=pos)
            insert_v1_result(con, scan_id, judge(ev, profile), OLD_SCORES[name])
    con.commit()
    con.close()


def test_old_verdicts_read_without_a_grade(tmp_path):
    db = tmp_path / "old.sqlite"
    make_old_db(db)
    with Store(db) as store:
        verdicts = [r.verdict for r in store.results(1)]
    assert [(v.score, v.grade, v.caps, v.guide) for v in verdicts] == [
        (99, "", (), ""), (73, "", (), "")]


def test_report_regrades_an_old_scan(tmp_path, run_cli):
    db, out = tmp_path / "old.sqlite", tmp_path / "out"
    make_old_db(db)
    proc = run_cli(["report", "1", "--db", db, "--out", out], timeout=60)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(open(out / "domains.csv", encoding="utf-8")))
    assert [(r["domain"], r["score"], r["grade"], r["rating_guide"]) for r in rows] == [
        ("good.test", "94", "A", "1"), ("legacy.test", "0", "F", "1")]
    assert rows[1]["caps"].split()[:2] == ["critical:smtp.starttls", "critical:spf.all"]
    verdicts = [json.loads(line)["verdict"] for line in open(out / "results.jsonl")]
    assert [(v["grade"], v["guide"]) for v in verdicts] == [("A", "1"), ("F", "1")]
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count('<section class="why"') == 2 and "F → " in page


def test_diff_compares_grades_only_where_both_scans_have_one(tmp_path, run_cli):
    db = tmp_path / "old.sqlite"
    make_old_db(db, scans=2)
    # scan 2 re-stored with today's verdicts (graded); scan 1 keeps the old ones
    profile = get_profile("baseline")
    with Store(db) as store:
        fresh = [judge(r.evidence, profile) for r in store.results(2)]
        for r in fresh:
            store.add_result(2, r)
    as_stored = run_cli(["diff", "1", "2", "--db", db], timeout=60)
    assert as_stored.returncode == 0, as_stored.stderr
    assert "0 grade," in as_stored.stdout.splitlines()[-1]
    assert not [line for line in as_stored.stdout.splitlines() if line.startswith("    grade")]
    regraded = run_cli(["diff", "1", "2", "--db", db, "--profile", "baseline"], timeout=60)
    assert regraded.returncode == 0 and "both graded under baseline" in regraded.stdout
    assert "0 grade" in regraded.stdout.splitlines()[-1]        # same evidence, same grades
