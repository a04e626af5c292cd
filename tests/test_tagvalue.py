"""The shared tag=value parser and locator (STYLE rule 7)."""
from __future__ import annotations

import pytest

from scanner.parsers.tagvalue import clip, has_version, locate, parse, split_list


def test_parse_basic_and_fws():
    t = parse(" v = DMARC1 ;p=reject;\r\n\trua=mailto:a@x.test ; ")
    assert t.tags == (("v", "DMARC1"), ("p", "reject"), ("rua", "mailto:a@x.test"))
    assert t.valid and t.first == "v" and t.get("p") == "reject" and "rua" in t


def test_parse_errors_and_duplicates():
    t = parse("v=DKIM1; p=abc; p=def; junk; 9x=1; =v")
    assert t.get("p") == "abc" and t.duplicates == ("p",) and len(t.errors) == 3
    assert not t.valid


def test_parse_never_raises_on_hostile_input():
    for text in ("", ";;;", "=" * 70000, "\x00\xff;v=1", "a=" + "\\xff" * 1000, "<script>=1"):
        parse(text)


@pytest.mark.parametrize("record,version,spf,expected", [
    ("v=DMARC1; p=none", "DMARC1", False, True),
    ("  v = dmarc1;p=none", "DMARC1", False, True),
    ("v=DMARC1", "DMARC1", False, True),
    ("v=DMARC10; p=none", "DMARC1", False, False),
    ("p=none; v=DMARC1", "DMARC1", False, False),
    ("v=spf1 -all", "spf1", True, True),
    ("v=spf1", "spf1", True, True),
    ("V=SPF1 -all", "spf1", True, True),
    ("v=spf10 -all", "spf1", True, False),
    (" v=spf1 -all", "spf1", True, False),
])
def test_has_version(record, version, spf, expected):
    assert has_version(record, version, spf=spf) is expected


def test_locate_keeps_only_the_family():
    records = ("google-site-verification=x", "v=spf1 -all", "v=STSv1; id=1", "v=STSv1; id=2")
    assert locate(records, "STSv1") == ("v=STSv1; id=1", "v=STSv1; id=2")
    assert locate(records, "spf1", spf=True) == ("v=spf1 -all",)


def test_split_list_and_clip():
    assert split_list(" a , b,,c ") == ("a", "b", "c")
    assert split_list("s:y", ":") == ("s", "y")
    assert clip("a\nb") == "a\\x0ab"
    assert clip("x" * 500, 50).endswith("(500 characters)")
