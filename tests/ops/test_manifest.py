"""manifest.json and `mxaudit verify`: every route that writes a report set writes a manifest
of exactly the files it wrote; a changed byte or a missing file makes verify exit 1 naming it;
no usable manifest is a usage error (exit 2)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from reports import write_reports
from reports.files import FileSet
from reports.manifest import describe, publish, redact
from reports.summary import Summary
from scanner.api import get_profile
from scanner.errors import OutputError
from scanner.store import Store

from ..reports.test_outputs import results
from .conftest import BAD_ZONE, GOOD_ZONE

pytestmark = pytest.mark.lab
SET = ["domains.csv", "findings.csv", "report.html", "results.jsonl"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture
def lab_scan(lab, tmp_path, run_cli, make_domains, lab_args):
    """A scan of three lab domains (two good, one bad) and an invalid line, from a file."""
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join([*make_domains(2), *make_domains(1, BAD_ZONE), "not a domain!"])
                       + "\n")
    proc = run_cli(["scan", listing, "--db", tmp_path / "h.sqlite", "--out", tmp_path / "out",
                    "-q", "--ehlo-name", "audit.example", *lab_args])
    assert proc.returncode == 0, proc.stderr
    return tmp_path / "out", listing


def test_scan_manifest_lists_every_file_inputs_options_and_counts(lab_scan):
    out, listing = lab_scan
    m = manifest(out)
    assert sorted(m["files"]) == SET
    for name, entry in m["files"].items():
        assert entry == {"sha256": sha256(out / name), "bytes": (out / name).stat().st_size}
    assert m["inputs"] == {"files": [{"path": str(listing.resolve()), "sha256": sha256(listing)}],
                           "domains": []}
    assert m["options"]["ehlo_name"] == "audit.example" and m["options"]["allow_private"] is True
    assert m["scan"]["id"] == 1 and m["scan"]["profile"] == "baseline"
    assert m["scan"]["started"] <= m["scan"]["finished"] and m["written"].endswith("Z")
    assert m["profile"]["name"] == "baseline" and len(m["profile"]["sha256"]) == 64
    summary = m["summary"]
    assert (summary["domains"], summary["compliant"], summary["invalid"]) == (4, 2, 1)
    assert summary["not_compliant"] + summary["undetermined"] + summary["compliant"] == 4
    assert summary["checks"]["spf.all"]["fail"] == 1 and summary["since_previous"] is None


def test_verify_passes_then_names_a_flipped_byte_and_a_missing_file(lab_scan, run_cli):
    out, _ = lab_scan
    ok = run_cli(["verify", out])
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[:4] == [f"{name}: OK" for name in SET]
    assert f"manifest.json: sha256 {sha256(out / 'manifest.json')}" in ok.stdout

    data = bytearray((out / "findings.csv").read_bytes())
    data[len(data) // 2] ^= 0x01                       # one bit of one byte
    (out / "findings.csv").write_bytes(bytes(data))
    changed = run_cli(["verify", out])
    assert changed.returncode == 1
    assert "findings.csv: CHANGED" in changed.stdout and "domains.csv: OK" in changed.stdout
    assert "1 of 4 files do not match manifest.json: findings.csv (changed)" in changed.stderr

    (out / "report.html").unlink()
    missing = run_cli(["verify", out])
    assert missing.returncode == 1 and "report.html: MISSING" in missing.stdout
    assert "findings.csv (changed), report.html (missing)" in missing.stderr


@pytest.mark.parametrize("text, message", [
    (None, "no manifest.json"),
    ("{not json", "not valid JSON"),
    ('{"files": {}}', "not an mxaudit manifest"),
    ('{"files": {"../secret": {"sha256": "' + "0" * 64 + '"}}}', "not a file of this folder"),
    ('{"files": {"/etc/passwd": {"sha256": "' + "0" * 64 + '"}}}', "not a file of this folder"),
    ('{"files": {"report.html": {"sha256": "abc"}}}', "report.html: no SHA-256"),
    ('{"files": {"a\\u001b[2Jb": {"sha256": "' + "0" * 64 + '"}}}', "not a file of this folder"),
])
def test_verify_without_a_usable_manifest_is_a_usage_error(tmp_path, run_cli, text, message):
    if text is not None:
        (tmp_path / "manifest.json").write_text(text)
    proc = run_cli(["verify", tmp_path])
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.splitlines()) == 1


def test_verify_of_no_folder_is_a_usage_error(tmp_path, run_cli):
    proc = run_cli(["verify", tmp_path / "nope"])
    assert proc.returncode == 2 and "no such folder" in proc.stderr


def test_report_command_manifest_names_the_regrading_profile(lab_scan, run_cli, tmp_path):
    out, _ = lab_scan
    again = tmp_path / "regraded"
    proc = run_cli(["report", "latest", "--db", tmp_path / "h.sqlite", "--out", again,
                    "--profile", "bod-18-01"])
    assert proc.returncode in (0, 1), proc.stderr
    m = manifest(again)
    assert m["profile"]["name"] == "bod-18-01" and m["scan"]["profile"] == "baseline"
    assert m["inputs"] == manifest(out)["inputs"] and sorted(m["files"]) == SET
    assert run_cli(["verify", again]).returncode == 0


def test_second_scan_records_what_got_worse(lab, tmp_path, run_cli, make_domains, lab_args):
    names = make_domains(3)
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(names) + "\n")
    common = ["--db", tmp_path / "h.sqlite", "-q", *lab_args]
    assert run_cli(["scan", listing, "--out", tmp_path / "one", *common]).returncode == 0
    lab.dns.add_zone(names[1], BAD_ZONE)               # SPF +all and no DMARC now
    assert run_cli(["scan", listing, "--out", tmp_path / "two", *common]).returncode == 0
    since = manifest(tmp_path / "two")["summary"]["since_previous"]
    assert since["scan"] == 1 and since["worse_domains"] == 1
    assert since["changes"]["compliance"] == 1 and since["changes"]["worse"] >= 2
    assert since["changes"]["better"] == since["changes"]["added"] == 0
    lab.dns.add_zone(names[1], GOOD_ZONE)


def test_files_of_the_previous_set_that_the_new_one_lacks_are_removed(tmp_path):
    profile = get_profile("baseline")
    meta = {"scan_id": 1, "started": "s", "finished": "f", "profile": "baseline", "version": "v"}
    (tmp_path / "report.pdf").write_bytes(b"%PDF last week's")
    (tmp_path / "notes.txt").write_text("the operator's own file")
    (tmp_path / "manifest.json").write_text(json.dumps({"files": {
        name: {"sha256": "0" * 64} for name in [*SET, "report.pdf", "../notes.txt"]}}))
    write_reports(tmp_path, results(), profile, meta)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*SET, "manifest.json",
                                                                 "notes.txt"])


def test_a_failed_set_leaves_the_previous_set_and_manifest_whole(tmp_path):
    profile = get_profile("baseline")
    meta = {"scan_id": 1, "started": "s", "finished": "f", "profile": "baseline", "version": "v"}
    write_reports(tmp_path, results(), profile, meta)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def broken():
        yield from results()
        raise OSError("disk full")

    with pytest.raises(OutputError, match="cannot write .*results.jsonl: disk full"):
        write_reports(tmp_path, broken(), profile, meta, count=2)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_publish_writes_the_manifest_last_over_exactly_the_committed_files(tmp_path):
    files = FileSet()
    with files.text(tmp_path / "a.csv") as fh:
        fh.write("x\n")
    with files.binary(tmp_path / "b.pdf") as fh:
        fh.write(b"%PDF\x00\xff")
    summary = Summary(["domain.valid"], get_profile("baseline"))
    fields = describe({"scan_id": 7, "options": {"smtp_password": "hunter2", "timeout": 3}},
                      get_profile("baseline"), summary)
    written = publish(files, tmp_path, fields)
    assert written == manifest(tmp_path)
    assert written["files"] == {"a.csv": {"sha256": hashlib.sha256(b"x\n").hexdigest(), "bytes": 2},
                                "b.pdf": {"sha256": hashlib.sha256(b"%PDF\x00\xff").hexdigest(),
                                          "bytes": 6}}
    assert written["options"] == {"smtp_password": "(redacted)", "timeout": 3}
    assert written["scan"]["id"] == 7 and written["inputs"] is None


def test_redact_hides_values_of_secret_looking_options_only():
    assert redact({"api_key": "k", "Token": "t", "dkim_selectors": ["s"], "password": None,
                   "ca_file": "/x.pem", "private_key": "/k.pem"}) == {
        "api_key": "(redacted)", "Token": "(redacted)", "dkim_selectors": ["s"], "password": None,
        "ca_file": "/x.pem", "private_key": "(redacted)"}


def test_worker_and_scan_process_write_the_same_manifest(lab, tmp_path, run_cli, make_domains,
                                                         lab_args, monkeypatch):
    from reports.stored import render_scan
    from scanner.run import worker as report_worker

    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(make_domains(3)) + "\n")
    monkeypatch.setenv(report_worker.ENV, "1")
    proc = run_cli(["scan", listing, "--db", tmp_path / "h.sqlite", "--out", tmp_path / "w", "-q",
                    *lab_args])
    assert proc.returncode == 0, proc.stderr
    with Store(tmp_path / "h.sqlite") as store:
        render_scan(store, 1, tmp_path / "s", get_profile("baseline"))
    by_worker, by_scan = manifest(tmp_path / "w"), manifest(tmp_path / "s")
    assert by_worker.pop("written") and by_scan.pop("written")
    assert by_worker == by_scan
