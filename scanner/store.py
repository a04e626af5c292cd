"""The scan history: SQLite, one row per finished domain, written as each domain completes.

An interrupted scan loses only the domains in flight. WAL mode keeps per-domain commits
cheap. Reports read results back in input order, streaming, so rendering does not need the
whole scan in memory either.

Schema versions (``meta.schema_version``): ``_SCHEMA`` is the first released schema (v1) and
is never edited; every later change is a numbered entry of ``_MIGRATIONS``. A new database is
created at v1 and migrated forward like any old one, so the migration path is the only path.

- v2: scans get ``state`` (running / interrupted / complete), ``inputs`` (what to re-read
  to resume), ``out`` (the report folder used), ``invalid`` (count); an index on
  results(domain, scan_id) for per-domain trends.
- v3: scans get ``environment``: what the scan learnt about its own network (the env.*
  notes and the MX hosts that throttled it; a ScanEnvironment as JSON, NULL before v3).
- v4: ``shared`` (evidence shared by many domains, once per scan, by digest) and
  ``dictionaries`` (each scan's zlib preset dictionaries); results rows written from v4 on
  hold compressed BLOBs whose evidence refers to ``shared`` (scanner/store_codec.py). Rows
  written before stay JSON text and are read as they are. New databases use 16 KiB pages and
  incremental auto-vacuum, so ``prune`` gives space back without rewriting the file.
"""
from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from scanner.errors import StoreError, UsageError
from scanner.evidence.environment import ScanEnvironment
from scanner.findings import Finding
from scanner.result import DomainResult
from scanner.serde import dumps, dumps_utf8, loads
from scanner.store_codec import (KINDS, Compressor, SharedObjects, Splitter, decompress,
                                 dictionary, needs_dictionary)
from scanner.verdict import Verdict

SCHEMA_VERSION = 4
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
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: (
        "ALTER TABLE scans ADD COLUMN state TEXT NOT NULL DEFAULT 'running'",
        "UPDATE scans SET state = CASE WHEN finished IS NULL THEN 'running' ELSE 'complete' END",
        "ALTER TABLE scans ADD COLUMN inputs TEXT",
        "ALTER TABLE scans ADD COLUMN out TEXT",
        "ALTER TABLE scans ADD COLUMN invalid INTEGER NOT NULL DEFAULT 0",
        "UPDATE scans SET invalid = (SELECT COUNT(*) FROM results r "
        "WHERE r.scan_id = scans.id AND r.domain = '')",
        "CREATE INDEX IF NOT EXISTS results_by_domain ON results(domain, scan_id)",
    ),
    3: (
        "ALTER TABLE scans ADD COLUMN environment TEXT",
    ),
    4: (
        """CREATE TABLE shared (
            scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
            digest TEXT NOT NULL,
            body BLOB NOT NULL,
            PRIMARY KEY (scan_id, digest)) WITHOUT ROWID""",
        """CREATE TABLE dictionaries (
            scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            body BLOB NOT NULL,
            PRIMARY KEY (scan_id, kind)) WITHOUT ROWID""",
    ),
}
_SCAN_COLUMNS = ("id, started, finished, profile, options, version, domains, compliant, errors, "
                 "state, inputs, out, invalid, environment")
RUNNING, INTERRUPTED, COMPLETE = "running", "interrupted", "complete"


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
    state: str = COMPLETE        # running (or killed), interrupted (SIGINT/SIGTERM), complete
    inputs: dict | None = None   # files (with fingerprints) and -d domains; None: not resumable
    out: str | None = None
    invalid: int = 0
    environment: ScanEnvironment | None = None   # the scan's own network (None: before v3)

    @property
    def resumable(self) -> bool:
        return self.state != COMPLETE and self.inputs is not None


