"""`mxaudit check DOMAIN...` end to end against the lab, through the real command line: the
terminal output (plain on a pipe; coloured on a pseudo-terminal, and not with NO_COLOR),
input order whatever the completion order, hostile record text and server replies, the
stdout formats against results.jsonl and findings.csv, the exit codes, --db/--out.
"""
from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from scanner.lab.smtp_servers import start_smtp_host
from tests.conftest import REPO, run_cli_process

pytestmark = pytest.mark.lab

SGR = re.compile(r"\x1b\[[0-9;]*m")     # colour codes: the only escapes rich may write
COLUMNS = 72


def valid_line(obj: dict) -> None:
    """One results.jsonl object, valid under the published schema (`mxaudit schema results`)."""
    import jsonschema

    from reports.schema import load

    assert {"domain", "input", "status", "verdict", "findings", "evidence"} <= set(obj)
    jsonschema.validate(obj, load("results"))


@pytest.fixture(scope="module")
def world(lab, unique_zone, tmp_path_factory):
    z = {role: unique_zone("chk") for role in ("good", "bad", "slow", "hostile")}
    good_ip, hostile_ip = lab.allocate_ip(), lab.allocate_ip()
    mx = f"mx1.{z['good']}"
    start_smtp_host(lab, good_ip, mx, behaviour="good", cert=lab.ca.issue([mx], key="rsa2048"))
    start_smtp_host(lab, hostile_ip, f"mx.{z['hostile']}", behaviour="hostile_greeting")
    lab.dns.add_zone(z["good"], f'@ MX 10 {mx}.\n@ TXT "v=spf1 mx -all"\n'
                                f'_dmarc TXT "v=DMARC1; p=reject; rua=mailto:d@{z["good"]}"\n'
                                f"mx1 A {good_ip}\n")
    for role in ("bad", "slow"):
        lab.dns.add_zone(z[role], f'@ MX 10 {mx}.\n@ TXT "v=spf1 +all"\n')
    # 2 s on every question about the slow domain's name: it finishes after the others
    lab.dns.set_behaviour(z["slow"], "delay", delay=2.0)
    # U+202E (bidi override) and U+009B (C1 CSI) as UTF-8; ESC (\027) sequences: clear
    # screen, an OSC title ending in BEL (\007); rich markup and an emoji code. (spf.single
    # quotes 80 characters of each record, C0 controls escaped: the rest is up to the view.)
    hostile = (r"\226\128\174" "evil " r"\194\155" "31m " r"\027[2J\027]0;pwned\007 "
               "[bold green]PASS[/bold green] :warning:")
    lab.dns.add_zone(z["hostile"], f'@ MX 10 mx.{z["hostile"]}.\n'
                                   f'@ TXT "v=spf1 {hostile} -all"\n@ TXT "v=spf1 -all"\n'
                                   f'mx A {hostile_ip}\n')
    tmp = tmp_path_factory.mktemp("check")
    (tmp / "spf-all.toml").write_text('name = "spf-all"\n[[require]]\ncheck = "spf.all"\n')
    z["args"] = ["--nameserver", lab.nameserver, "--allow-private", "--ca-file",
                 lab.ca.cert_path, "--mta-sts-port", lab.ports["https"], "--timeout", "3",
                 "--deadline", "30", *lab.port_args()]
    z["tmp"] = tmp
    return z


def check(world, *args, timeout=90) -> subprocess.CompletedProcess:
    return run_cli_process(["check", *world["args"], *args], timeout=timeout)  # args win


def check_on_pty(world, *args, no_color: str | None = None) -> tuple[int, str, str]:
    """stdout on a pseudo-terminal of COLUMNS columns (stderr a pipe): (status, output, err)."""
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, COLUMNS, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR",
                                                             "COLUMNS", "TTY_COMPATIBLE")}
    env.update(TERM="xterm-256color", PYTHONPATH=str(REPO))
    if no_color is not None:
        env["NO_COLOR"] = no_color
    proc = subprocess.Popen([sys.executable, "-m", "scanner", "check", *map(str, args),
                             *map(str, world["args"])], stdin=subprocess.DEVNULL,
                            stdout=child, stderr=subprocess.PIPE, cwd=REPO, env=env)
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 1 << 16)
        except OSError:          # EIO: the child side is closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    err = proc.stderr.read().decode()
    status = proc.wait(timeout=90)
    return status, b"".join(chunks).decode("utf-8").replace("\r\n", "\n"), err


