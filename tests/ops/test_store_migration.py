"""The history database migrates forward from every released schema, data intact: v1 (made
here from its DDL), v2 and v3 (the same plus the released steps), and real stores written by
released mxaudit: v2 at de439e5 (tests/fixtures/store_v2_demo.sqlite.gz) and v3 at aa70f6e
(store_v3_demo.sqlite.gz; both made by tests/fixtures/make_store_fixture.py)."""
from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from scanner.api import get_profile
from scanner.errors import StoreError
from scanner.evidence import DomainEvidence
from scanner.result import judge
from scanner.serde import to_jsonable
from scanner.store import _MIGRATIONS, COMPLETE, RUNNING, SCHEMA_VERSION, Store

FIXTURES = Path(__file__).parent.parent / "fixtures"

# The first released schema (mxaudit 0.1.0, meta.schema_version = 1), copied verbatim: the
# migrations must always be able to start from it.
V1_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS scans (
    id INTEGER PRIMARY KEY,
    started TEXT NOT NULL,
    finished TEXT,
    profile TEXT NOT NULL,
    options TEXT NOT NULL,
    version TEXT NOT NULL,
    domains INTEGER NOT NULL DEFAULT 0,
    compliant INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS results (
    scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    domain TEXT NOT NULL,
    input TEXT NOT NULL,
    status TEXT NOT NULL,
    compliant INTEGER NOT NULL,
    score INTEGER NOT NULL,
    evidence TEXT NOT NULL,
    findings TEXT NOT NULL,
    verdict TEXT NOT NULL,
    PRIMARY KEY (scan_id, position)
);
INSERT INTO meta VALUES ('schema_version', '1');
"""


def _invalid_result(position: int, text: str):
    ev = DomainEvidence(position=position, input=text, domain="", invalid_reason="contains whitespace",
                        scanned_at="2025-01-01T02:00:00+00:00")
    return judge(ev, get_profile("baseline"))


def make_v1_db(path):
    con = sqlite3.connect(path)
    con.executescript(V1_DDL)
    con.execute("INSERT INTO scans VALUES (1, '2025-01-01T02:00:00+00:00', "
                "'2025-01-01T02:05:00+00:00', 'baseline', '{\"timeout\": 10.0}', '0.1.0', 2, 0, 0)")
    con.execute("INSERT INTO scans (id, started, profile, options, version) VALUES "
                "(2, '2025-01-02T02:00:00+00:00', 'baseline', '{}', '0.1.0')")   # killed, v1
    for pos, text in enumerate(["not a domain", "also bad"]):
        insert_v1_result(con, 1, _invalid_result(pos, text))
    con.commit()
    con.close()


def insert_v1_result(con, scan_id: int, r, score: int | None = None) -> None:
    """One result row as mxaudit 0.1.0 stored it: its verdict without the fields the rating
    guide added (grade, caps, guide), with ``score`` as it was then."""
    verdict = to_jsonable(r.verdict)
    for key in ("grade", "caps", "guide"):
        verdict.pop(key, None)
    if score is not None:
        verdict["score"] = score
    ev = r.evidence
    con.execute("INSERT INTO results VALUES (?, ?, ?, ?, 'ok', ?, ?, ?, ?, ?)",
                (scan_id, ev.position, ev.domain, ev.input, int(r.verdict.compliant),
                 verdict["score"], json.dumps(to_jsonable(ev)), json.dumps(to_jsonable(r.findings)),
                 json.dumps(verdict)))


def _step(path, version: int) -> None:
    """Apply the released step to ``version`` as it stands in store._MIGRATIONS (a released
    step is never edited: store.py's rule), as the mxaudit of that version did."""
    con = sqlite3.connect(path)
    for statement in _MIGRATIONS[version]:
        con.execute(statement)
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))
    con.commit()
    con.close()


def make_v2_db(path):
    make_v1_db(path)
    _step(path, 2)


def make_v3_db(path):
    make_v2_db(path)
    _step(path, 3)


