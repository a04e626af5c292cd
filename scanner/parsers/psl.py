"""Organisational domains (RFC 7489 3.2) from the Public Suffix List.

The list is the one the maintained ``publicsuffixlist`` package ships (MPL-2.0, from
https://publicsuffix.org/, updated with the package's releases); it is never downloaded at run
time, so a scan's result depends on the installed version, not on when it ran. Both the ICANN
and the PRIVATE sections are used, as DMARC implementations commonly do. The list is loaded
once per process on first use (a read-only table, not scan state).
"""
from __future__ import annotations

import functools

from publicsuffixlist import PublicSuffixList


@functools.cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList(only_icann=False)


def _clean(domain: str) -> str | None:
    name = domain.strip().rstrip(".").lower()
    if not name or any(not label for label in name.split(".")):
        return None
    return name


def org_domain(domain: str) -> str:
    """The organisational domain: the public suffix plus one label.

    A public suffix itself (``co.uk``), or a name that is not a valid domain, is returned
    unchanged (lower case, no trailing dot): there is no better answer for it.
    """
    name = _clean(domain)
    if name is None:
        return domain.strip().rstrip(".").lower()
    return _psl().privatesuffix(name) or name


def is_public_suffix(domain: str) -> bool:
    name = _clean(domain)
    return name is not None and _psl().privatesuffix(name) is None
