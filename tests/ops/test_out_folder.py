"""An unusable --out folder is a usage error before any domain is scanned: one line, exit 2,
and no half-begun scan left in the history."""
from __future__ import annotations

import sqlite3


def test_out_that_is_a_file_exits_2_before_scanning(lab, run_cli, tmp_path):
    not_a_folder = tmp_path / "report.txt"
    not_a_folder.write_text("x")
    db = tmp_path / "h.sqlite"
    proc = run_cli(["scan", "-d", "never-scanned.test", "--out", not_a_folder, "--db", db,
                    "--nameserver", lab.nameserver, "--timeout", "0.5", *lab.port_args()])
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"mxaudit: error: --out {not_a_folder}: exists and is not a folder"]
    assert "never-scanned" not in str(lab.dns.query_counts)       # nothing was looked up
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM scans").fetchone() == (0,)
