"""Hostile text in outputs: CSV cells neutralised against formula injection (text for a
terminal: scanner/textsafe.py)."""
from __future__ import annotations

_FORMULA_START = frozenset("=+-@\t\r")   # what a spreadsheet reads as the start of a formula


def csv_cell(value: object) -> str:
    """A CSV cell that spreadsheet programs will not execute (OWASP: prefix with a quote)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in _FORMULA_START else text