class Store:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None)
            # both take effect on a new file only: 16 KiB pages hold more of v4's ~1.3 KB rows
            # per page than 4 KiB ones (a bench scan's file 12% smaller); incremental
            # auto-vacuum lets prune give space back without rewriting the file
            self._db.execute("PRAGMA page_size=16384")
            self._db.execute("PRAGMA auto_vacuum=INCREMENTAL")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', '1')")
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"scan database {self.path}: {exc}") from None
        self._splitters: dict[int, Splitter] = {}
        self._dicts: dict[int, dict[str, bytes]] = {}
        self._compressors: dict[tuple[int, str], Compressor] = {}
        self._shared: dict[int, SharedObjects] = {}
        self._undictionaried: dict[int, int] = {}

    def _migrate(self) -> None:
        """Bring the database to SCHEMA_VERSION, one version per step, in one transaction
        (BEGIN IMMEDIATE: two processes opening an old database do not both migrate it)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            version = self.schema_version()
            if version > SCHEMA_VERSION:
                raise StoreError(f"scan database {self.path} has schema v{version}, newer than "
                                 f"this mxaudit understands (v{SCHEMA_VERSION}); upgrade mxaudit")
            for v in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[v]:
                    self._db.execute(statement)
                self._db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(v),))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def schema_version(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def begin_scan(self, started: str, profile: str, options: dict, version: str, *,
                   inputs: dict | None = None, out: str | None = None) -> int:
        cur = self._db.execute(
            "INSERT INTO scans (started, profile, options, version, state, inputs, out) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (started, profile, json.dumps(options, sort_keys=True), version, RUNNING,
             None if inputs is None else json.dumps(inputs, sort_keys=True), out))
        return int(cur.lastrowid)

    def _lock_path(self, scan_id: int) -> Path:
        return self.path.with_name(f"{self.path.name}.scan-{scan_id}.lock")

    @contextmanager
    def lock(self, scan_id: int) -> Iterator[None]:
        """Held while a process runs the scan: a lock file beside the database (flock, so
        the kernel releases it when the process dies, SIGKILL included). ``--resume`` of a
        scan still running elsewhere fails instead of scanning the same domains twice."""
        path = self._lock_path(scan_id)
        fh = open(path, "a+")
        try:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StoreError(f"scan {scan_id} is being run by another mxaudit process") from None
            yield
            path.unlink(missing_ok=True)
        finally:
            fh.close()

    def is_running(self, scan_id: int) -> bool:
        """Whether a process holds the scan's lock (is scanning or resuming it now)."""
        try:
            fh = open(self._lock_path(scan_id), "r")
        except FileNotFoundError:
            return False
        with fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            return False

    def delete_scans(self, scan_ids: list[int]) -> None:
        """Delete scans with everything stored for them (results, shared evidence,
        dictionaries: ON DELETE CASCADE), in one transaction. The space is reused by later
        scans; ``reclaim`` gives it back to the file system."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany("DELETE FROM scans WHERE id = ?", [(i,) for i in scan_ids])
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        for i in scan_ids:
            self._forget(i)
            self._lock_path(i).unlink(missing_ok=True)   # a killed scan's stale lock file

    def reclaim(self) -> None:
        """Give free pages back to the file system. A database in incremental auto-vacuum
        mode (every one created since v4) frees them in place; an older one is rewritten
        once by VACUUM, which also switches it to that mode (so the next prune is quick).
        Then the write-ahead log is truncated."""
        try:
            (mode,) = self._db.execute("PRAGMA auto_vacuum").fetchone()
            if mode == 2:     # executescript steps it to the end (execute frees one page)
                self._db.executescript("PRAGMA incremental_vacuum;")
            else:
                self._db.execute("PRAGMA auto_vacuum=INCREMENTAL")
                self._db.execute("VACUUM")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            raise StoreError(f"scan database {self.path}: cannot reclaim space ({exc})") from None

    def file_bytes(self) -> int:
        """The database's size on disk: the file and its write-ahead log."""
        wal = self.path.with_name(self.path.name + "-wal")
        return sum(p.stat().st_size for p in (self.path, wal) if p.exists())

    def _forget(self, scan_id: int) -> None:
        for cache in (self._splitters, self._dicts, self._shared, self._undictionaried):
            cache.pop(scan_id, None)
        for kind in KINDS:
            self._compressors.pop((scan_id, kind), None)

    def discard_scan(self, scan_id: int) -> None:
        """Forget a scan that never scanned anything (e.g. its output folder was unusable)."""
        self._db.execute("DELETE FROM scans WHERE id = ? AND NOT EXISTS "
                         "(SELECT 1 FROM results WHERE scan_id = ?)", (scan_id, scan_id))

    def set_out(self, scan_id: int, out: str) -> None:
        self._db.execute("UPDATE scans SET out = ? WHERE id = ?", (out, scan_id))

    def mark_running(self, scan_id: int) -> None:
        """A resumed scan is running again until it finishes or is interrupted."""
        self._db.execute("UPDATE scans SET state = ?, finished = NULL WHERE id = ?",
                         (RUNNING, scan_id))

    def add_result(self, scan_id: int, r: DomainResult) -> None:
        """Store one judged result (its shared evidence split out by this store's own
        Splitter: what the scan process judges itself)."""
        splitter = self._splitters.setdefault(scan_id, Splitter())
        skeleton, shared = splitter.split(r.evidence)
        try:
            self.add_rows(scan_id, [(r, skeleton)], shared)
        except BaseException:
            splitter.forget([d for d, _ in shared])
            raise

    def add_rows(self, scan_id: int, rows: list[tuple[DomainResult, str | bytes]],
                 shared: list[tuple[str, str]] = ()) -> None:
        """Results with their evidence skeletons (``Splitter.split``; text, or its UTF-8 as
        the report worker reads it from the pipe), and the shared objects (digest, text)
        they refer to that may not be stored yet, in one transaction (the report worker
        stores what it judged in batches: one commit per batch)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            dicts = self._dictionaries(scan_id, rows, shared)
            if shared:
                zs = self._compressor(scan_id, "shared", dicts)
                self._db.executemany("INSERT OR IGNORE INTO shared VALUES (?, ?, ?)",
                                     [(scan_id, d, zs(text)) for d, text in shared])
            if rows:
                ze, zf, zv = (self._compressor(scan_id, kind, dicts)
                              for kind in ("evidence", "findings", "verdict"))
                self._db.executemany(_INSERT_RESULT, [
                    _row(scan_id, r, ze(skeleton), zf(dumps_utf8(r.findings)),
                         zv(dumps_utf8(r.verdict)))
                    for r, skeleton in rows])
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _dictionaries(self, scan_id: int, rows: list[tuple[DomainResult, str | bytes]],
                      shared: list[tuple[str, str]]) -> dict[str, bytes]:
        """The scan's preset dictionaries, made from this batch if the scan has none yet
        (within the caller's transaction: two writers of one scan agree on the first)."""
        dicts = self._dicts_of(scan_id)
        if len(dicts) == len(KINDS):
            return dicts
        samples: dict[str, list[str]] = {}
        if "shared" not in dicts and shared:
            samples["shared"] = [text for _, text in shared]
        if "evidence" not in dicts and rows:
            typical = _typical(rows, self._undictionaried.get(scan_id, 0) >= _DICT_PATIENCE)
            if typical is None:
                self._undictionaried[scan_id] = self._undictionaried.get(scan_id, 0) + len(rows)
            else:
                r, skeleton = typical
                samples.update(evidence=[skeleton], findings=[dumps_utf8(r.findings)],
                               verdict=[dumps_utf8(r.verdict)])
        if samples:
            self._db.executemany("INSERT OR IGNORE INTO dictionaries VALUES (?, ?, ?)",
                                 [(scan_id, kind, dictionary(texts))
                                  for kind, texts in samples.items()])
            dicts = self._dicts_of(scan_id, reload=True)
        return dicts

    def _compressor(self, scan_id: int, kind: str, dicts: dict[str, bytes]) -> Compressor:
        zd = dicts.get(kind)
        c = self._compressors.get((scan_id, kind))
        if c is None or c.zdict is not zd:
            c = self._compressors[(scan_id, kind)] = Compressor(zd)
        return c

    def _dicts_of(self, scan_id: int, *, reload: bool = False) -> dict[str, bytes]:
        if reload or scan_id not in self._dicts:
            self._dicts[scan_id] = dict(self._db.execute(
                "SELECT kind, body FROM dictionaries WHERE scan_id = ?", (scan_id,)).fetchall())
        return self._dicts[scan_id]

    def end_scan(self, scan_id: int, finished: str) -> None:
        """Record the end time and the counts; the state stays ``running`` until the reports
        are written (``set_state``), so a scan whose reports failed is resumed, not lost."""
        self._db.execute(
            """UPDATE scans SET finished = ?,
                 domains = (SELECT COUNT(*) FROM results WHERE scan_id = ?),
                 compliant = (SELECT COUNT(*) FROM results WHERE scan_id = ? AND compliant),
                 errors = (SELECT COUNT(*) FROM results WHERE scan_id = ? AND status = 'error'),
                 invalid = (SELECT COUNT(*) FROM results WHERE scan_id = ? AND domain = '')
               WHERE id = ?""", (finished, scan_id, scan_id, scan_id, scan_id, scan_id))

    def set_environment(self, scan_id: int, environment: ScanEnvironment) -> None:
        """What the scan learnt about its own network (a resumed scan: the last run's)."""
        self._db.execute("UPDATE scans SET environment = ? WHERE id = ?",
                         (_dumps(environment), scan_id))

    def set_state(self, scan_id: int, state: str) -> None:
        self._db.execute("UPDATE scans SET state = ? WHERE id = ?", (state, scan_id))

    def finish_scan(self, scan_id: int, finished: str, state: str = COMPLETE) -> None:
        """``end_scan`` and ``set_state`` at once (a scan with no reports to wait for)."""
        self.end_scan(scan_id, finished)
        self.set_state(scan_id, state)

    def scans(self, limit: int | None = None) -> list[ScanRecord]:
        """Stored scans, oldest first (the last ``limit`` of them when given)."""
        sql = f"SELECT {_SCAN_COLUMNS} FROM scans ORDER BY id DESC"
        rows = self._db.execute(sql + (" LIMIT ?" if limit else ""),
                                (limit,) if limit else ()).fetchall()
        return [_scan_record(row) for row in reversed(rows)]

    def scan(self, scan_id: int) -> ScanRecord:
        row = self._db.execute(f"SELECT {_SCAN_COLUMNS} FROM scans WHERE id = ?",
                               (scan_id,)).fetchone()
        if row is None:
            raise StoreError(f"no scan {scan_id} in {self.path}")
        return _scan_record(row)

    def resolve(self, text: str) -> int:
        """A scan named on the command line: its ID, 'latest' or 'previous'."""
        scans = self.scans()
        if not scans:
            raise UsageError(f"no scans in {self.path}")
        if text == "latest":
            return scans[-1].id
        if text == "previous":
            if len(scans) < 2:
                raise UsageError("there is no previous scan")
            return scans[-2].id
        if not text.isdigit() or all(s.id != int(text) for s in scans):
            raise UsageError(f"no scan {text!r} in {self.path} (see 'mxaudit history')")
        return int(text)

    def latest_unfinished(self) -> ScanRecord | None:
        """The newest scan that was killed or interrupted (what ``scan --resume`` continues)."""
        row = self._db.execute(f"SELECT {_SCAN_COLUMNS} FROM scans WHERE state != ? "
                               "ORDER BY id DESC LIMIT 1", (COMPLETE,)).fetchone()
        return None if row is None else _scan_record(row)

    def latest_complete(self) -> ScanRecord | None:
        """The newest scan that completed (the metrics' "last complete scan")."""
        row = self._db.execute(f"SELECT {_SCAN_COLUMNS} FROM scans WHERE state = ? "
                               "ORDER BY id DESC LIMIT 1", (COMPLETE,)).fetchone()
        return None if row is None else _scan_record(row)

    def previous_scan(self, scan_id: int) -> ScanRecord | None:
        """The newest scan before ``scan_id`` that ended (complete or interrupted)."""
        row = self._db.execute(f"SELECT {_SCAN_COLUMNS} FROM scans WHERE id < ? AND finished "
                               "IS NOT NULL ORDER BY id DESC LIMIT 1", (scan_id,)).fetchone()
        return None if row is None else _scan_record(row)

    def done_positions(self, scan_id: int) -> set[int]:
        """Input positions already finished in this scan (resume skips them)."""
        cur = self._db.execute("SELECT position FROM results WHERE scan_id = ?", (scan_id,))
        return {row[0] for row in cur}

    def trend(self, domain: str, upto_scan_id: int, limit: int = 8) -> list[tuple]:
        """The domain's last ``limit`` results up to this scan, oldest first:
        (scan_id, started, compliant, score, status). Graded as stored (each scan's profile)."""
        rows = self._db.execute(
            """SELECT r.scan_id, s.started, r.compliant, r.score, r.status
                 FROM results r JOIN scans s ON s.id = r.scan_id
                WHERE r.domain = ? AND r.scan_id <= ? ORDER BY r.scan_id DESC LIMIT ?""",
            (domain, upto_scan_id, limit)).fetchall()
        return [(sid, started, bool(c), score, status) for sid, started, c, score, status
                in reversed(rows)]

    def results(self, scan_id: int, *, by_domain: bool = False) -> "ResultStream":
        """The scan's results in input order, streamed; ``by_domain``: ordered by diff_key
        instead (valid domains by name, then invalid inputs by text), for merge joins.
        ``len()`` of the stream is the row count (reports size the page up front with it)."""
        order = ("domain = '', CASE WHEN domain = '' THEN input ELSE domain END, position"
                 if by_domain else "position")
        (count,) = self._db.execute("SELECT COUNT(*) FROM results WHERE scan_id = ?",
                                    (scan_id,)).fetchone()
        cur = self._db.execute(
            f"SELECT evidence, findings, verdict FROM results WHERE scan_id = ? ORDER BY {order}",
            (scan_id,))
        return ResultStream((self._decode(scan_id, *row) for row in cur), count)

    def result_at(self, scan_id: int, position: int) -> DomainResult | None:
        """The stored result at one input position (None: not stored)."""
        row = self._db.execute(
            "SELECT evidence, findings, verdict FROM results WHERE scan_id = ? AND position = ?",
            (scan_id, position)).fetchone()
        return None if row is None else self._decode(scan_id, *row)

    def next_position(self, scan_id: int, start: int) -> int | None:
        """The first stored input position from ``start`` on (skipping ones never scanned)."""
        return self._db.execute(
            "SELECT MIN(position) FROM results WHERE scan_id = ? AND position >= ?",
            (scan_id, start)).fetchone()[0]

    def shared_objects(self, scan_id: int) -> SharedObjects:
        """The scan's shared evidence as the decoder meets it (one cache per scan)."""
        objs = self._shared.get(scan_id)
        if objs is None:
            def fetch(d: str) -> str | None:
                row = self._db.execute("SELECT body FROM shared WHERE scan_id = ? AND digest = ?",
                                       (scan_id, d)).fetchone()
                return None if row is None else self._text(scan_id, "shared", row[0])
            objs = self._shared[scan_id] = SharedObjects(fetch)
        return objs

    def _text(self, scan_id: int, kind: str, value: str | bytes) -> str:
        """A stored column's JSON text: as written before v4 (TEXT) or compressed (BLOB)."""
        if isinstance(value, str):
            return value
        zd = None
        if needs_dictionary(value):
            zd = self._dicts_of(scan_id).get(kind) or self._dicts_of(scan_id, reload=True).get(kind)
            if zd is None:
                raise StoreError(f"scan {scan_id}: a stored row needs the {kind} dictionary, "
                                 "which is missing")
        return decompress(value, zd)

    def _decode(self, scan_id: int, evidence, findings, verdict) -> DomainResult:
        return DomainResult(
            self.shared_objects(scan_id).evidence(self._text(scan_id, "evidence", evidence)),
            loads(tuple[Finding, ...], self._text(scan_id, "findings", findings)),
            loads(Verdict, self._text(scan_id, "verdict", verdict)))


class ResultStream(Iterator[DomainResult]):
    """An iterator of results that also knows how many there are."""

    def __init__(self, rows: Iterator[DomainResult], count: int) -> None:
        self._rows, self._count = rows, count

    def __next__(self) -> DomainResult:
        return next(self._rows)

    def __len__(self) -> int:
        return self._count


def diff_key(domain: str, input_text: str) -> tuple[bool, str]:
    """How scans are matched domain by domain; the order of ``results(by_domain=True)``."""
    return (domain == "", domain or input_text)


def _scan_record(row: tuple) -> ScanRecord:
    (id_, started, finished, profile, options, version, domains, compliant, errors, state,
     inputs, out, invalid, environment) = row
    return ScanRecord(id_, started, finished, profile, json.loads(options), version, domains,
                      compliant, errors, state, None if inputs is None else json.loads(inputs),
                      out, invalid, None if environment is None else
                      loads(ScanEnvironment, environment))


_INSERT_RESULT = "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_DICT_PATIENCE = 100   # rows stored without a dictionary before any valid row will do


def _row(scan_id: int, r: DomainResult, evidence: bytes, findings: bytes, verdict: bytes) -> tuple:
    ev = r.evidence
    return (scan_id, ev.position, ev.domain, ev.input, r.status, int(r.verdict.compliant),
            r.verdict.score, evidence, findings, verdict)


def _typical(rows: list[tuple[DomainResult, str | bytes]], any_valid: bool
             ) -> tuple[DomainResult, str | bytes] | None:
    """The row whose texts make the scan's dictionaries: a scanned valid domain with SMTP
    evidence (its findings carry most messages a scan repeats), or after ``_DICT_PATIENCE``
    rows without one, any scanned valid domain."""
    for r, skeleton in rows:
        ev = r.evidence
        if ev.valid and not ev.error and (ev.smtp or any_valid):
            return r, skeleton
    return None


def _dumps(obj: object) -> str:
    # = json.dumps(to_jsonable(obj), ensure_ascii=False, separators=(",", ":")), byte for byte
    return dumps(obj)
