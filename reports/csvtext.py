"""CSV text exactly as ``csv.writer`` writes it (the default "excel" dialect: comma, double
quote, CRLF, quoting only where needed), a domain's rows at a time.

Why: findings.csv has a row per finding, over a hundred per domain, and ``csv.writer`` makes
a call into the file for each row, which cost more than making the rows. Most rows need no
quoting (no comma, double quote, CR or LF in any cell): their CSV line is the cells joined by
commas. Every other row is written by ``csv.writer`` itself, so the quoting rule stays the
standard library's (tests/reports/test_csvtext.py compares the two on hostile rows). The
formula neutralisation of hostile cells is not this module's business: cells arrive already
through ``reports.safe.csv_cell``.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

_EOL = "\r\n"    # the excel dialect's line terminator


class CsvText:
    """Turns rows of text cells into CSV text; one per output file (it keeps a buffer for the
    rows that need quoting)."""

    def __init__(self) -> None:
        self._buf = io.StringIO(newline="")
        self._writer = csv.writer(self._buf)

    def lines(self, rows: Iterable[Sequence[str]]) -> str:
        """The CSV text of ``rows`` (each cell a str), one line per row."""
        out = []
        for row in rows:
            line = ",".join(row)
            if plain(line, len(row)):
                out.append(line)
                out.append(_EOL)
            else:
                out.append(self._quoted(row))
        return "".join(out)

    def cells(self, row: Sequence[str]) -> str:
        """The CSV text of one row of two or more cells, without its line end: a piece to
        join with others by a comma into one line. csv quotes each cell on its own content
        alone, so the pieces joined are the line of the cells joined (the one exception, the
        row of one empty cell, is why a piece has two cells or more)."""
        if len(row) < 2:
            raise ValueError("a piece of a line has two cells or more")
        return self.lines((row,))[:-len(_EOL)]

    def cell(self, value: str) -> str:
        """One cell as csv writes it inside a row of several (an empty cell is empty, not
        ``""`` as a row of that cell alone): the row of it and an empty cell, without the
        comma that empty cell adds."""
        return self.cells((value, ""))[:-1]

    def _quoted(self, row: Sequence[str]) -> str:
        self._writer.writerow(row)
        text = self._buf.getvalue()
        self._buf.seek(0)
        self._buf.truncate()
        return text


def plain(line: str, cells: int) -> bool:
    """Whether the row joined into ``line`` is written as is: no cell holds a comma (the
    line has one fewer than cells), a double quote, CR or LF; and it is not the one-empty-cell
    row, which csv writes as ``""`` so it is not read back as no cell at all."""
    return (line.count(",") == cells - 1 and '"' not in line and "\n" not in line
            and "\r" not in line and (cells > 1 or line != ""))
