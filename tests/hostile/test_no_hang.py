"""No hang, no lost domain (issue 14, item 1): an input problem is exit 2 naming the file
and the line, before any domain is scanned; a crash anywhere in the pipeline ends the scan
with exit 70 and one line, never a hang (each scan below runs under a process timeout)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.lab


def run_faulty(args, prelude: str = "", *, env: dict | None = None, input: str | None = None,
               timeout: float = 90) -> subprocess.CompletedProcess:
    """``mxaudit ARGS`` in a subprocess, after ``prelude`` (Python that injects a fault)."""
    code = ("import sys\n" + prelude +
            "\nfrom scanner.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    full = dict(os.environ, PYTHONPATH=str(REPO), **(env or {}))
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=REPO, env=full,
                          input=input, capture_output=True, text=True, timeout=timeout,
                          stdin=None if input is not None else subprocess.DEVNULL)


def scan_args(lab, tmp_path, *lists):
    return ["scan", *lists, "--nameserver", lab.nameserver, "--allow-private", "--timeout", "1",
            "--out", tmp_path / "out", "--db", tmp_path / "db.sqlite", *lab.port_args()]


@pytest.fixture
def zones(lab, unique_zone):
    names = [unique_zone() for _ in range(6)]
    for z in names:
        lab.dns.add_zone(z, f'@ TXT "v=spf1 -all"\n')
    return names


@pytest.mark.parametrize("tail", ["x" * (200 * 1024), "c.test\nd.test\n"],
                         ids=["quote-then-200KiB", "quote-then-two-lines"])
def test_unbalanced_quote_in_csv_is_exit_2_naming_file_and_line(lab, tmp_path, zones, tail):
    """Before issue 14: with >128 KiB behind the quote the scan hung (csv.Error lost in a
    worker); with less, the following lines merged into one invalid row and vanished."""
    listing = tmp_path / "list.csv"
    listing.write_text(f"domain,owner\n{zones[0]},a\n\"{zones[1]},b\n{tail}\n{zones[2]},c\n")
    proc = run_faulty(scan_args(lab, tmp_path, listing))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"mxaudit: error: {listing} line 3: ")
    assert "unbalanced quote" in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert lab.dns.query_counts[(zones[0], "MX")] == 0       # nothing was scanned


def test_unbalanced_quote_on_stdin_is_exit_2(lab, tmp_path, zones):
    proc = run_faulty(scan_args(lab, tmp_path, "-"),
                      input=f"domain\n{zones[0]}\n\"{zones[1]}\n{zones[2]}\n")
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.splitlines()[-1]     # the scan had started: stdin is read as it goes
    assert last.startswith("mxaudit: error: stdin line 3: a quoted field runs over 2 lines")


FAULTS = {
    "input-stream": """
import scanner.inputs as m
real = m.make_target
def make_target(text, *a):
    if text.startswith("crash."):
        raise RuntimeError("injected")
    return real(text, *a)
m.make_target = make_target
""",
    "collector": """
import scanner.run.stream as m
real = m.collect_domain
async def collect_domain(ctx, target, position):
    if position == 3:
        raise RuntimeError("injected")
    return await real(ctx, target, position)
m.collect_domain = collect_domain
""",
    "sink": """
import scanner.run.stream as m
real = m.judge
def judge(ev, profile):
    if ev.position == 3:
        raise RuntimeError("injected")
    return real(ev, profile)
m.judge = judge
""",
    "store": """
import scanner.store as m
def add_result(self, scan_id, r):
    raise RuntimeError("injected")
m.Store.add_result = add_result
""",
    "report-worker-handling": """
import scanner.run.worker as m
def _take(self, data):
    raise RuntimeError("injected")
m.ReportWorker._take = _take
""",
}


@pytest.mark.parametrize("where", sorted(FAULTS))
def test_a_crash_anywhere_is_exit_70_never_a_hang(lab, tmp_path, zones, where):
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(zones[:3] + ["crash.test"] + zones[3:]) + "\n")
    env = {"MXAUDIT_REPORT_WORKER": "1" if where == "report-worker-handling" else "0"}
    proc = run_faulty(scan_args(lab, tmp_path, listing), FAULTS[where], env=env)
    assert proc.returncode == 70, proc.stderr
    last = proc.stderr.splitlines()[-1]
    assert last.startswith("mxaudit: internal error: RuntimeError: injected")
    assert "Traceback" not in proc.stderr
