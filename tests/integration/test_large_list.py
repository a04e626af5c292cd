"""A 100,000-line list streams with flat memory and yields exactly one row per distinct input.

100k real DNS lookups would be too slow for a test, so the list is mostly junk lines (30,000 distinct, each
a row failing domain.valid, no network), a few hundred NXDOMAIN names, and many duplicates
of a few real domains (dropped after the first). Peak RSS of the child is bounded.
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.slow]

LINES = 100_000
JUNK, NX, REAL = 30_000, 300, 5
MAX_RSS_MB = 300
REPO = Path(__file__).resolve().parents[2]


# The scan's own peak (its report worker included): RUSAGE_CHILDREN of the test process would be
# the largest child the whole session ever ran (a PDF renderer, say), not this scan.
MEASURED = ("import resource, sys\nfrom scanner.cli import main\ncode = main(sys.argv[1:])\n"
            "peak = max(resource.getrusage(who).ru_maxrss\n"
            "           for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))\n"
            "sys.stderr.write(f'peak-rss-kib {peak}\\n')\nsys.exit(code)\n")


def run_measured(args, timeout):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-c", MEASURED, *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def test_100k_lines_stream(lab, tmp_path, unique_zone):
    z = unique_zone()
    ip = lab.allocate_ip()
    lab.dns.add_zone(z, "".join(f"r{i} MX 10 mx.{z}.\n" for i in range(REAL)) + f"mx A {ip}\n")
    real = [f"r{i}.{z}" for i in range(REAL)]
    lines, junk, nx = [], 0, 0
    for i in range(LINES):
        if i % 10 < 3 and junk < JUNK:
            lines.append(f"junk line {junk} !")
            junk += 1
        elif i % 300 == 7 and nx < NX:
            lines.append(f"nx{nx}.{z}")
            nx += 1
        else:
            lines.append(real[(i // 10) % REAL].upper())
    assert (len(lines), junk, nx) == (LINES, JUNK, NX)
    (tmp_path / "big.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")

    proc = run_measured(["scan", tmp_path / "big.txt", "--nameserver", lab.nameserver, "--allow-private",
                    "--out", tmp_path / "out", "--db", tmp_path / "db.sqlite", "--timeout", "2",
                    "--mta-sts-port", lab.ports["https"], "-q", *lab.port_args()], timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    peak_mb = int(proc.stderr.rsplit("peak-rss-kib ", 1)[1]) / 1024
    assert peak_mb < MAX_RSS_MB

    with open(tmp_path / "out" / "domains.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == JUNK + NX + REAL
    valid = [r for r in rows if r["domain.valid"] == "pass"]
    assert [r["domain"] for r in valid if r["domain.exists"] == "pass"] == real
    assert sum(r["domain.exists"] == "fail" for r in valid) == NX
    assert sum(r["domain.valid"] == "fail" for r in rows) == JUNK
    assert rows[0]["input"] == "junk line 0 !"
    assert rows[3]["input"] == real[0].upper()
