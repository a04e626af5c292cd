"""Profiles: data validated on load; every problem is a UsageError naming it."""
from __future__ import annotations

import pytest

from scanner.errors import UsageError
from scanner.findings import Status
from scanner.profiles import DEFAULT_ACCEPT, Requirement, builtin_names, load_profile, parse_profile
from scanner.checks import all_checks

KNOWN = set(all_checks())


def test_baseline_loads():
    p = load_profile("baseline", KNOWN)
    assert p.name == "baseline"
    # the foundation's requirements come first; later stages add theirs after them
    assert [r.check for r in p.requirements][:6] == ["domain.valid", "domain.exists", "mx.present",
                                                     "mx.null", "mx.resolvable", "mx.public_address"]
    assert all(r.accept == DEFAULT_ACCEPT for r in p.requirements[:6])
    assert "baseline" in builtin_names()


def test_every_builtin_profile_loads():
    for name in builtin_names():
        assert load_profile(name, KNOWN).name == name


def test_user_profile_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\n[[require]]\ncheck = "mx.ptr"\naccept = ["pass"]\n'
                    'source = "policy 7"\n[weights]\n"mx.ipv6" = 2\n"mx.ptr" = 0\n')
    p = load_profile(str(path), KNOWN)
    assert (p.name, p.title, p.requirements) == (
        "mine", "mine", (Requirement("mx.ptr", (Status.PASS,), "policy 7"),))
    assert (p.weight("mx.ipv6"), p.weight("mx.ptr"), p.weight("mx.cname")) == (2.0, 0.0, 1.0)


@pytest.mark.parametrize("text, message", [
    ('name = "x"\n[[require]]\ncheck = "mx.bogus"\n',
     "profile t.toml: require #1: unknown check ID 'mx.bogus'"),
    ('name = "x"\n[[require]]\ncheck = "mx.ptr"\n[[require]]\ncheck = "mx.ptr"\naccept = ["great"]\n',
     "profile t.toml: require #2: accept must list statuses from pass, warn, fail, info, error, skipped"),
    ('name = "x"\n[[require]]\ncheck = "mx.ptr"\naccept = "pass"\n', "accept must list statuses"),
    ('name = "x"\n[[require]]\nchek = "mx.ptr"\n', 'require #1: needs check = "<check ID>"'),
    ('name = "x"\n[[require]]\ncheck = "mx.ptr"\nsevere = true\n', "require #1: unknown key(s) severe"),
    ('name = "x"\n[weights]\n"no.such" = 1\n', "[weights]: unknown check ID 'no.such'"),
    ('name = "x"\n[weights]\n"mx.ptr" = -1\n', "[weights] mx.ptr: must be a number >= 0"),
    ('name = "x"\n[weights]\n"mx.ptr" = "heavy"\n', "[weights] mx.ptr: must be a number >= 0"),
    ('name = "x"\nweights = 3\n', "[weights] must be a table"),
    ('name = "x"\nrequire = 3\n', "'require' must be an array of tables"),
    ('title = "no name"\n', "profile t.toml: missing 'name'"),
    ('name = "x"\n[[require]\ncheck = "mx.ptr"\n', "profile t.toml: "),     # malformed TOML
])
def test_bad_profiles(text, message):
    with pytest.raises(UsageError) as info:
        parse_profile(text, "t.toml", KNOWN)
    assert message in str(info.value)


def test_malformed_toml_names_the_line():
    with pytest.raises(UsageError, match=r"profile t.toml: .*line 2"):
        parse_profile('name = "x"\n[[require]\n', "t.toml", KNOWN)


def test_missing_profile():
    with pytest.raises(UsageError, match="no such built-in profile"):
        load_profile("no-such-profile", KNOWN)
    with pytest.raises(UsageError, match="no such built-in profile"):
        load_profile("./no/such.toml", KNOWN)


def test_bad_profile_through_the_cli(run_cli, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "bad"\n[[require]]\ncheck = "smtp.made_up"\n')
    proc = run_cli(["scan", "-d", "a.example", "--profile", path, "--out", tmp_path / "out",
                    "--db", tmp_path / "db.sqlite", "--nameserver", "127.0.0.1:9"], timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"mxaudit: error: profile {path}: require #1: unknown check ID 'smtp.made_up'"
