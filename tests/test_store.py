"""The scan history: per-domain writes, input-order reads, and a scan killed midway."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from scanner.errors import StoreError
from scanner.evidence import DomainEvidence
from scanner.findings import Finding, Status
from scanner.result import DomainResult
from scanner.store import Store
from scanner.verdict import Verdict

from .conftest import REPO


def result(position: int, domain: str, *, compliant=True, error="") -> DomainResult:
    ev = DomainEvidence(position, domain.upper(), domain, scanned_at="2026-06-01T00:00:00+00:00",
                        error=error)
    return DomainResult(ev, (Finding("domain.valid", domain, Status.PASS, "ok"),),
                        Verdict("baseline", compliant, 100 if compliant else 0))


def test_results_round_trip_in_input_order(tmp_path):
    with Store(tmp_path / "h.sqlite") as store:
        sid = store.begin_scan("2026-06-01T00:00:00+00:00", "baseline", {"timeout": 1.0}, "0.1.0")
        written = [result(2, "c.example"), result(0, "a.example", compliant=False),
                   result(1, "b.example", error="deadline")]
        for r in written:
            store.add_result(sid, r)
        assert list(store.results(sid)) == sorted(written, key=lambda r: r.evidence.position)
        store.finish_scan(sid, "2026-06-01T00:01:00+00:00")
        rec = store.scan(sid)
        assert (rec.domains, rec.compliant, rec.errors, rec.options) == (3, 2, 1, {"timeout": 1.0})


def test_each_result_is_visible_to_another_connection_at_once(tmp_path):
    """Written as each domain completes: another process sees it before the scan finishes."""
    with Store(tmp_path / "h.sqlite") as store:
        sid = store.begin_scan("t", "baseline", {}, "0.1.0")
        store.add_result(sid, result(0, "a.example"))
        other = sqlite3.connect(tmp_path / "h.sqlite")
        try:
            assert other.execute("SELECT domain FROM results").fetchall() == [("a.example",)]
        finally:
            other.close()


def test_unopenable_database_is_a_store_error(tmp_path):
    (tmp_path / "dir.sqlite").mkdir()
    with pytest.raises(StoreError, match="scan database"):
        Store(tmp_path / "dir.sqlite")


def test_unknown_scan_id(tmp_path):
    with Store(tmp_path / "h.sqlite") as store, pytest.raises(StoreError, match="no scan 42"):
        store.scan(42)


@pytest.mark.lab
def test_killed_scan_keeps_finished_domains(lab, tmp_path, unique_zone):
    fast = [unique_zone() for _ in range(3)]
    for z in fast:
        lab.dns.add_zone(z, "@ MX 0 .\n")
    slow = unique_zone()
    lab.dns.add_zone(slow, "@ MX 0 .\n")
    lab.dns.set_behaviour(slow, "delay", delay=15)
    db = tmp_path / "h.sqlite"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    args = [sys.executable, "-m", "scanner", "scan", "-d", fast[0], "-d", slow, "-d", fast[1],
            "-d", fast[2], "--nameserver", lab.nameserver, "--allow-private", "--timeout", "20",
            "--deadline", "30", "--out", tmp_path / "out", "--db", db, "-q",
            "--mta-sts-port", str(lab.ports["https"]), *lab.port_args()]
    proc = subprocess.Popen(list(map(str, args)), cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        done = []
        for _ in range(200):          # up to ~20 s for the three fast domains
            if db.exists():
                try:
                    con = sqlite3.connect(db)
                    done = con.execute("SELECT domain FROM results ORDER BY position").fetchall()
                    con.close()
                except sqlite3.OperationalError:
                    done = []
            if len(done) == 3 or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]   # still waiting on `slow`
        assert sorted(d for (d,) in done) == sorted(fast)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stderr.close()
    with Store(db) as store:
        (rec,) = store.scans()
        assert rec.finished is None
        results = list(store.results(rec.id))
    assert [(r.evidence.position, r.evidence.domain) for r in results] == [
        (0, fast[0]), (2, fast[1]), (3, fast[2])]
    assert not (tmp_path / "out" / "domains.csv").exists()
