"""``--out-compress`` (config ``out_compress``): results.jsonl.gz, the same lines gzip-compressed,
from every route that writes reports (the scan process, the report worker, ``mxaudit report``);
the default stays plain, and a folder never keeps the other variant from an earlier set."""
from __future__ import annotations

import gzip
import json

import pytest

from scanner.run import worker as report_worker

pytestmark = pytest.mark.lab


def _lines(folder) -> bytes:
    return gzip.decompress((folder / "results.jsonl.gz").read_bytes())


@pytest.mark.parametrize("mode", ["0", "1"], ids=["scan-process", "report-worker"])
def test_scan_writes_results_jsonl_gz_when_asked(lab, tmp_path, run_cli, make_domains, lab_args,
                                                 monkeypatch, mode):
    monkeypatch.setenv(report_worker.ENV, mode)
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join([*make_domains(3), "not a domain!"]) + "\n")
    db, out = tmp_path / "h.sqlite", tmp_path / "out"
    proc = run_cli(["scan", listing, "--db", db, "--out", out, "-q", *lab_args])
    assert proc.returncode == 0, proc.stderr
    plain = (out / "results.jsonl").read_bytes()
    assert not (out / "results.jsonl.gz").exists()

    proc = run_cli(["scan", listing, "--db", db, "--out", out, "-q", "--out-compress",
                    *lab_args])
    assert proc.returncode == 0, proc.stderr
    assert not (out / "results.jsonl").exists()          # the stale plain file is gone
    raw = (out / "results.jsonl.gz").read_bytes()
    assert raw[:2] == b"\x1f\x8b" and raw[4:8] == b"\0\0\0\0"   # gzip, no timestamp
    lines = _lines(out).decode().splitlines()
    assert len(lines) == 4 and lines[3].startswith('{"domain":"","input":"not a domain!"')
    # the manifest lists what is there, and the folder verifies
    files = json.loads((out / "manifest.json").read_text())["files"]
    assert "results.jsonl.gz" in files and "results.jsonl" not in files
    assert files["results.jsonl.gz"]["bytes"] == len(raw)
    proc = run_cli(["verify", out])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the same lines as a plain rendering of that scan
    proc = run_cli(["report", "2", "--db", db, "--out", tmp_path / "plain"])
    assert proc.returncode == 0, proc.stderr
    assert _lines(out) == (tmp_path / "plain" / "results.jsonl").read_bytes()
    assert len(plain.splitlines()) == 4


def test_report_and_config_key(lab, tmp_path, run_cli, make_domains, lab_args):
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(make_domains(2)) + "\n")
    db = tmp_path / "h.sqlite"
    config = tmp_path / "config.toml"
    config.write_text("out_compress = true\n")
    proc = run_cli(["scan", listing, "--db", db, "--out", tmp_path / "a", "-q",
                    "--config", config, *lab_args])
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "a" / "results.jsonl.gz").exists()
    assert not (tmp_path / "a" / "results.jsonl").exists()
    proc = run_cli(["report", "latest", "--db", db, "--out", tmp_path / "b", "--config", config])
    assert proc.returncode == 0, proc.stderr
    assert _lines(tmp_path / "b") == _lines(tmp_path / "a")
    proc = run_cli(["report", "latest", "--db", db, "--out", tmp_path / "b"])   # no config: plain
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "b" / "results.jsonl").read_bytes() == _lines(tmp_path / "a")
    assert not (tmp_path / "b" / "results.jsonl.gz").exists()
