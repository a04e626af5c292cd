"""The wheel is what users install: build it, install it into a fresh venv, and render a
report from the installed copy (templates must ship inside the wheel), not the source tree."""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    pytest.importorskip("hatchling", reason="the test extra installs hatchling (pip install -e '.[test]')")
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(dist), str(ROOT)], check=True, timeout=300)
    (whl,) = dist.glob("mxaudit-*.whl")
    return whl


def test_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "reports/templates/report.html.j2" in names
    assert "reports/templates/paper.css" in names
    assert {"reports/schema/results-line.schema.json",
            "reports/schema/manifest.schema.json"} <= names
    assert "scanner/profiles/baseline.toml" in names
    assert "scanner/lab/world.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "mxaudit = scanner.cli:main" in text


def test_installed_copy_renders_a_report(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    # Dependencies come from this test environment (no network needed); the project itself
    # only from the wheel.
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    deps = sysconfig.get_paths()["purelib"]
    Path(site, "_deps_from_test_env.pth").write_text(deps + "\n")
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True,
                   timeout=300)
    script = textwrap.dedent("""
        import pathlib, sys
        import scanner, reports
        from scanner.evidence import DomainEvidence
        from scanner.result import judge
        from scanner.api import get_profile
        from scanner.checks import all_checks
        assert pathlib.Path(scanner.__file__).is_relative_to(sys.prefix), scanner.__file__
        assert pathlib.Path(reports.__file__).is_relative_to(sys.prefix), reports.__file__
        r = judge(DomainEvidence(position=0, input="bad input!", domain="",
                                 invalid_reason="contains whitespace"), get_profile("baseline"))
        meta = {"scan_id": 1, "started": "s", "finished": "f", "profile": "baseline", "version": "v"}
        reports.write_reports(pathlib.Path("out"), [r], get_profile("baseline"), meta)
        print(pathlib.Path("out/report.html").read_text()[:200])
    """)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run([str(py), "-c", script], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<!DOCTYPE html>" in html and "bad input!" in html
    assert "domain.valid" in (tmp_path / "out" / "domains.csv").read_text()
    help_run = subprocess.run([str(venv / "bin" / "mxaudit"), "--help"], env=env,
                              capture_output=True, text=True, timeout=60)
    assert help_run.returncode == 0 and "mxaudit demo" in help_run.stdout
    # the installed console script's report worker (a second process) imports the installed
    # package too: a scan of junk lines (no lookups) with the worker forced on
    (tmp_path / "junk.txt").write_text("bad input!\nnot a domain\n")
    scan = subprocess.run([str(venv / "bin" / "mxaudit"), "scan", "junk.txt", "--out", "scan-out",
                           "--db", "h.sqlite", "--nameserver", "127.0.0.1:9", "--log-format", "json"],
                          cwd=tmp_path, env=dict(env, MXAUDIT_REPORT_WORKER="1"),
                          capture_output=True, text=True, timeout=120)
    assert scan.returncode == 0, scan.stderr
    assert '"reports_by":"worker"' in scan.stderr, scan.stderr
    assert "not a domain" in (tmp_path / "scan-out" / "domains.csv").read_text()
    # the schemas ship in the wheel: the installed copy prints them and verifies its own output
    schema = subprocess.run([str(venv / "bin" / "mxaudit"), "schema", "results"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert schema.returncode == 0 and '"$defs"' in schema.stdout, schema.stderr
    verify = subprocess.run([str(venv / "bin" / "mxaudit"), "verify", "scan-out"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0, verify.stderr
