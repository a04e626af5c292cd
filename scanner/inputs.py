"""Domain lists in, normalised targets out: text lists, CSV, stdin and -d arguments.

Streams: a 100,000-line list is read line by line; only the set of names already seen
(for de-duplication) is kept. Junk lines are kept as targets that fail `domain.valid`.
A list that cannot be read at all (missing file, CSV without a `domain` column) raises
InputError before any scanning starts.
"""
from __future__ import annotations

import csv
import ipaddress
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import idna

from scanner.errors import InputError

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SELECTOR = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62})$")
MAX_INPUT_SHOWN = 300


@dataclass(frozen=True)
class Target:
    input: str
    domain: str = ""              # A-label form, lower case, no trailing dot; "" when invalid
    invalid_reason: str = ""
    dkim_selectors: tuple[str, ...] = ()


def normalise_domain(text: str) -> tuple[str, str]:
    """Input text -> (A-label domain, "") or ("", reason). Pure."""
    raw = text.strip()
    if not raw:
        return "", "empty input"
    if len(raw) > MAX_INPUT_SHOWN:
        return "", "input too long to be a domain name"
    if "@" in raw:
        return "", "looks like an email address, not a domain"
    if "://" in raw:
        return "", "looks like a URL, not a domain"
    if any(c.isspace() for c in raw):
        return "", "contains whitespace"
    name = raw[:-1] if raw.endswith(".") else raw
    if name.startswith("[") or _is_ip(name):
        return "", "an IP address, not a domain"
    try:
        ascii_name = idna.encode(name, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError) as exc:
        return "", f"not a valid domain name ({_idna_reason(exc)})"
    ascii_name = ascii_name.lower()
    if len(ascii_name) > 253:
        return "", "longer than 253 characters"
    labels = ascii_name.split(".")
    if len(labels) < 2:
        return "", "a single label, not a registrable domain"
    bad = next((lbl for lbl in labels if not _LABEL.match(lbl)), None)
    if bad is not None:
        return "", f"invalid label {bad[:63]!r}"
    if labels[-1].isdigit():
        return "", "the top-level label is numeric"
    return ascii_name, ""


def parse_selectors(text: str) -> tuple[str, ...]:
    tokens = re.split(r"[\s;,]+", text.strip())
    return tuple(dict.fromkeys(t for t in tokens if t and _SELECTOR.match(t)))


def make_target(text: str, selectors: tuple[str, ...] = ()) -> Target:
    domain, reason = normalise_domain(text)
    shown = text.strip()
    return Target(shown[:MAX_INPUT_SHOWN], domain, reason, selectors)


def read_targets(files: Sequence[str] = (), domains: Sequence[str] = (), *,
                 stdin: TextIO | None = None) -> Iterator[Target]:
    """All inputs in order, de-duplicated (first position kept). Validates every source
    first: a file that cannot be read, a CSV without a domain column, and every CSV
    structure problem (see ``_csv_rows``) raise InputError before any domain is scanned.
    stdin cannot be read twice: a problem there raises InputError when the scan reaches it."""
    for f in files:
        if f != "-" and Path(f).suffix.lower() == ".csv":
            _validate_csv(f)
    sources = [_open_source(f, stdin) for f in files]   # raises InputError up front
    return _dedupe(_chain(domains, sources))


def _validate_csv(name: str) -> None:
    """One pass over a CSV list (the csv module only, no name normalisation): raises the
    InputError reading it during the scan would raise, before the scan starts."""
    stream = _open_file(name)
    with stream:
        first = stream.readline()
        if _csv_header(first) is not None:
            for _ in _csv_rows(stream, name):
                pass


def _chain(domains: Sequence[str], sources: list[Iterator[Target]]) -> Iterator[Target]:
    for d in domains:
        yield make_target(d)
    for src in sources:
        yield from src


def _dedupe(targets: Iterable[Target]) -> Iterator[Target]:
    seen: set[str] = set()
    for t in targets:
        key = t.domain or "\0" + t.input
        if key in seen:
            continue
        seen.add(key)
        yield t


def _open_source(name: str, stdin: TextIO | None) -> Iterator[Target]:
    if name == "-":
        stream = stdin if stdin is not None else sys.stdin
        return _parse_stream(stream, "stdin", is_csv=False)
    return _parse_stream(_open_file(name), name, is_csv=Path(name).suffix.lower() == ".csv")


def _open_file(name: str) -> TextIO:
    try:
        return open(Path(name), encoding="utf-8-sig", errors="replace", newline="")
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory, not a domain list") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None


def _parse_stream(stream: TextIO, label: str, *, is_csv: bool) -> Iterator[Target]:
    try:
        first = stream.readline()
    except OSError as exc:
        raise InputError(f"{label}: cannot read ({exc})") from None
    header = _csv_header(first)
    if is_csv and header is None:
        raise InputError(f"{label}: CSV file has no 'domain' column in its header line")
    if header is not None:
        return _csv_targets(stream, header, label)
    return _text_targets(first, stream)


def _csv_header(line: str) -> list[str] | None:
    if "," not in line and line.strip().lower() != "domain":
        return None
    cells = [c.strip().lower() for c in next(csv.reader([line]), [])]
    return cells if "domain" in cells else None


def _csv_rows(stream: TextIO, label: str) -> Iterator[list[str]]:
    """The rows after the header line, one per physical line, or InputError naming the file
    and the line. Why a row may not span lines: a quoted field with a line break in it is
    legal CSV, but in a domain list it is all but always an unbalanced quote, and the csv
    module then silently swallows the following lines into that field (the domains on
    them vanish from the scan) or, after 128 KiB, stops with an error deep in the scan.
    Every physical line is a row or an error, never lost."""
    reader = csv.reader(stream)
    while True:
        line = reader.line_num + 2          # physical line number (the header is line 1)
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"{label} line {line}: malformed CSV ({exc}); an unbalanced "
                             "quote?") from None
        spans = reader.line_num + 2 - line
        if spans > 1:
            raise InputError(f"{label} line {line}: a quoted field runs over {spans} lines "
                             "(an unbalanced quote?); each row of a domain list must be on one "
                             "line")
        yield row


def _csv_targets(stream: TextIO, header: list[str], label: str) -> Iterator[Target]:
    d_i = header.index("domain")
    s_i = header.index("dkim_selectors") if "dkim_selectors" in header else None
    with stream:
        for row in _csv_rows(stream, label):
            if not row or not any(c.strip() for c in row) or row[0].lstrip().startswith("#"):
                continue
            cell = row[d_i] if d_i < len(row) else ""
            sels = parse_selectors(row[s_i]) if s_i is not None and s_i < len(row) else ()
            yield make_target(cell, sels)


def _text_targets(first: str, stream: TextIO) -> Iterator[Target]:
    with stream:
        for line in _prepend(first, stream):
            text = line.split("#", 1)[0].strip()
            if text:
                yield make_target(text)


def _prepend(first: str, stream: TextIO) -> Iterator[str]:
    if first:
        yield first
    yield from stream


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _idna_reason(exc: BaseException) -> str:
    text = str(exc).replace("\n", " ")
    return text[:120] or type(exc).__name__


def targets_from_strings(items: Iterable[str]) -> Iterator[Target]:
    """For the Python API: plain strings -> de-duplicated targets."""
    return _dedupe(make_target(s) for s in items)


__all__ = ["Target", "make_target", "normalise_domain", "parse_selectors", "read_targets",
           "targets_from_strings"]
