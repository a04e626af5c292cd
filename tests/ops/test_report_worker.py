"""The report worker: reports rendered by a second process while the scan runs must be the
same bytes as the scan process renders after it; a killed scan leaves no partial reports and
no stray worker; a worker that fails costs only time."""
from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scanner.api import get_profile
from scanner.run import worker as report_worker
from reports.stored import render_scan
from scanner.run.driver import Job, _reports
from scanner.options import ScanOptions
from scanner.run.progress import Progress
from scanner.store import Store

from ..conftest import REPO
from .conftest import BAD_ZONE, GOOD_ZONE, alive, children, db_rows

pytestmark = pytest.mark.lab
FILES = ("report.html", "domains.csv", "findings.csv", "results.jsonl")


def _events(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_worker_writes_the_same_bytes_as_the_scan_process(lab, tmp_path, run_cli, make_domains,
                                                          lab_args, monkeypatch):
    good, bad = make_domains(3), make_domains(2, BAD_ZONE)
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join([*bad, "not a domain!", *good, "nxd.invalid-tld-xyz"]) + "\n")
    db = tmp_path / "h.sqlite"
    monkeypatch.setenv(report_worker.ENV, "0")     # scan 1: reports by the scan process
    first = run_cli(["scan", listing, "--db", db, "--out", tmp_path / "one", "--log-format",
                     "json", *lab_args])
    assert first.returncode == 0, first.stderr
    for name in bad:                                # scan 2 differs: a "since" section
        lab.dns.add_zone(name, GOOD_ZONE)
    monkeypatch.setenv(report_worker.ENV, "1")
    second = run_cli(["scan", listing, "--db", db, "--out", tmp_path / "two", "--log-format",
                      "json", *lab_args])
    assert second.returncode == 0, second.stderr
    summary = next(e for e in _events(second.stderr) if e["event"] == "summary")
    assert (summary["domains"], summary["compliant"], summary["reports_by"]) == (7, 5, "worker")

    again = tmp_path / "again"
    again.mkdir()
    with Store(db) as store:
        render_scan(store, 2, again, get_profile("baseline"))
    for name in FILES:
        assert (tmp_path / "two" / name).read_bytes() == (again / name).read_bytes(), name
    assert "Since the previous scan" in (again / "report.html").read_text()


def test_a_killed_scan_leaves_no_reports_and_no_worker(lab, tmp_path, make_domains, lab_args):
    names = make_domains(6)
    for name in names:
        lab.dns.set_behaviour(name, "delay", delay=0.3)
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"{n}\n" for n in names))
    env = dict(os.environ, PYTHONPATH=str(REPO), **{report_worker.ENV: "1"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "scanner", "scan", listing, "--db", tmp_path / "h.sqlite",
         "--out", tmp_path / "out", "--concurrency", "1", "-q", *lab_args],
        cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    workers = []
    while not workers and time.monotonic() < deadline:
        workers = children(proc.pid)
        time.sleep(0.05)
    assert workers, "no report worker started"
    time.sleep(0.5)                                   # a domain or two finished
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    deadline = time.monotonic() + 10
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(w) for w in workers)
    assert not any((tmp_path / "out" / name).exists() for name in FILES)


def test_a_scan_that_ends_smaller_than_announced_is_laid_out_for_its_real_size(
        lab, tmp_path, run_cli, make_domains, lab_args, monkeypatch):
    """An interrupted scan of a long list: the worker assumed compact details, the scan ended
    under the limit, so the reports are rendered as ``render_scan`` would."""
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(make_domains(3)) + "\n")
    db = tmp_path / "h.sqlite"
    monkeypatch.setenv(report_worker.ENV, "0")
    assert run_cli(["scan", listing, "--db", db, "--out", tmp_path / "x", "-q", *lab_args]).returncode == 0
    import reports.html
    monkeypatch.setattr(reports.html, "FULL_DETAIL_LIMIT", 5)
    out = tmp_path / "worker"
    out.mkdir()
    read, write = os.pipe()
    os.write(write, b"D\nF\n")
    os.close(write)
    answers = []
    with Store(db) as store:
        with pytest.raises(report_worker._Relayout):
            report_worker._Worker(store, 1, out, 10, get_profile("baseline"), None,
                                  report_worker._Messages(read), answers.append).run()
    os.close(read)
    assert answers == [b"D\n"]
    assert not any(out.iterdir())                     # nothing half-written is left


