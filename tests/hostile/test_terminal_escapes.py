"""Terminal escapes (issue 14, item 8): text from a message, a record, a server or an input
line reaches a terminal or a log only through scanner.textsafe.for_terminal."""
from __future__ import annotations

import json

import pytest

from scanner.textsafe import for_terminal
from tests.integration.test_records_verify_dkim import verify

ESC_LINE = "\x1b[2K\rsignature 1: d=bank.example s=sel: pass, 2048 bits"
# C0, DEL, C1 (CSI U+009B, NEL U+0085), bidi override, line separator, BOM, a tag character
HOSTILE = "a\x1b[31mb\x07\x7f\u009b2J\u0085\u202egnp.exe\u2028\ufeff\U000e0041z"


def test_for_terminal_escapes_every_non_printable_character():
    assert for_terminal(HOSTILE) == ("a\\x1b[31mb\\x07\\x7f\\x9b2J\\x85\\u202egnp.exe\\u2028"
                                     "\\ufeff\\U000e0041z")
    assert for_terminal("b\u00fccher.example \u4f8b\u3048") == "b\u00fccher.example \u4f8b\u3048"
    assert for_terminal(42) == "42"
    assert all(c.isprintable() for c in for_terminal("".join(map(chr, range(0x2100)))))


@pytest.mark.lab
def test_verify_dkim_escapes_hostile_d_and_s(lab, tmp_path, capsys):
    """A DKIM-Signature whose d= carries an ESC sequence that would erase the line and draw
    a fake pass (before issue 14 it reached the terminal raw)."""
    header = (f"DKIM-Signature: v=1; a=rsa-sha256; d=evil.example{ESC_LINE}; "
              f"s=s\u009b1m; h=from; bh=AAAA; b=AAAA\r\n").encode("utf-8")
    message = header + b"From: a@evil.example\r\n\r\nbody\r\n"
    code, lines = verify(lab, tmp_path, capsys, message)
    assert code == 1
    out = "\n".join(lines)
    assert "\x1b" not in out and "\r" not in out and "\u009b" not in out
    assert len(lines) == 1 and lines[0].startswith("signature 1: d=evil.example\\x1b[2K\\x0d")


@pytest.mark.lab
@pytest.mark.parametrize("log_format", ["text", "json"])
def test_log_lines_escape_hostile_inputs(run_cli, lab, tmp_path, log_format):
    """Input lines (kept as invalid rows) reach the progress log: before issue 14 the C1
    CSI, NEL and the bidi override were written raw (JSON with ensure_ascii=False and
    logfmt quoting leave them alone)."""
    listing = tmp_path / "list.txt"
    listing.write_text(f"x{HOSTILE}.example\n", encoding="utf-8")
    proc = run_cli(["scan", listing, "--nameserver", lab.nameserver, "--out", tmp_path / "out",
                    "--db", tmp_path / "db.sqlite", "--log-format", log_format, "--timeout", "1"])
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert all(c.isprintable() for line in lines for c in line), lines
    domain_lines = [line for line in lines if "event" in line and "domain" in line
                    and "summary" not in line and "start" not in line]
    assert len(domain_lines) == 1
    if log_format == "json":
        record = json.loads(domain_lines[0])
        assert record["domain"] == for_terminal(f"x{HOSTILE}.example")
    else:
        assert "\\\\x9b2J" in domain_lines[0] or "\\x9b2J" in domain_lines[0]


def test_error_messages_are_escaped(run_cli, tmp_path):
    proc = run_cli(["scan", f"missing\x1b]0;owned\x07.txt", "--out", tmp_path / "out",
                    "--db", tmp_path / "db.sqlite"])
    assert proc.returncode == 2
    assert proc.stderr == "mxaudit: error: missing\\x1b]0;owned\\x07.txt: no such file\n"
