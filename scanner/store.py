"""The scan history: SQLite, one row per finished domain, written as each domain completes.

An interrupted scan loses only the domains in flight. WAL mode keeps per-domain commits
cheap. Reports read results back in input order, streaming, so rendering does not need the
whole scan in memory either.
"""
from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import StoreError
from .evidence import DomainEvidence
from .findings import Finding
from .pipeline import DomainResult
from .serde import from_jsonable, to_jsonable
from .verdict import Verdict

SCHEMA_VERSION = 1
_SCHEMA = """
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
"""


def default_db_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "mxaudit" / "history.sqlite"


@dataclass(frozen=True)
class ScanRecord:
    id: int
    started: str
    finished: str | None
    profile: str
    options: dict
    version: str
    domains: int
    compliant: int
    errors: int


class Store:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                             (str(SCHEMA_VERSION),))
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"scan database {self.path}: {exc}") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def begin_scan(self, started: str, profile: str, options: dict, version: str) -> int:
        cur = self._db.execute(
            "INSERT INTO scans (started, profile, options, version) VALUES (?, ?, ?, ?)",
            (started, profile, json.dumps(options, sort_keys=True), version))
        return int(cur.lastrowid)

    def add_result(self, scan_id: int, r: DomainResult) -> None:
        ev = r.evidence
        self._db.execute(
            "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (scan_id, ev.position, ev.domain, ev.input, r.status, int(r.verdict.compliant),
             r.verdict.score, _dumps(ev), _dumps(r.findings), _dumps(r.verdict)))

    def finish_scan(self, scan_id: int, finished: str) -> None:
        self._db.execute(
            """UPDATE scans SET finished = ?,
                 domains = (SELECT COUNT(*) FROM results WHERE scan_id = ?),
                 compliant = (SELECT COUNT(*) FROM results WHERE scan_id = ? AND compliant),
                 errors = (SELECT COUNT(*) FROM results WHERE scan_id = ? AND status = 'error')
               WHERE id = ?""", (finished, scan_id, scan_id, scan_id, scan_id))

    def scans(self) -> list[ScanRecord]:
        rows = self._db.execute("SELECT * FROM scans ORDER BY id").fetchall()
        return [ScanRecord(*row[:4], json.loads(row[4]), *row[5:]) for row in rows]

    def scan(self, scan_id: int) -> ScanRecord:
        for s in self.scans():
            if s.id == scan_id:
                return s
        raise StoreError(f"no scan {scan_id} in {self.path}")

    def results(self, scan_id: int) -> Iterator[DomainResult]:
        """The scan's results in input order, streamed."""
        cur = self._db.execute(
            "SELECT evidence, findings, verdict FROM results WHERE scan_id = ? ORDER BY position",
            (scan_id,))
        for ev, findings, verdict in cur:
            yield DomainResult(from_jsonable(DomainEvidence, json.loads(ev)),
                               from_jsonable(tuple[Finding, ...], json.loads(findings)),
                               from_jsonable(Verdict, json.loads(verdict)))


def _dumps(obj: object) -> str:
    return json.dumps(to_jsonable(obj), ensure_ascii=False, separators=(",", ":"))
