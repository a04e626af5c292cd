"""`mxaudit prune`: old scans deleted with everything stored for them, the space given back,
the scans later reports need kept, a running scan never touched; nightly use via the config."""
from __future__ import annotations

import dataclasses
import json
import sqlite3

import pytest

from reports.stored import render_scan
from scanner.api import get_profile
from scanner.evidence import DomainEvidence
from scanner.result import judge
from scanner.serde import from_jsonable
from scanner.store import COMPLETE, INTERRUPTED, Store

from ..perf.test_judge_identity import CASES
from .conftest import db_rows
from .test_store_migration import make_v3_db

BASELINE = get_profile("baseline")
RESULTS = [judge(dataclasses.replace(from_jsonable(DomainEvidence, json.loads(c["evidence"])),
                                     position=i), BASELINE) for i, c in enumerate(CASES)]


def add_scan(store: Store, day: int, state: str = COMPLETE) -> int:
    sid = store.begin_scan(f"2026-06-{day:02d}T02:15:00+00:00", "baseline", {}, "0.1.0")
    for r in RESULTS:
        store.add_result(sid, r)
    if state == COMPLETE:
        store.finish_scan(sid, f"2026-06-{day:02d}T02:45:00+00:00")
    elif state == INTERRUPTED:
        store.finish_scan(sid, f"2026-06-{day:02d}T02:45:00+00:00", INTERRUPTED)
    return sid


@pytest.fixture
def history(tmp_path):
    db = tmp_path / "h.sqlite"
    with Store(db) as store:
        for day in range(1, 7):
            add_scan(store, day)
    return db


def counts(db) -> dict[str, list]:
    return {table: db_rows(db, f"SELECT DISTINCT scan_id FROM {table} ORDER BY scan_id")
            for table in ("results", "shared", "dictionaries")}


def test_keep_deletes_old_scans_and_their_rows_and_gives_the_space_back(history, run_cli,
                                                                        tmp_path):
    before = history.stat().st_size
    with Store(history) as store:
        render_scan(store, 6, tmp_path / "before", BASELINE)
    proc = run_cli(["prune", "--db", history, "--keep", "2"], timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert [line.split()[:3] for line in proc.stdout.splitlines()[:-1]] == \
           [["deleted", "scan", str(i)] for i in range(1, 5)]
    assert proc.stdout.splitlines()[-1].startswith("pruned 4 scan(s);")
    assert db_rows(history, "SELECT id FROM scans") == [(5,), (6,)]
    assert counts(history) == {t: [(5,), (6,)] for t in ("results", "shared", "dictionaries")}
    assert history.stat().st_size < before / 2
    assert db_rows(history, "PRAGMA auto_vacuum") == [(2,)]
    with Store(history) as store:                 # what later reports need still renders
        render_scan(store, 6, tmp_path / "after", BASELINE)
    for name in ("domains.csv", "findings.csv", "results.jsonl"):
        assert (tmp_path / "after" / name).read_bytes() == (tmp_path / "before" / name).read_bytes()
    page = (tmp_path / "after" / "report.html").read_text()   # the trend column is shorter
    assert "Since the previous scan" in page and "Compared with scan 5 " in page


def test_the_newest_complete_scan_is_kept_unless_forced(tmp_path, run_cli):
    db = tmp_path / "h.sqlite"
    with Store(db) as store:
        add_scan(store, 1)
        add_scan(store, 2)
        add_scan(store, 3, INTERRUPTED)
        add_scan(store, 4, state="running")       # killed: not running now
    proc = run_cli(["prune", "--db", db, "--keep", "1", "-q"], timeout=60)
    assert proc.returncode == 0 and proc.stdout == ""
    assert db_rows(db, "SELECT id FROM scans") == [(2,), (3,), (4,)]
    warnings = proc.stderr.splitlines()
    assert [w.split(":")[1].split()[:3] for w in warnings] == [["kept", "scan", "2"],
                                                                 ["kept", "scan", "3"]]
    assert "the newest complete scan" in warnings[0] and "--force deletes it" in warnings[0]
    proc = run_cli(["prune", "--db", db, "--keep", "1", "--force"], timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert db_rows(db, "SELECT id FROM scans") == [(4,)]


def test_a_scan_being_run_is_never_deleted(tmp_path, run_cli):
    db = tmp_path / "h.sqlite"
    with Store(db) as store:
        add_scan(store, 1)
        add_scan(store, 2)
        running = add_scan(store, 3, state="running")
        with store.lock(running):
            proc = run_cli(["prune", "--db", db, "--older-than", "0", "--force"], timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert db_rows(db, "SELECT id FROM scans") == [(running,)]
    assert "it is being run now" in proc.stderr and "--force" not in proc.stderr


def test_dry_run_changes_nothing(history, run_cli):
    size = history.stat().st_size
    proc = run_cli(["prune", "--db", history, "--keep", "4", "--dry-run"], timeout=60)
    assert proc.returncode == 0
    assert proc.stdout.splitlines() == [
        "would delete scan 1 (started 2026-06-01T02:15:00+00:00, complete, 86 domains)",
        "would delete scan 2 (started 2026-06-02T02:15:00+00:00, complete, 86 domains)",
        f"2 scan(s) would be deleted from {history}"]
    assert len(db_rows(history, "SELECT id FROM scans")) == 6 and history.stat().st_size == size


def test_the_config_file_sets_retention_for_nightly_jobs(history, run_cli, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'db = "{history}"\nprune_keep = 3\nprune_older_than = 0\nquiet = true\n')
    proc = run_cli(["prune", "--config", config], timeout=60)
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    assert db_rows(history, "SELECT id FROM scans") == [(4,), (5,), (6,)]
    proc = run_cli(["prune", "--config", config, "--keep", "1"], timeout=60)   # option wins
    assert proc.returncode == 0
    assert db_rows(history, "SELECT id FROM scans") == [(6,)]


@pytest.mark.parametrize("args, message", [
    ([], "say what to keep"),
    (["--keep", "0"], "--keep must be at least 1"),
    (["--older-than", "-1"], "--older-than must be 0 days or more"),
])
def test_usage_errors(history, run_cli, args, message):
    proc = run_cli(["prune", "--db", history, *args], timeout=60)
    assert proc.returncode == 2 and message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_database_from_before_v4_is_vacuumed_once_into_incremental_mode(tmp_path, run_cli):
    db = tmp_path / "old.sqlite"
    make_v3_db(db)
    with Store(db) as store:                      # migrated; auto-vacuum still off
        assert db_rows(db, "PRAGMA auto_vacuum") == [(0,)]
        for day in range(3, 6):
            add_scan(store, day)
    big = db.stat().st_size
    proc = run_cli(["prune", "--db", db, "--keep", "1"], timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert db_rows(db, "PRAGMA auto_vacuum") == [(2,)] and db.stat().st_size < big / 2
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
