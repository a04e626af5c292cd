"""Domain lists in: text, CSV, stdin, -d; normalisation, de-duplication, unreadable inputs."""
from __future__ import annotations

import io
import os

import pytest

from scanner.errors import InputError
from scanner.inputs import Target, make_target, normalise_domain, parse_selectors, read_targets, \
    targets_from_strings


def _rows(targets) -> list[tuple[str, str, bool]]:
    """(input, domain, valid) per target."""
    return [(t.input, t.domain, not t.invalid_reason) for t in targets]


@pytest.mark.parametrize("text, domain", [
    ("example.com", "example.com"),
    ("Example.COM.", "example.com"),
    ("  mail.Example.org  ", "mail.example.org"),
    ("Bücher.Example", "xn--bcher-kva.example"),
    ("BÜCHER.example.", "xn--bcher-kva.example"),
    ("faß.de", "xn--fa-hia.de"),                 # UTS-46 non-transitional: ß kept
    ("xn--bcher-kva.example", "xn--bcher-kva.example"),
])
def test_valid_names_are_normalised(text, domain):
    assert normalise_domain(text) == (domain, "")


@pytest.mark.parametrize("text, reason_part", [
    ("", "empty input"),
    (".", "not a valid domain name"),
    ("a..b", "not a valid domain name"),
    ("localhost", "a single label"),
    ("1.2.3.4", "an IP address"),
    ("[::1]", "an IP address"),
    ("user@example.com", "email address"),
    ("https://example.com", "URL"),
    ("exa mple.com", "whitespace"),
    ("-a.example", "hyphen"),
    ("x" * 64 + ".example", "Label too long"),
    ("exa_mple.com", "not a valid domain name"),
    ("example.123", "numeric"),
    ("<script>alert(1)</script>", "not a valid domain name"),
    ("xn--zz.com", "Invalid A-label"),
    ("a" * 400, "too long"),
])
def test_invalid_names_give_a_reason(text, reason_part):
    domain, reason = normalise_domain(text)
    assert domain == ""
    assert reason_part in reason


def test_name_length_limit_is_253():
    longest = ".".join(["a" * 50] * 4 + ["a" * 41, "example"])
    assert len(longest) == 253
    assert normalise_domain(longest) == (longest, "")
    assert normalise_domain(longest + ".") == (longest, "")
    domain, reason = normalise_domain("a" + longest)
    assert (domain, "too long" in reason) == ("", True)


def test_input_is_kept_as_given():
    t = make_target("  Bücher.Example.  ")
    assert t == Target("Bücher.Example.", "xn--bcher-kva.example", "", ())


@pytest.mark.parametrize("text, selectors", [
    ("s1 s2", ("s1", "s2")),
    ("s1;s2; s3", ("s1", "s2", "s3")),
    ("  ", ()),
    ("s1 s1;s2", ("s1", "s2")),
    ("good bad!sel", ("good",)),
])
def test_selector_cells(text, selectors):
    assert parse_selectors(text) == selectors


def test_text_list_comments_blank_lines_dedupe_and_junk(tmp_path):
    path = tmp_path / "list.txt"
    path.write_text("# a comment\n\nExample.com\n  example.org   # trailing comment\n"
                    "EXAMPLE.COM.\nnot a domain\nbücher.example\nxn--bcher-kva.example\n"
                    "not a domain\n\n", encoding="utf-8")
    assert _rows(read_targets([str(path)])) == [
        ("Example.com", "example.com", True),
        ("example.org", "example.org", True),
        ("not a domain", "", False),
        ("bücher.example", "xn--bcher-kva.example", True),
    ]


def test_text_list_with_bom_and_crlf(tmp_path):
    path = tmp_path / "list.txt"
    path.write_bytes("\ufeffa.example\r\nb.example\r\n".encode("utf-8"))
    assert _rows(read_targets([str(path)])) == [("a.example", "a.example", True),
                                                ("b.example", "b.example", True)]


