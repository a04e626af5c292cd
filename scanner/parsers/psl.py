"""Organisational domains (RFC 7489 3.2) from an offline Public Suffix List.

The list ships inside the package (``scanner/data/public_suffix_list.dat``, MPL-2.0, from
https://publicsuffix.org/; the VERSION line of the file says which snapshot) and is never
downloaded at run time: a scan's result must not depend on when it ran. Both the ICANN and
the PRIVATE sections are used, as DMARC implementations commonly do.

The list is parsed once per process on first use (a read-only table, not scan state).
"""
from __future__ import annotations

import functools
from importlib import resources


@functools.cache
def _rules() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(normal rules, wildcard parents, exception rules), names in A-label form."""
    text = resources.files("scanner").joinpath("data/public_suffix_list.dat").read_text("utf-8")
    normal: set[str] = set()
    wildcard: set[str] = set()
    exception: set[str] = set()
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("//"):
            continue
        rule = line.split()[0]
        if rule.startswith("!"):
            exception.add(_alabel(rule[1:]))
        elif rule.startswith("*."):
            wildcard.add(_alabel(rule[2:]))
        else:
            normal.add(_alabel(rule))
    return frozenset(normal), frozenset(wildcard), frozenset(exception)


def _alabel(name: str) -> str:
    try:
        return name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return name.lower()


def public_suffix_length(labels: list[str]) -> int:
    """How many trailing labels form the public suffix (at least 1: the implicit ``*`` rule)."""
    normal, wildcard, exception = _rules()
    for i in range(len(labels)):          # longest candidate first
        candidate = ".".join(labels[i:])
        if candidate in exception:
            return len(labels) - i - 1
        if candidate in normal:
            return len(labels) - i
        if i + 1 < len(labels) and ".".join(labels[i + 1:]) in wildcard:
            return len(labels) - i
    return 1


def org_domain(domain: str) -> str:
    """The organisational domain: the public suffix plus one label.

    A public suffix itself (``co.uk``), or a name that is not a valid domain, is returned
    unchanged (lower case, no trailing dot): there is no better answer for it.
    """
    name = domain.strip().rstrip(".").lower()
    labels = name.split(".")
    if not name or any(not label for label in labels):
        return name
    n = public_suffix_length(labels)
    if n >= len(labels):
        return name
    return ".".join(labels[-(n + 1):])


def is_public_suffix(domain: str) -> bool:
    labels = domain.strip().rstrip(".").lower().split(".")
    return public_suffix_length(labels) >= len(labels)