@pytest.fixture(scope="module")
def plain(world):
    """slow, good, bad: plain text on a pipe, the completion order logged on stderr."""
    proc = check(world, world["slow"], world["good"], world["bad"], "--log-format", "json")
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def as_json(world):
    proc = check(world, world["slow"], world["good"], world["bad"], "--format", "json",
                 "--out", world["tmp"] / "out", "--db", world["tmp"] / "db.sqlite")
    assert proc.returncode == 0, proc.stderr
    return proc


def blocks(text: str) -> dict[str, list[str]]:
    """Domain -> its lines (a block starts at a line without indentation)."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith(" "):
            current = out.setdefault(line.split()[0], [])
        current.append(line)
    return out


def test_plain_text_in_input_order_whatever_finished_first(world, plain):
    done = [json.loads(line) for line in plain.stderr.splitlines()]
    finished = [e["domain"] for e in done if e["event"] == "domain"]
    assert finished[-1] == world["slow"]           # it finished last ...
    # ... and is shown first
    assert list(blocks(plain.stdout)) == [world["slow"], world["good"], world["bad"]]
    assert "\x1b" not in plain.stdout
    assert all(line == line.rstrip() for line in plain.stdout.splitlines())


def test_plain_text_says_what_failed_and_how_to_fix_it(world, plain, as_json):
    verdicts = {o["domain"]: o["verdict"] for o in json.loads(as_json.stdout)}
    bad = blocks(plain.stdout)[world["bad"]]
    assert bad[0] == (f"{world['bad']}  NOT COMPLIANT  score {verdicts[world['bad']]['score']}"
                      "/100  (profile baseline)")
    assert bad[1] == "  requirements not met: spf.all, dmarc.present"
    i = bad.index("    FAIL    spf.all")
    assert bad[i + 1:i + 3] == [
        "            ends with +all (or a bare 'all'): anyone may send as the domain",
        "            fix: End the SPF record with '-all' (or '~all' while you are still "
        "monitoring)."]
    assert "    FAIL    dmarc.present" in bad
    good = blocks(plain.stdout)[world["good"]]
    assert good[0] == (f"{world['good']}  COMPLIANT  score {verdicts[world['good']]['score']}"
                       "/100  (profile baseline)")
    assert not any(line.startswith("    FAIL") for line in good)
    passed = next(line for line in good if line.startswith("    PASS") and "spf.all" in line)
    assert passed.startswith("    PASS    ") and "spf.present" in passed


def test_verbose_shows_passing_checks_in_full(world):
    proc = check(world, world["good"], "-v")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    i = lines.index("    PASS    spf.present")
    assert lines[i + 1] == "            SPF record: v=spf1 mx -all"


def test_colour_on_a_terminal(world):
    status, out, err = check_on_pty(world, world["bad"])
    assert status == 0, err
    assert re.search(r"\x1b\[[0-9;]*31mFAIL\x1b\[0m", out)          # red status word
    assert SGR.sub("", out).count("\x1b") == 0                         # no other escape
    visible = SGR.sub("", out).splitlines()
    assert max(len(line) for line in visible) <= COLUMNS               # wrapped to the width
    assert "    FAIL    spf.all" in visible


@pytest.mark.parametrize("value", ["1", "true"])
def test_no_colour_with_no_color_set(world, value):
    status, out, err = check_on_pty(world, world["bad"], no_color=value)
    assert status == 0, err
    assert "\x1b" not in out
    assert "    FAIL    spf.all" in out.splitlines()
    assert max(len(line) for line in out.splitlines()) <= COLUMNS    # still wrapped


def _assert_escaped(out: str) -> None:
    visible = SGR.sub("", out)
    bad = sorted({c for c in visible if not c.isprintable() and c != "\n"})
    assert bad == [], f"control characters reached the terminal: {bad!r}"


def test_hostile_records_and_replies_escaped(world):
    """The SPF record's ESC/OSC/C1/bidi bytes are shown escaped and its [markup] literally;
    the SMTP greeting's markup literally too (its control bytes the collector already made
    '?'); plain and coloured alike."""
    proc = check(world, world["hostile"], "-v")
    assert proc.returncode == 0, proc.stderr
    status, coloured, err = check_on_pty(world, world["hostile"], "-v")
    assert status == 0, err
    for out in (proc.stdout, coloured):
        _assert_escaped(out)
    text = proc.stdout
    assert ('"v=spf1 \\u202eevil \\x9b31m \\x1b[2J\\x1b]0;pwned\\x07 [bold green]PASS'
            '[/bold green] :warnin… (86 characters)"') in text   # spf.single
    lines = text.splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith("    FAIL    smtp.reachable"))
    assert lines[i + 1].startswith("            greeting 554 instead of 220: 5.7.1 ")
    assert ("[bold green]PASS[/bold green] [link=file:///etc/passwd]x[/link] :warning:"
            in lines[i + 1])
    # and in colour: the markup was not applied (no colour code inside it)
    assert "[bold green]PASS[/bold green]" in coloured


def test_json_is_the_results_jsonl_lines_of_the_same_scan(world, as_json):
    doc = json.loads(as_json.stdout)
    lines = [json.loads(line) for line in
             (world["tmp"] / "out" / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert doc == lines
    assert [o["domain"] for o in doc] == [world["slow"], world["good"], world["bad"]]
    for obj in doc:
        valid_line(obj)
    assert (world["tmp"] / "out" / "report.html").is_file()


def test_json_matches_a_scan_of_the_same_domains(world, run_cli):
    """A separate `scan`: the same verdicts and findings; the same evidence but for the
    clock (scan time, durations)."""
    tmp = world["tmp"]
    proc = run_cli(["scan", "-d", world["good"], "-d", world["bad"], "--out", tmp / "scan",
                    "--db", tmp / "scan.sqlite", *world["args"]], timeout=90)
    assert proc.returncode == 0, proc.stderr
    scanned = [json.loads(line) for line in (tmp / "scan" / "results.jsonl").open()]
    checked = json.loads(check(world, world["good"], world["bad"], "--format", "json").stdout)
    for a, b in zip(scanned, checked, strict=True):
        valid_line(b)
        assert {k: a[k] for k in ("domain", "input", "status", "verdict", "findings")} == \
               {k: b[k] for k in ("domain", "input", "status", "verdict", "findings")}
        assert _timeless(a["evidence"]) == _timeless(b["evidence"])


_CLOCK = re.compile(r"(_at|_ms|seconds|elapsed|started|finished|time)$")


def _timeless(obj):
    if isinstance(obj, dict):
        return {k: _timeless(v) for k, v in obj.items() if not _CLOCK.search(k)}
    if isinstance(obj, list):
        return [_timeless(v) for v in obj]
    return obj


def test_jsonl_and_csv(world, as_json):
    proc = check(world, world["good"], world["bad"], "--format", "jsonl")
    assert proc.returncode == 0, proc.stderr
    objs = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o["domain"] for o in objs] == [world["good"], world["bad"]]
    stored = {o["domain"]: o for o in json.loads(as_json.stdout)}
    for o in objs:
        valid_line(o)
        assert o["findings"] == stored[o["domain"]]["findings"]
    proc = check(world, world["good"], world["bad"], "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.reader(io.StringIO(proc.stdout)))
    with open(world["tmp"] / "out" / "findings.csv", newline="", encoding="utf-8") as fh:
        written = list(csv.reader(fh))
    assert rows[0] == written[0] == ["domain", "check", "subject", "status", "message",
                                     "remediation"]
    assert rows[1:] == [r for r in written[1:] if r[0] in (world["good"], world["bad"])]


def test_machine_formats_keep_stdout_clean(world):
    """With a format for scripts, stdout is the document and nothing else, even with log
    lines asked for (they go to stderr)."""
    proc = check(world, world["bad"], "--format", "json", "--log-format", "text")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["domain"] == world["bad"]
    assert f"domain={world['bad']}" in proc.stderr


def test_db_only_keeps_history_and_writes_no_folder(world, tmp_path, run_cli):
    proc = check(world, world["good"], "--db", tmp_path / "h.sqlite", "--format", "jsonl")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.sqlite"]
    hist = run_cli(["history", "--db", tmp_path / "h.sqlite"])
    assert hist.returncode == 0, hist.stderr
    assert "complete" in hist.stdout


def test_nothing_kept_without_db_or_out(world, tmp_path):
    env_home = tmp_path / "home"
    env = dict(os.environ, HOME=str(env_home), XDG_DATA_HOME=str(env_home / "data"),
               XDG_CONFIG_HOME=str(env_home / "config"), PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "scanner", "check", world["good"],
                           *map(str, world["args"])], capture_output=True, text=True,
                          timeout=90, cwd=tmp_path, env=env, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert not env_home.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_reader_going_away_is_not_an_error(world, fmt):
    """`mxaudit check a b | head -1`: status 0 (as `scan`'s), no traceback; with rich's own
    handling it would be 1, which reads as "--fail-on matched"."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "scanner", "check", *map(str, world["args"]),
                             "--format", fmt, world["good"], world["bad"]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, env=env)
    try:
        proc.stdout.close()         # before anything is written: the first write fails
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=90) == 0, err
    finally:
        proc.kill()
    assert "Traceback" not in err and "Error" not in err