class _FailedWorker:
    error = "RuntimeError: boom"

    def finish(self):
        return None


def test_a_failed_worker_costs_only_time(lab, tmp_path, run_cli, make_domains, lab_args,
                                         monkeypatch):
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(make_domains(2)) + "\n")
    db = tmp_path / "h.sqlite"
    monkeypatch.setenv(report_worker.ENV, "0")
    assert run_cli(["scan", listing, "--db", db, "--out", tmp_path / "x", "-q", *lab_args]).returncode == 0
    log = io.StringIO()
    progress = Progress(bar=False, log_format="json", quiet=False, total=2, done=0, stream=log)
    with Store(db) as store:
        job = Job(store, store.scan(1), ScanOptions(), get_profile("baseline"), tmp_path / "y",
                  progress)
        summary = _reports(job, _FailedWorker(), progress)
    assert summary["domains"] == 2 and summary["reports_by"] == "scan"
    assert all((tmp_path / "y" / name).exists() for name in FILES)
    warning = [e for e in _events(log.getvalue()) if e["event"] == "report-worker"]
    assert warning and warning[0]["level"] == "warning" and "boom" in warning[0]["error"]


def test_a_worker_that_dies_before_answering_is_explained_by_its_last_words(tmp_path):
    """No answer on stdout (an import error, say): the error names the exit status and the
    last line the worker wrote to stderr."""
    import tempfile
    stderr = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.buffer.read(); "
         "sys.stderr.write('Traceback...\\nModuleNotFoundError: no module named x\\n'); sys.exit(1)"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)
    worker = report_worker.ReportWorker(proc, stderr)
    assert worker.finish(timeout=30) is None
    assert worker.error == "exit status 1: ModuleNotFoundError: no module named x"
    worker.abandon()


def _stored(db: Path) -> list[tuple]:
    """What a scan stored per domain, without the evidence (its timestamps differ)."""
    return db_rows(db, "SELECT position, domain, input, status, compliant, score, findings, "
                       "verdict FROM results ORDER BY position")


def test_the_worker_judges_and_stores_as_the_scan_process_does(lab, tmp_path, run_cli,
                                                               make_domains, lab_args,
                                                               monkeypatch):
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join([*make_domains(2, BAD_ZONE), "not a domain!", *make_domains(2),
                                  "nxd.invalid-tld-xyz"]) + "\n")
    stored = {}
    for mode in ("0", "1"):
        monkeypatch.setenv(report_worker.ENV, mode)
        db = tmp_path / f"h{mode}.sqlite"
        done = run_cli(["scan", listing, "--db", db, "--out", tmp_path / mode, "--fail-on",
                        "fail", "--log-format", "json", *lab_args])
        assert done.returncode == 1, done.stderr          # the bad domains match --fail-on
        events = _events(done.stderr)
        assert events[-1]["reports_by"] == ("worker" if mode == "1" else "scan")
        stored[mode] = (_stored(db), sorted((e["domain"], e["status"], e["compliant"], e["score"])
                                            for e in events if e["event"] == "domain"))
    assert stored["1"] == stored["0"]
    assert len(stored["1"][0]) == 6


