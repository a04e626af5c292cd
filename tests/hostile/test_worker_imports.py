"""Code from the current directory (issue 14, item 7): the report worker imports only the
mxaudit the scan runs, never a ``scanner/`` package in the scan's working directory (before
issue 14 it was started as ``python -m scanner.commands.report_worker``, which puts the
working directory first on sys.path)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.lab


def test_a_scanner_package_in_the_working_directory_is_not_imported(lab, tmp_path,
                                                                     unique_zone):
    cwd = tmp_path / "cwd"
    hostile = cwd / "scanner"
    hostile.mkdir(parents=True)
    marker = tmp_path / "imported"
    (hostile / "__init__.py").write_text(
        f"open({str(marker)!r}, 'w').write('hostile scanner package imported')\n"
        "raise SystemExit('hostile package')\n")
    (hostile / "run").mkdir()
    (hostile / "run" / "__init__.py").write_text("")
    (hostile / "run" / "worker.py").write_text(
        f"open({str(marker)!r}, 'w').write('hostile worker imported')\n")
    z = unique_zone()
    lab.dns.add_zone(z, '@ TXT "v=spf1 -all"\n')
    env = dict(os.environ, PYTHONPATH=str(REPO), MXAUDIT_REPORT_WORKER="1")
    # -P: the scan itself does not import from its working directory either; the worker
    # must not, whatever the scan was started with
    proc = subprocess.run([sys.executable, "-P", "-m", "scanner", "scan", "-d", z,
                           "--nameserver", lab.nameserver, "--timeout", "1", "--out",
                           tmp_path / "out", "--db", tmp_path / "db.sqlite",
                           "--log-format", "text"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists()
    summary = proc.stderr.strip().splitlines()[-1]
    assert "event=summary" in summary and "reports_by=worker" in summary