# ------------------------------------------------------------------------------ exit codes
def test_fail_on_is_a_ci_gate(world):
    profile = ["--profile", world["tmp"] / "spf-all.toml", "--fail-on", "fail"]
    assert check(world, world["good"], *profile).returncode == 0
    failing = check(world, world["good"], world["bad"], *profile, "--format", "jsonl")
    assert failing.returncode == 1, failing.stderr
    assert len(failing.stdout.splitlines()) == 2          # the answer is still printed


@pytest.mark.parametrize("args, message", [
    (["--format", "xml"], "invalid choice: 'xml'"),
    (["--timeout", "0"], "--timeout and --deadline must be positive"),
    (["--port", "25:bogus"], "bogus"),
    (["--out", "/proc/version/x", "--format", "csv"], "--out /proc/version/x: cannot create"),
])
def test_bad_option_is_exit_2(world, args, message, tmp_path):
    proc = check(world, world["good"], "--db", tmp_path / "h.sqlite", *args)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("domain, reason", [
    ("not a domain!", "contains whitespace"),
    ("user@example.com", "looks like an email address"),
    ("\x1b[2Jx.test", "\\x1b[2Jx.test"),                   # named, escaped
])
def test_invalid_domain_is_exit_2_before_any_scan(world, domain, reason):
    proc = check(world, world["good"], domain, "--format", "json")
    assert proc.returncode == 2
    assert reason in proc.stderr and "\x1b" not in proc.stderr
    assert len(proc.stderr.splitlines()) == 1
    assert proc.stdout == ""


