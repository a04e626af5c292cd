"""The one escaping function for text that reaches a terminal or a log line.

Names, records, server replies, message headers and input lines are hostile: an ESC or CSI
sequence (C0 ``\\x1b[`` or the single C1 byte U+009B) moves the cursor, rewrites earlier
lines or fakes a "pass" line; a newline forges a log record; bidirectional overrides
(U+202E) and other format characters reorder what the reader sees. Every character Python
does not call printable (categories Cc, Cf, Zl, Zp, Zs other than the space, Co, Cn) is
written as a visible escape (``\\x1b``, ``\\u202e``); everything else is left alone, so
IDN names and ordinary text read as they are. Reports have their own escaping (HTML,
CSV: reports/); this is for ``print``, progress lines and logs (logfmt and JSON stay valid
since the result has no control character left to break them).
"""
from __future__ import annotations


def for_terminal(text: object) -> str:
    """``text`` (any object, as ``str``) with every non-printable character escaped."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(ord(c)) for c in text)


def _escape(code: int) -> str:
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