def fixture_db(tmp_path, version: int) -> Path:
    """A copy of a real store of that schema version: two scans of the demo world, the
    second after changes."""
    db = tmp_path / f"demo-v{version}.sqlite"
    with gzip.open(FIXTURES / f"store_v{version}_demo.sqlite.gz") as src, open(db, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return db


def fixture_v2_db(tmp_path) -> Path:
    return fixture_db(tmp_path, 2)


def _tables(db) -> set[str]:
    with sqlite3.connect(db) as con:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master")}


@pytest.mark.parametrize("make", [make_v1_db, make_v2_db, make_v3_db],
                         ids=["from-v1", "from-v2", "from-v3"])
def test_old_database_migrates_to_current_with_data_intact(tmp_path, make):
    db = tmp_path / "old.sqlite"
    make(db)
    with Store(db) as store:
        assert store.schema_version() == SCHEMA_VERSION == 4
        old, killed = store.scans()
        assert (old.id, old.state, old.finished, old.domains, old.invalid) == \
               (1, COMPLETE, "2025-01-01T02:05:00+00:00", 2, 2)
        assert old.options == {"timeout": 10.0} and old.inputs is None and not old.resumable
        assert (killed.id, killed.state, killed.finished) == (2, RUNNING, None)
        assert old.environment is None and killed.environment is None   # v3: not known before
        assert not killed.resumable          # v1 did not record its inputs
        assert [r.evidence.input for r in store.results(1)] == ["not a domain", "also bad"]
        assert [(f.check, f.status.value) for f in next(store.results(1)).findings
                if f.check == "domain.valid"] == [("domain.valid", "fail")]
        assert store.previous_scan(2).id == 1 and store.latest_unfinished().id == 2
    indexes = {r[0] for r in sqlite3.connect(db).execute(
        "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "results_by_domain" in indexes
    assert {"shared", "dictionaries"} <= _tables(db)
    with Store(db) as store:   # reopening is a no-op
        assert store.schema_version() == 4 and len(store.scans()) == 2


def test_old_rows_stay_readable_beside_new_ones(tmp_path):
    """A migrated database keeps its JSON-text rows; a scan stored after the migration is
    compressed, and both read back the same way."""
    db = tmp_path / "old.sqlite"
    make_v2_db(db)
    with Store(db) as store:
        old = list(store.results(1))
        sid = store.begin_scan("2025-01-03T02:00:00+00:00", "baseline", {}, "0.2.0")
        for r in old:
            store.add_result(sid, r)
        assert list(store.results(sid)) == old
    with sqlite3.connect(db) as con:
        kinds = con.execute("SELECT scan_id, typeof(evidence), typeof(findings), typeof(verdict) "
                            "FROM results ORDER BY scan_id, position").fetchall()
    assert kinds == [(1, "text", "text", "text")] * 2 + [(sid, "blob", "blob", "blob")] * 2


@pytest.mark.parametrize("version", [2, 3])
def test_a_real_old_store_loads_and_reads_back(tmp_path, version):
    db = fixture_db(tmp_path, version)
    with Store(db) as store:
        assert store.schema_version() == SCHEMA_VERSION
        first, second = store.scans()
        assert (first.state, second.state, first.domains, second.domains) == \
               (COMPLETE, COMPLETE, 9, 9)
        names = [r.evidence.domain or r.evidence.input for r in store.results(2)]
        assert names == ["good.test", "partner.test", "legacy.test", "authleak.test",
                         "expired.test", "selfsigned.test", "nullmx.test", "not a domain!",
                         "extra.test"]
        good = store.result_at(2, 0)
        assert good.verdict.compliant and [(p.host, p.role) for p in good.evidence.smtp] == \
               [("mx.good.test", "smtp"), ("mx.good.test", "submissions"),
                ("mx.good.test", "submission")]
        # v3 stored the scan environment; v2 knew nothing of it
        envs = [rec.environment for rec in store.scans()]
        if version == 2:
            assert envs == [None, None]
        else:
            assert [n.id for n in envs[0].notes] == ["env.ipv6", "env.port25", "env.resolver"]
            assert envs[0] == envs[1]


def test_new_database_is_created_through_the_migrations(tmp_path):
    with Store(tmp_path / "new.sqlite") as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store._db.execute("PRAGMA auto_vacuum").fetchone() == (2,)   # incremental
        assert store._db.execute("PRAGMA page_size").fetchone() == (16384,)
        scan_id = store.begin_scan("2025-01-03T02:00:00+00:00", "baseline", {}, "0.1.0",
                                   inputs={"files": [], "domains": ["a.test"]})
        rec = store.scan(scan_id)
        assert (rec.state, rec.resumable, store.latest_unfinished().id) == (RUNNING, True, scan_id)


def test_newer_schema_is_refused(tmp_path):
    db = tmp_path / "future.sqlite"
    make_v1_db(db)
    with sqlite3.connect(db) as con:
        con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema v99"):
        Store(db)


def test_history_command_reads_a_v1_database(tmp_path, run_cli):
    db = tmp_path / "v1.sqlite"
    make_v1_db(db)
    proc = run_cli(["history", "--db", db], timeout=30)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[1].split()[:4] == ["1", "2025-01-01T02:00:00+00:00", "300s", "complete"]
    assert lines[2].split()[:3] == ["2", "2025-01-02T02:00:00+00:00", "running"]
    proc = run_cli(["history", "--db", db, "--json"], timeout=30)
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r["id"], r["state"], r["invalid"], r["seconds"]) for r in records] == \
           [(1, "complete", 2, 300.0), (2, "running", 0, None)]


def test_newer_schema_is_a_usage_error_on_the_command_line(tmp_path, run_cli):
    db = tmp_path / "future.sqlite"
    make_v1_db(db)
    with sqlite3.connect(db) as con:
        con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    proc = run_cli(["history", "--db", db], timeout=30)
    assert proc.returncode == 2 and "schema v99" in proc.stderr and "Traceback" not in proc.stderr


def test_v3_stores_the_scan_environment(tmp_path):
    from scanner.evidence.environment import EnvNote, ScanEnvironment, ThrottledIp

    env = ScanEnvironment(
        (EnvNote("env.ipv6", "warn", "this host has no route to global IPv6: ...", 3, 6),
         EnvNote("env.port25", "pass", "outbound port 25 works from this host"),
         EnvNote("env.resolver", "pass", "the resolver answers for the root zone")),
        (ThrottledIp("192.0.2.25", ("mx1.example", "mx2.example"), 4, 12.5,
                     "greeting 421 4.7.0 <b>Too many</b>"),))
    with Store(tmp_path / "h.sqlite") as store:
        scan_id = store.begin_scan("2025-01-03T02:00:00+00:00", "baseline", {}, "0.1.0")
        assert store.scan(scan_id).environment is None
        store.set_environment(scan_id, env)
    with Store(tmp_path / "h.sqlite") as store:
        assert store.scan(scan_id).environment == env