def test_no_domain_is_exit_2(world):
    proc = run_cli_process(["check"])
    assert proc.returncode == 2 and "DOMAIN" in proc.stderr


def test_interrupted_is_exit_3_and_finished_domains_are_shown(world, lab, unique_zone):
    """SIGINT once `bad` is done and `stuck` (its DNS never answers) is not: exit 3, and
    `bad` is still shown although the domain before it never finished."""
    stuck = unique_zone("stuck")
    lab.dns.add_zone(stuck, "@ MX 10 mx.example.test.\n")
    lab.dns.set_behaviour(stuck, "drop")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "scanner", "check", *map(str, world["args"]),
                             "--timeout", "30", "--deadline", "60", "--format", "jsonl",
                             "--log-format", "json", stuck, world["bad"]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=REPO, env=env)
    try:
        for line in proc.stderr:           # wait for `bad` to be done
            if json.loads(line).get("domain") == world["bad"]:
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 3, err
    assert "interrupted" in err and "Traceback" not in err
    assert [json.loads(line)["domain"] for line in out.splitlines()] == [world["bad"]]


def test_internal_error_is_exit_70(monkeypatch, capsys):
    import scanner.commands.check as command
    from scanner.cli import main

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(command, "run_unstored", broken)
    monkeypatch.delenv("MXAUDIT_DEBUG", raising=False)
    assert main(["check", "example.com", "--format", "json"]) == 70
    captured = capsys.readouterr()
    assert "internal error: RuntimeError: a bug" in captured.err
    assert captured.out == ""                    # nothing finished: nothing on stdout


def test_internal_error_after_some_domains_leaves_a_whole_document(world, monkeypatch, capsys):
    import scanner.commands.check as command
    from scanner.cli import main

    real = command.run_unstored

    def breaks_after_the_first(targets, options, profile, on_result, **kw):
        def then_break(r):
            on_result(r)
            raise RuntimeError("a bug")
        return real(targets, options, profile, then_break, **kw)

    monkeypatch.setattr(command, "run_unstored", breaks_after_the_first)
    monkeypatch.delenv("MXAUDIT_DEBUG", raising=False)
    args = ["check", *map(str, world["args"]), "--format", "json", world["bad"]]
    assert main(args) == 70
    captured = capsys.readouterr()
    assert [o["domain"] for o in json.loads(captured.out)] == [world["bad"]]
