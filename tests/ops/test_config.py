"""The TOML configuration: validation (exit 2 naming the key), precedence (command line
wins), the per-user default location, and dated output folders, end to end against the lab."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from scanner.config import expand_out, load_config
from scanner.errors import UsageError

from .conftest import db_rows, read_csv


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text, message", [
    ('timeoutt = 3\n', "unknown key 'timeoutt'"),
    ('timeout = -1\n', "key 'timeout': must be a positive number"),
    ('timeout = "3"\n', "key 'timeout': must be a positive number"),
    ('concurrency = 0\n', "key 'concurrency': must be a whole number"),
    ('allow_private = "yes"\n', "key 'allow_private': must be true or false"),
    ('nameservers = ["dns.example"]\n', "key 'nameservers': --nameserver 'dns.example'"),
    ('nameservers = "127.0.0.1"\n', "key 'nameservers': must be a list of strings"),
    ('ports = ["25:smtps"]\n', "key 'ports': --port '25:smtps'"),
    ('out = "/r/{month}"\n', "key 'out': unknown placeholder {month}"),
    ('fail_on = "never"\n', "key 'fail_on': must be one of fail, error, warn"),
    ('log_format = "xml"\n', "key 'log_format': must be one of text, json"),
    ('[scan]\ntimeout = 3\n', "unknown key 'scan'"),
    ('timeout = \n', "not valid TOML"),
])
def test_bad_config_names_the_key(tmp_path, text, message):
    path = write(tmp_path / "c.toml", text)
    with pytest.raises(UsageError) as exc:
        load_config(path)
    assert message in str(exc.value) and str(path) in str(exc.value)


def test_good_config_converts_and_resolves_paths_from_its_folder(tmp_path):
    path = write(tmp_path / "etc" / "c.toml", 'nameservers = ["127.0.0.1:5353"]\nca_file = "ca.pem"\n'
                 'ports = ["2525:smtp"]\ntimeout = 3\nout = "reports/{date}"\nquiet = true\n')
    assert load_config(path) == {"nameserver": ["127.0.0.1:5353"],
                                 "ca_file": str(tmp_path / "etc" / "ca.pem"), "port": ["2525:smtp"],
                                 "timeout": 3.0, "out": str(tmp_path / "etc" / "reports/{date}"),
                                 "quiet": True}


def test_missing_default_config_is_fine_missing_explicit_one_is_not(tmp_path):
    assert load_config(None) == {}     # XDG_CONFIG_HOME points at an empty folder (conftest)
    with pytest.raises(UsageError, match="no such file"):
        load_config(tmp_path / "nope.toml")


def test_out_pattern_expands_date_time_and_scan():
    when = datetime(2025, 1, 31, 2, 5, 9)
    assert expand_out("/r/{date}/{time}-{scan}", when, 7) == Path("/r/2025-01-31/020509-7")
    with pytest.raises(UsageError, match="unknown placeholder"):
        expand_out("/r/{nope}", when, 7)


def _config_text(lab, tmp_path: Path, **extra: str) -> str:
    lines = {"nameservers": f'["{lab.nameserver}"]', "allow_private": "true",
             "ports": json.dumps([f"{p}:{r}" for r, p in lab.ports.items() if r != "https"]),
             "mta_sts_port": str(lab.ports["https"]), "timeout": "2.5", "concurrency": "3",
             "ehlo_name": '"nightly.example.test"', "dkim_selectors": '["nightly"]',
             "out": f'"{tmp_path / "reports" / "{date}"}"', "db": f'"{tmp_path / "h.sqlite"}"',
             "log_format": '"json"', **extra}
    return "".join(f"{k} = {v}\n" for k, v in lines.items())


@pytest.mark.lab
def test_scan_from_config_file_with_dated_folder(lab, tmp_path, run_cli, make_domains):
    (domain,) = make_domains(1)
    cfg = write(tmp_path / "mxaudit.toml", _config_text(lab, tmp_path))
    proc = run_cli(["scan", "-d", domain, "--config", cfg], timeout=60)
    assert proc.returncode == 0, proc.stderr
    (folder,) = (tmp_path / "reports").iterdir()
    datetime.strptime(folder.name, "%Y-%m-%d")          # a dated folder
    assert [r["domain"] for r in read_csv(folder / "domains.csv")] == [domain]
    (options,) = db_rows(tmp_path / "h.sqlite", "SELECT options FROM scans")
    stored = json.loads(options[0])
    assert (stored["timeout"], stored["concurrency"], stored["ehlo_name"], stored["dkim_selectors"],
            stored["nameservers"]) == (2.5, 3, "nightly.example.test", ["nightly"], [lab.nameserver])
    events = [json.loads(line)["event"] for line in proc.stderr.splitlines()]
    assert events == ["start", "domain", "summary"]


@pytest.mark.lab
def test_command_line_overrides_config_and_per_user_default_is_read(lab, tmp_path, run_cli,
                                                                    make_domains, monkeypatch):
    (domain,) = make_domains(1)
    xdg = tmp_path / "xdg"
    write(xdg / "mxaudit" / "config.toml", _config_text(lab, tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    out = tmp_path / "explicit-out"
    proc = run_cli(["scan", "-d", domain, "--timeout", "1.5", "--ehlo-name", "cli.example.test",
                    "--out", out, "--log-format", "text"], timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert (out / "report.html").is_file() and not (tmp_path / "reports").exists()
    (options,) = db_rows(tmp_path / "h.sqlite", "SELECT options FROM scans")   # db from config
    stored = json.loads(options[0])
    assert (stored["timeout"], stored["ehlo_name"], stored["concurrency"]) == \
           (1.5, "cli.example.test", 3)
    assert "event=summary" in proc.stderr.splitlines()[-1]


@pytest.mark.lab
def test_config_errors_exit_2_naming_the_key(tmp_path, run_cli, lab):
    cfg = write(tmp_path / "c.toml", _config_text(lab, tmp_path, deadline="0"))
    proc = run_cli(["scan", "-d", "a.test", "--config", cfg], timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"mxaudit: error: config {cfg}: key 'deadline': "
                                   "must be a positive number of seconds")
    bad = write(tmp_path / "d.toml", "colour = 1\n")
    for argv in (["--config", bad, "history"], ["history", "--config", bad]):
        proc = run_cli(argv, timeout=30)
        assert proc.returncode == 2 and "unknown key 'colour'" in proc.stderr


def test_check_takes_the_scan_settings_but_keeps_nothing_and_gates_nothing(tmp_path):
    """`mxaudit check` reads the nameservers, profile, limits ... of the config file, but not
    `out`, `db` or `fail_on`: an ad hoc look writes and fails only as its command line says."""
    from scanner.cli import build_parser
    from scanner.config import apply_config

    config = write(tmp_path / "c.toml", 'nameservers = ["127.0.0.1:5353"]\ntimeout = 4.0\n'
                                        'profile = "bod-18-01"\nout = "/r/{date}"\n'
                                        'db = "h.sqlite"\nfail_on = "warn"\nquiet = true\n')
    args = build_parser().parse_args(["check", "example.com", "--config", str(config)])
    apply_config(args, "check")
    assert (args.nameserver, args.timeout, args.profile, args.quiet) == (
        ["127.0.0.1:5353"], 4.0, "bod-18-01", True)
    assert (args.out, args.db, args.fail_on) == (None, None, None)
    args = build_parser().parse_args(["check", "example.com", "--config", str(config),
                                      "--fail-on", "fail", "--db", "x.sqlite"])
    apply_config(args, "check")
    assert (args.fail_on, str(args.db)) == ("fail", "x.sqlite")
