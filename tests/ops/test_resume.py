"""Resume after SIGKILL, clean stop on SIGTERM/SIGINT (exit 3), and a crash while writing
reports leaving the previous report intact: real processes against the lab."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..conftest import REPO
from .conftest import alive, children, db_rows, read_csv

pytestmark = pytest.mark.lab
N = 8


@pytest.fixture(params=["0", "1"], ids=["in-process-reports", "report-worker"])
def report_writer(request, monkeypatch):
    """Tests using this run twice: reports by the scan process, and by the report worker
    (forced on: these lists are too short for it to start by itself)."""
    monkeypatch.setenv("MXAUDIT_REPORT_WORKER", request.param)
    return request.param


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _slow_domains(lab, make_domains) -> list[str]:
    """Domains whose every apex query the lab DNS answers after 0.2 s: a scan of them with
    --concurrency 1 runs long enough to be stopped midway."""
    names = make_domains(N)
    for name in names:
        lab.dns.set_behaviour(name, "delay", delay=0.2)
    return names


def _start_scan(tmp_path: Path, listing: Path, lab_args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "scanner", "scan", listing, "--db", tmp_path / "h.sqlite",
         "--out", tmp_path / "out", "--concurrency", "1", "--log-format", "json", *lab_args],
        cwd=REPO, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)


def _wait_for_results(db: Path, at_least: int, proc: subprocess.Popen, limit: float = 30) -> int:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if db.exists():
            try:
                (n,), = db_rows(db, "SELECT COUNT(*) FROM results")
            except Exception:   # the table may not exist yet
                n = 0
            if n >= at_least:
                return n
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the scan did not get going in time")


def _wait_gone(pids: list[int], limit: float = 10) -> None:
    deadline = time.monotonic() + limit
    while any(alive(p) for p in pids):
        assert time.monotonic() < deadline, "the report worker outlived its scan"
        time.sleep(0.05)


def test_sigkill_midway_then_resume_loses_and_repeats_nothing(lab, tmp_path, run_cli,
                                                              make_domains, lab_args,
                                                              report_writer):
    names = _slow_domains(lab, make_domains)
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"{n}\n" for n in names))
    db = tmp_path / "h.sqlite"
    proc = _start_scan(tmp_path, listing, lab_args)
    _wait_for_results(db, 3, proc)
    workers = children(proc.pid)
    proc.kill()                                    # SIGKILL: no cleanup at all
    proc.communicate(timeout=10)
    _wait_gone(workers)       # a report worker stores the evidence it was sent, then exits
    before = {p for (p,) in db_rows(db, "SELECT position FROM results")}
    assert 3 <= len(before) < N
    assert db_rows(db, "SELECT id, state, finished FROM scans") == [(1, "running", None)]

    done = run_cli(["scan", "--resume", "--db", db, "--log-format", "json"], timeout=60)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stderr.splitlines()]
    rescanned = [e["domain"] for e in events if e["event"] == "domain"]
    assert sorted(rescanned) == sorted(names[p] for p in range(N) if p not in before)
    assert events[0]["event"] == "start" and events[0]["already_done"] == len(before)
    assert events[-1]["reports_by"] == ("worker" if report_writer == "1" else "scan")
    assert db_rows(db, "SELECT id, state, domains FROM scans") == [(1, "complete", N)]
    assert db_rows(db, "SELECT position, domain FROM results ORDER BY position") == \
           list(enumerate(names))
    assert [r["domain"] for r in read_csv(tmp_path / "out" / "domains.csv")] == names
    assert not list(tmp_path.glob("h.sqlite.scan-*.lock"))

    again = run_cli(["scan", "--resume", "--db", db], timeout=30)
    assert again.returncode == 2 and "nothing to resume" in again.stderr


@pytest.mark.usefixtures("report_writer")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly_with_exit_3_and_reports_what_finished(lab, tmp_path, run_cli,
                                                                    make_domains, lab_args, sig):
    names = _slow_domains(lab, make_domains)
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"{n}\n" for n in names))
    db = tmp_path / "h.sqlite"
    proc = _start_scan(tmp_path, listing, lab_args)
    _wait_for_results(db, 2, proc)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 3, stderr
    events = [json.loads(line) for line in stderr.splitlines()]
    assert [e["event"] for e in events][-2:] == ["interrupted", "summary"]
    assert events[-2]["signal"] == sig.name and events[-1]["state"] == "interrupted"
    (state, finished, count), = db_rows(db, "SELECT state, finished, domains FROM scans")
    assert state == "interrupted" and finished and 2 <= count < N
    rows = read_csv(tmp_path / "out" / "domains.csv")
    assert [r["domain"] for r in rows] == sorted(
        (n for n in names if n in {r["domain"] for r in rows}), key=names.index)
    assert len(rows) == count == events[-1]["domains"]

    done = run_cli(["scan", "--resume", "--db", db, "-q"], timeout=60)
    assert done.returncode == 0 and done.stderr == ""
    assert [r["domain"] for r in read_csv(tmp_path / "out" / "domains.csv")] == names


def test_resume_refuses_changed_inputs_and_extra_options(lab, tmp_path, run_cli, make_domains,
                                                         lab_args):
    names = _slow_domains(lab, make_domains)
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"{n}\n" for n in names))
    db = tmp_path / "h.sqlite"
    proc = _start_scan(tmp_path, listing, lab_args)
    _wait_for_results(db, 1, proc)
    proc.kill()
    proc.communicate(timeout=10)
    extra = run_cli(["scan", "--resume", "--db", db, "--timeout", "3"], timeout=30)
    assert extra.returncode == 2 and "drop --timeout" in extra.stderr
    listing.write_text("".join(f"{n}\n" for n in reversed(names)))
    changed = run_cli(["scan", "--resume", "--db", db], timeout=30)
    assert changed.returncode == 2 and "domain list changed" in changed.stderr


CRASH_DURING_HTML = """
import os, signal, sys
import jinja2
real = jinja2.Template.generate
def generate(self, *a, **kw):
    for i, chunk in enumerate(real(self, *a, **kw)):
        if i == 3:
            os.kill(os.getpid(), signal.SIGKILL)   # the process dies mid-report
        yield chunk
jinja2.Template.generate = generate
from scanner.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_crash_while_writing_reports_leaves_previous_report_intact(lab, tmp_path, run_cli,
                                                                   make_domains, lab_args):
    names = make_domains(2)
    out, db = tmp_path / "out", tmp_path / "h.sqlite"
    first = run_cli(["scan", "-d", names[0], "--out", out, "--db", db, *lab_args], timeout=60)
    assert first.returncode == 0, first.stderr
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(before) == {"report.html", "domains.csv", "findings.csv", "results.jsonl",
                           "manifest.json"}

    crash = subprocess.run([sys.executable, "-c", CRASH_DURING_HTML, "scan", "-d", names[1],
                            "--out", out, "--db", db, *lab_args], cwd=REPO, env=_env(),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert crash.returncode == -signal.SIGKILL, crash.stderr
    # the whole set is last night's: none of the four files was replaced (reports/files.py)
    assert {name: (out / name).read_bytes() for name in before} == before
    assert names[0].encode() in before["report.html"]
    assert names[1].encode() not in (out / "report.html").read_bytes()
    assert before["report.html"].rstrip().endswith(b"</html>")
    assert run_cli(["verify", out]).returncode == 0      # still the complete set it was
    # what the killed writer left is only its own temporary files, never a report
    left = {p.name for p in out.iterdir()} - set(before)
    assert left and all(name.startswith(".") and name.endswith(".tmp") for name in left)
