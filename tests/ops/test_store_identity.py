"""Storing evidence once and compressed changes nothing a user sees: stored scans from before
v4 (tests/fixtures/store_v2_demo.sqlite.gz and store_v3_demo.sqlite.gz: two scans of the demo
world each, written by mxaudit at de439e5 and aa70f6e) and the same scans stored anew in the
v4 format render, re-grade and diff to the same bytes; a scan of the demo world stores each
shared probe once."""
from __future__ import annotations

from pathlib import Path

import pytest

from reports.diff import changes
from reports.stored import render_scan
from scanner.api import get_profile
from scanner.serde import dumps
from scanner.store import Store
from scanner.store_codec import digest

from .conftest import db_rows
from .test_store_migration import fixture_db

FILES = ("report.html", "domains.csv", "findings.csv", "results.jsonl")


def restore(old: Store, path: Path) -> Path:
    """Every scan of ``old`` written again through today's store (same ids, times, states)."""
    with Store(path) as new:
        for rec in old.scans():
            sid = new.begin_scan(rec.started, rec.profile, rec.options, rec.version,
                                 inputs=rec.inputs, out=rec.out)
            assert sid == rec.id
            for r in old.results(rec.id):
                new.add_result(sid, r)
            new.end_scan(sid, rec.finished)
            new.set_state(sid, rec.state)
            if rec.environment is not None:
                new.set_environment(sid, rec.environment)
    return path


@pytest.fixture(params=[2, 3], ids=["v2", "v3"])
def both(tmp_path, request):
    old_db = fixture_db(tmp_path, request.param)
    with Store(old_db) as old:
        new_db = restore(old, tmp_path / "v4.sqlite")
    return old_db, new_db


def _same(a: Path, b: Path) -> None:
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_old_rows_and_new_rows_render_the_same_bytes(both, tmp_path):
    old_db, new_db = both
    assert db_rows(old_db, "SELECT DISTINCT typeof(evidence) FROM results") == [("text",)]
    assert db_rows(new_db, "SELECT DISTINCT typeof(evidence) FROM results") == [("blob",)]
    for scan_id in (1, 2):
        for label, db in (("old", old_db), ("new", new_db)):
            with Store(db) as store:
                render_scan(store, scan_id, tmp_path / f"{label}{scan_id}", get_profile("baseline"))
        _same(tmp_path / f"old{scan_id}", tmp_path / f"new{scan_id}")
    assert "Since the previous scan" in (tmp_path / "new2" / "report.html").read_text()


def test_regrading_and_diffs_are_the_same(both, tmp_path, run_cli):
    old_db, new_db = both
    for label, db in (("old", old_db), ("new", new_db)):
        proc = run_cli(["report", "2", "--db", db, "--out", tmp_path / label, "--profile",
                        "bod-18-01"], timeout=60)
        assert proc.returncode == 0, proc.stderr
    _same(tmp_path / "old", tmp_path / "new")
    found = {}
    for label, db in (("old", old_db), ("new", new_db)):
        with Store(db) as store:
            found[label] = (list(changes(store, 1, 2)),
                            list(changes(store, 1, 2, get_profile("nist-800-177"))))
        proc = run_cli(["diff", "previous", "latest", "--db", db], timeout=60)
        assert proc.returncode == 0, proc.stderr
        found[label] += (proc.stdout,)
    assert found["old"] == found["new"]
    kinds = {c.kind for c in found["new"][0]}
    assert {"added", "removed", "better", "worse"} <= kinds


def test_shared_evidence_is_stored_once_per_scan(both):
    _, new_db = both
    with Store(new_db) as store:
        for scan_id in (1, 2):
            results = list(store.results(scan_id))
            probes = [p for r in results for p in r.evidence.smtp]
            hosts = [h for r in results if r.evidence.mx for h in r.evidence.mx.hosts]
            stored = {d for (d,) in db_rows(new_db, "SELECT digest FROM shared WHERE scan_id = ?",
                                            scan_id)}
            assert stored == {digest(dumps(x)) for x in probes + hosts}
            assert len(stored) < len(probes) + len(hosts)
            # good.test and partner.test use the same MX host: one stored object for both
            good, partner = results[0], results[1]
            assert [p.host for p in partner.evidence.smtp] == ["mx.good.test"] * 3
            assert good.evidence.smtp == partner.evidence.smtp
            assert len({digest(dumps(p)) for p in good.evidence.smtp + partner.evidence.smtp}) == 3
