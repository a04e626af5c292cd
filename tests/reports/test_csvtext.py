"""reports/csvtext.py writes what csv.writer writes, byte for byte, whatever the cells hold."""
from __future__ import annotations

import csv
import io
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.csvtext import CsvText


def reference(rows) -> str:
    buf = io.StringIO(newline="")
    csv.writer(buf).writerows(rows)
    return buf.getvalue()


@pytest.mark.parametrize("rows", [
    [],
    [[]],
    [[""]],
    [["", ""]],
    [["a", "b,c", 'say "hi"', "line\nbreak", "cr\rhere", "crlf\r\n", ""]],
    [["'=HYPERLINK(\"x\")", "<script>alert('x')</script>", "é 💥 \x00\u2028"]],
    [["plain", "row"], ["needs, quoting", "x"], ["plain", "again"], [""], ["a"]],
    [[" leading", "trailing ", "\ttab", "#hash", "'quote", "\\back"]],
])
def test_known_rows(rows):
    assert CsvText().lines(rows) == reference(rows)


cell = st.one_of(st.text(string.ascii_letters + ' ,"\r\n\t\'\\=+-@', max_size=8), st.text(max_size=8))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(cell, max_size=6), max_size=6))
def test_any_rows(rows):
    text = CsvText()
    assert text.lines(rows) == reference(rows)
    assert text.lines(rows) == reference(rows)      # the buffer is left empty between calls