def test_csv_with_domain_and_selectors(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("owner,Domain,dkim_selectors\n"
                    "alice,a.example,s1 s2\n"
                    "bob,B.example.,k1;k2\n"
                    "# comment row,x.example,\n"
                    ",,\n"
                    "carol,bad domain,s3\n"
                    "dave,a.example,other\n"
                    "erin,c.example\n", encoding="utf-8")
    got = list(read_targets([str(path)]))
    assert [(t.input, t.domain, t.dkim_selectors, bool(t.invalid_reason)) for t in got] == [
        ("a.example", "a.example", ("s1", "s2"), False),
        ("B.example.", "b.example", ("k1", "k2"), False),
        ("bad domain", "", ("s3",), True),
        ("c.example", "c.example", (), False),
    ]


def test_csv_detected_from_header_on_stdin():
    stdin = io.StringIO("domain,dkim_selectors\na.example,sel\n")
    got = list(read_targets(["-"], stdin=stdin))
    assert [(t.domain, t.dkim_selectors) for t in got] == [("a.example", ("sel",))]


def test_stdin_text_and_d_arguments_in_order(tmp_path):
    path = tmp_path / "l.txt"
    path.write_text("c.example\na.example\n")
    stdin = io.StringIO("b.example\nd.example\n# c\n")
    got = read_targets([str(path), "-"], ["a.example", "Z.example"], stdin=stdin)
    assert [t.domain for t in got] == ["a.example", "z.example", "c.example", "b.example",
                                       "d.example"]


def test_invalid_duplicates_dropped_too():
    got = targets_from_strings(["junk!", "a.example", "junk!", "A.example"])
    assert _rows(got) == [("junk!", "", False), ("a.example", "a.example", True)]


def test_reading_is_lazy(tmp_path):
    """A long list is streamed: nothing past what was consumed is parsed."""
    path = tmp_path / "long.txt"
    path.write_text("".join(f"d{i}.example\n" for i in range(1000)))
    it = read_targets([str(path)])
    assert next(it).domain == "d0.example"
    assert next(it).domain == "d1.example"


def test_missing_file_raises_before_anything_is_read(tmp_path):
    with pytest.raises(InputError, match="nope.txt: no such file"):
        read_targets([str(tmp_path / "nope.txt")], ["a.example"])


def test_directory_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="is a directory"):
        read_targets([str(tmp_path)])


def test_csv_without_domain_column(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text("name,selectors\na.example,s\n")
    with pytest.raises(InputError, match="no 'domain' column"):
        read_targets([str(path)])


def test_empty_csv_has_no_domain_column(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text("")
    with pytest.raises(InputError, match="no 'domain' column"):
        read_targets([str(path)])


# --- through the command line: exit 2, one line on stderr, no traceback -------------------

def _one_line_error(proc) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_cli_missing_file(run_cli, tmp_path):
    proc = run_cli(["scan", tmp_path / "missing.txt", "--out", tmp_path / "out",
                    "--db", tmp_path / "db.sqlite", "--nameserver", "127.0.0.1:9"], timeout=30)
    assert _one_line_error(proc) == f"mxaudit: error: {tmp_path / 'missing.txt'}: no such file"
    assert not (tmp_path / "out").exists()


def test_cli_csv_without_domain_column(run_cli, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("host,owner\na.example,x\n")
    proc = run_cli(["scan", path, "--out", tmp_path / "out", "--db", tmp_path / "db.sqlite",
                    "--nameserver", "127.0.0.1:9"], timeout=30)
    assert _one_line_error(proc) == (f"mxaudit: error: {path}: CSV file has no 'domain' column "
                                     "in its header line")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_cli_unreadable_file(run_cli, tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("a.example\n")
    path.chmod(0)
    proc = run_cli(["scan", path, "--out", tmp_path / "out", "--db", tmp_path / "db.sqlite",
                    "--nameserver", "127.0.0.1:9"], timeout=30)
    assert "cannot read" in _one_line_error(proc)


def test_cli_no_domains_given(run_cli, tmp_path):
    proc = run_cli(["scan", "--out", tmp_path / "out", "--db", tmp_path / "db.sqlite"], timeout=30)
    assert "no domains given" in _one_line_error(proc)


@pytest.mark.parametrize("args, part", [
    (["--nameserver", "dns.example"], "--nameserver 'dns.example': not an IP address"),
    (["--nameserver", "127.0.0.1:0"], "port must be a number from 1 to 65535"),
    (["--port", "25:smtps"], "--port '25:smtps': use PORT:ROLE"),
    (["--timeout", "0"], "--timeout and --deadline must be positive"),
    (["--profile", "no-such-profile"], "--profile no-such-profile: no such built-in profile"),
])
def test_cli_bad_options(run_cli, tmp_path, args, part):
    proc = run_cli(["scan", "-d", "a.example", "--out", tmp_path / "out",
                    "--db", tmp_path / "db.sqlite", *args], timeout=30)
    assert part in _one_line_error(proc)
