"""Hostile text in outputs: CSV cells neutralised against formula injection; text for a
terminal with its control characters made visible."""
from __future__ import annotations

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A CSV cell that spreadsheet programs will not execute (OWASP: prefix with a quote)."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def terminal_safe(text: object) -> str:
    """``text`` with every character Python does not call printable (C0 and C1 controls, DEL,
    bidi overrides and other format characters, line and paragraph separators) written as a
    visible escape (``\\x1b``, ``\\u202e``): no ESC/CSI/OSC sequence from a record or a
    server reaches a terminal. (The same rule as issue 14's central escaping function for
    terminals and logs: to be merged into it.)"""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(ord(c)) for c in text)


def _escape(code: int) -> str:
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