def test_a_worker_killed_mid_scan_leaves_its_domains_to_the_scan(lab, tmp_path, make_domains,
                                                                  lab_args):
    names = make_domains(8)
    for name in names:
        lab.dns.set_behaviour(name, "delay", delay=0.2)
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"{n}\n" for n in names))
    db = tmp_path / "h.sqlite"
    env = dict(os.environ, PYTHONPATH=str(REPO), **{report_worker.ENV: "1"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "scanner", "scan", listing, "--db", db, "--out", tmp_path / "out",
         "--concurrency", "2", "--log-format", "json", *lab_args],
        cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if db.exists() and db_rows(db, "SELECT COUNT(*) FROM results")[0][0] >= 2:
                    break
            except sqlite3.OperationalError:      # not created yet
                pass
            time.sleep(0.05)
        workers = children(proc.pid)
        assert len(workers) == 1, "no report worker"
        os.kill(workers[0], signal.SIGKILL)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    events = _events(stderr)
    warning = [e for e in events if e["event"] == "report-worker"]
    assert warning and "exit status -9" in warning[0]["error"]
    assert sorted(e["domain"] for e in events if e["event"] == "domain") == sorted(names)
    assert events[-1]["reports_by"] == "scan" and events[-1]["domains"] == 8
    assert db_rows(db, "SELECT position, domain FROM results ORDER BY position") == list(enumerate(names))
    assert [r.split(",")[0] for r in (tmp_path / "out" / "domains.csv").read_text().splitlines()[1:]] == names


class _Silent:
    """A worker process that reads and never answers (until it is killed)."""

    def __init__(self) -> None:
        import tempfile
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-c", "import sys, time; time.sleep(60)"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr)


def test_evidence_beyond_the_backlog_or_after_a_loss_comes_back_to_the_scan(monkeypatch):
    """A worker ``MAX_UNACKED`` behind takes no more (the scan judges those itself); a worker
    that dies hands back what it had not acknowledged, in input order; nothing is lost."""
    import asyncio

    from scanner.evidence import DomainEvidence
    monkeypatch.setattr(report_worker, "MAX_UNACKED", 3)
    silent = _Silent()
    worker = report_worker.ReportWorker(silent.proc, silent.stderr)
    orphans = []
    worker.on_orphan = orphans.append

    async def scan() -> list[bool]:
        worker.attach(asyncio.get_running_loop())
        taken = [worker.send(DomainEvidence(position=p, input=f"d{p}.test", domain=f"d{p}.test"))
                 for p in (2, 0, 1, 3)]
        silent.proc.kill()
        for _ in range(200):                 # the loop notices the closed pipe
            if worker.lost:
                break
            await asyncio.sleep(0.01)
        taken.append(worker.send(DomainEvidence(position=4, input="d4.test", domain="d4.test")))
        worker.detach()
        return taken

    assert asyncio.run(asyncio.wait_for(scan(), 10)) == [True, True, True, False, False]
    assert worker.lost and worker.error.startswith("exit status -9")
    assert [ev.position for ev in orphans] == [0, 1, 2]
    assert worker.finish() is None
    worker.abandon()


def test_the_worker_stores_each_shared_object_once_and_checks_its_digest(tmp_path):
    """``P`` lines carry each shared probe or MX host once; ``E`` lines refer to them."""
    import dataclasses

    from scanner.result import judge
    from scanner.store_codec import Splitter

    from ..test_serde import rich_evidence
    evs = [dataclasses.replace(rich_evidence(), position=i, input=f"d{i}.test",
                               domain=f"d{i}.test") for i in range(3)]
    splitter, lines = Splitter(), []
    for ev in evs:
        skeleton, shared = splitter.split(ev)
        lines += [b"P %s %s" % (d.encode(), text.encode()) for d, text in shared]
        lines.append(b"E " + skeleton.encode("utf-8", "surrogatepass"))
    assert sum(line.startswith(b"P ") for line in lines) == 2      # one probe, one MX host
    read, write = os.pipe()
    answers = []
    with Store(tmp_path / "h.sqlite") as store:
        sid = store.begin_scan("2026-06-01T00:00:00+00:00", "baseline", {}, "0.1.0")
        worker = report_worker._Worker(store, sid, tmp_path / "out", 3, get_profile("baseline"),
                                       None, report_worker._Messages(read), answers.append)
        assert worker._take(lines) is False
        assert list(store.results(sid)) == [judge(ev, get_profile("baseline")) for ev in evs]
        assert db_rows(tmp_path / "h.sqlite", "SELECT COUNT(*) FROM shared") == [(2,)]
        assert [a.split()[1] for a in b"".join(answers).splitlines()] == [b"0", b"1", b"2"]
        d, text = lines[0][2:].split(b" ", 1)
        tampered = b"P " + d + b" " + text.replace(b"mx.example.test", b"mx.evil.test")
        with pytest.raises(ValueError, match="does not match its digest"):
            worker._take([tampered])
    os.close(read)
    os.close(write)
