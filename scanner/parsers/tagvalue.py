"""The one parser and the one locator for ``tag=value`` TXT records (STYLE rule 7).

DMARC (RFC 7489 6.4), DKIM key records (RFC 6376 3.2 / 3.6.1), MTA-STS TXT (RFC 8461 3.1),
TLS-RPT (RFC 8460 3) and BIMI all share the RFC 6376 ``tag-list`` shape:

    tag-list = tag-spec *( ";" tag-spec ) [ ";" ]
    tag-spec = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]

Pure functions, no I/O: the collect stage keeps raw TXT strings in the evidence, and checks
parse them here. Hostile input (64 KB records, control characters, non-UTF-8 bytes already
backslash-escaped by the DNS layer) must never raise.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_WS = " \t\r\n"


@dataclass(frozen=True)
class TagList:
    """A parsed tag-list. Tag names are lower-cased; values have surrounding FWS removed."""

    tags: tuple[tuple[str, str], ...] = ()   # (name, value) in record order, first occurrence
    duplicates: tuple[str, ...] = ()         # names that occurred more than once
    errors: tuple[str, ...] = ()             # malformed segments, described

    def get(self, name: str, default: str | None = None) -> str | None:
        for tag, value in self.tags:
            if tag == name:
                return value
        return default

    def __contains__(self, name: object) -> bool:
        return any(tag == name for tag, _ in self.tags)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(tag for tag, _ in self.tags)

    @property
    def first(self) -> str:
        return self.tags[0][0] if self.tags else ""

    @property
    def valid(self) -> bool:
        """Well-formed as a tag-list (says nothing about the tags' meaning)."""
        return not self.errors and not self.duplicates


def parse(text: str) -> TagList:
    """Parse a tag-list; never raises. An empty segment (``;;``, trailing ``;``) is allowed."""
    tags: list[tuple[str, str]] = []
    seen: set[str] = set()
    duplicates: list[str] = []
    errors: list[str] = []
    for segment in text.split(";"):
        if not segment.strip(_WS):
            continue
        name, sep, value = segment.partition("=")
        name = name.strip(_WS)
        if not sep:
            errors.append(f"segment without '=': {clip(segment.strip(_WS), 40)}")
            continue
        if not _TAG_NAME.match(name):
            errors.append(f"invalid tag name {clip(name, 40)!r}")
            continue
        name = name.lower()
        if name in seen:
            if name not in duplicates:
                duplicates.append(name)
            continue
        seen.add(name)
        tags.append((name, value.strip(_WS)))
    return TagList(tuple(tags), tuple(duplicates), tuple(errors))


def has_version(record: str, version: str, *, spf: bool = False) -> bool:
    """Does ``record`` start with the version tag ``v=<version>``?

    Tag-value records (``spf=False``): optional leading whitespace, whitespace around '=',
    the version compared case-insensitively, then the end, whitespace or ';'.
    SPF (RFC 7208 4.5): exactly ``v=spf1`` at the very start, followed by a space or the end.
    """
    if spf:
        head = record[: len(version) + 3].lower()
        return head == f"v={version.lower()}" or head == f"v={version.lower()} "
    m = re.match(r"[ \t\r\n]*v[ \t\r\n]*=[ \t\r\n]*([^; \t\r\n]*)", record)
    return bool(m) and m.group(1).lower() == version.lower()


def locate(records: Iterable[str], version: str, *, spf: bool = False) -> tuple[str, ...]:
    """The records at a name that belong to one family: those starting with ``v=<version>``.

    This is how every family selects its records (RFC 7208 4.5, RFC 7489 6.6.3, RFC 8461 3.1,
    RFC 8460 3, BIMI): other TXT records at the same name are ignored, several matching
    records are the caller's problem to judge.
    """
    return tuple(r for r in records if has_version(r, version, spf=spf))


def split_list(value: str, sep: str = ",") -> tuple[str, ...]:
    """A comma (or colon) separated tag value, items stripped, empty items dropped."""
    return tuple(item.strip(_WS) for item in value.split(sep) if item.strip(_WS))


# mailto: URI of DMARC rua/ruf (RFC 7489 6.2) and TLS-RPT rua (RFC 8460 3), with the optional
# DMARC size limit suffix "!10m". The local part is a dot-atom: no quotes, '<', '>' or spaces.
MAILTO = re.compile(r"mailto:([A-Za-z0-9.#$%&'*+/=?^_`{|}~-]+)@([A-Za-z0-9.\-_]+\.?)"
                    r"(?:!\d+[kmgtKMGT]?)?\Z", re.I)


def mailto_domains(value: str) -> tuple[tuple[str, str], ...]:
    """(uri, domain) of every well-formed mailto: URI in a comma-separated URI list."""
    out = []
    for uri in split_list(value, ","):
        m = MAILTO.match(uri)
        if m:
            out.append((uri, m.group(2).rstrip(".").lower()))
    return tuple(out)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clip(text: str, limit: int = 200) -> str:
    """Record text for a message: control characters escaped, long text shortened."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(text)} characters)"
