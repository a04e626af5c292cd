"""Reports from two nights (issue 14, item 9): a failure while writing the reports (disk
full in the middle of results.jsonl) leaves the previous set as it was, keeps the scan
resumable (state ``running``) and exits 74 with one line; ``scan --resume`` then writes the
reports and completes the scan."""
from __future__ import annotations

import json

import pytest

from tests.hostile.test_no_hang import run_faulty, scan_args

pytestmark = pytest.mark.lab

FILES = ("domains.csv", "findings.csv", "results.jsonl", "report.html", "manifest.json")
DISK_FULL = """
import errno
from contextlib import contextmanager
import reports.files as f
real = f.FileSet.text

class Full:
    def __init__(self, fh):
        self.fh, self.written = fh, 0
    def write(self, data):
        self.written += len(data)
        if self.written > 3000:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.fh.write(data)
    def __getattr__(self, name):
        return getattr(self.fh, name)

@contextmanager
def text(self, path, **kw):
    with real(self, path, **kw) as fh:
        yield Full(fh) if path.name == "results.jsonl" else fh
f.FileSet.text = text
"""


def test_disk_full_keeps_the_old_set_and_the_scan(lab, tmp_path, unique_zone):
    zones = [unique_zone() for _ in range(8)]
    for z in zones:
        lab.dns.add_zone(z, '@ TXT "v=spf1 -all"\n')
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(zones[:4]) + "\n")
    args = scan_args(lab, tmp_path, listing)
    env = {"MXAUDIT_REPORT_WORKER": "0"}
    first = run_faulty(args, env=env)
    assert first.returncode == 0, first.stderr
    out = tmp_path / "out"
    before = {name: (out / name).read_bytes() for name in FILES}

    listing.write_text("\n".join(zones) + "\n")
    failed = run_faulty(args, DISK_FULL, env=env)
    assert failed.returncode == 74, failed.stderr
    last = failed.stderr.splitlines()[-1]
    assert last.startswith(f"mxaudit: error: cannot write {out / 'results.jsonl'}: "
                           "No space left on device; the previous reports are untouched")
    assert "scan --resume" in last and "Traceback" not in failed.stderr
    assert {name: (out / name).read_bytes() for name in FILES} == before
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)     # no temporary file left
    history = run_faulty(["history", "--json", "--db", tmp_path / "db.sqlite"])
    assert history.returncode == 0, history.stderr
    states = [json.loads(line)["state"] for line in history.stdout.splitlines()]
    assert sorted(states) == ["complete", "running"]

    resumed = run_faulty(["scan", "--resume", "--db", tmp_path / "db.sqlite"], env=env)
    assert resumed.returncode == 0, resumed.stderr
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["domain"] for r in rows] == zones
    history = run_faulty(["history", "--json", "--db", tmp_path / "db.sqlite"])
    assert history.returncode == 0, history.stderr
    assert [json.loads(line)["state"] for line in history.stdout.splitlines()] == ["complete"] * 2
