"""Organisational domains from the shipped Public Suffix List (cases from the PSL's own tests)."""
from __future__ import annotations

import pytest

from scanner.parsers.psl import is_public_suffix, org_domain


@pytest.mark.parametrize("name,expected", [
    ("example.com", "example.com"), ("www.example.com", "example.com"),
    ("WwW.example.COM", "example.com"), ("example.example", "example.example"),
    ("a.b.example.example", "example.example"), ("a.b.domain.biz", "domain.biz"),
    ("b.example.uk.com", "example.uk.com"), ("a.b.example.uk.com", "example.uk.com"),
    ("test.ac", "test.ac"), ("b.test.ck", "b.test.ck"), ("a.b.test.ck", "b.test.ck"),
    ("www.www.ck", "www.ck"), ("www.ck", "www.ck"),
    ("a.b.c.kobe.jp", "b.c.kobe.jp"), ("city.kobe.jp", "city.kobe.jp"),
    ("www.city.kobe.jp", "city.kobe.jp"), ("mail.example.co.uk", "example.co.uk"),
    ("xn--85x722f.xn--55qx5d.cn", "xn--85x722f.xn--55qx5d.cn"),
    ("example.test", "example.test"), ("sub.example.test", "example.test"),
])
def test_org_domain(name, expected):
    assert org_domain(name) == expected


def test_public_suffixes_are_returned_unchanged():
    assert org_domain("co.uk") == "co.uk" and is_public_suffix("co.uk")
    assert not is_public_suffix("example.co.uk")
