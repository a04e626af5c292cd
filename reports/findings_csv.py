"""findings.csv's lines of a domain, with the part of a row that is a shared finding's own
made once.

Why: a finding's row is ``domain, check, subject, status, message, remediation``; everything
after the domain's name depends on the finding alone. The smtp.* findings of a probe shared
by many domains (most domains of a list use a few providers' MX hosts) are judged once
(scanner/checks/_probe_memo.py) and the same Finding objects reach every such domain - about
half of all rows of a bench scan. Their neutralised (``csv_cell``), quoted text is made once
per object and reused; the line is the domain's cell, a comma and that text (csv quotes each
cell on its own, reports/csvtext.py ``CsvText.cells``), so the bytes are those of
``finding_rows`` written by ``csv.writer`` (tests/reports/test_findings_csv.py).

A finding is remembered by identity: the object is held while remembered, so its ``id``
cannot be reused meanwhile. Only a finding met a second time is remembered (the first time
only its ``id`` is noted, an int, which holds nothing): the other half of the rows are a
domain's own findings, and holding each of those past its domain made the garbage collector
run several times as often. A noted ``id`` reused by another object only means that object
is remembered too. Both maps are bounded (emptied when full); a finding forgotten is quoted
again.
"""
from __future__ import annotations

from scanner.bounded import HeldById, SecondSight
from scanner.findings import TEXT, Finding
from scanner.result import DomainResult

from .csvtext import CsvText, plain
from .safe import csv_cell


class FindingsCsv:
    """The findings.csv text of one domain at a time (``lines``); one per output file."""

    def __init__(self, limit: int = 4096) -> None:
        self._csv = CsvText()
        self._texts = HeldById(limit)        # finding -> the text after the domain's cell
        self._met = SecondSight(limit)       # ids of findings met once

    def lines(self, r: DomainResult) -> str:
        """The domain's rows of findings.csv (FINDING_COLUMNS), one line per finding."""
        if not r.findings:
            return ""
        known, tail = self._texts.get, self._tail
        out = []
        for f in r.findings:
            out.append(known(f) or tail(f))
        head = self._csv.cell(csv_cell(r.evidence.domain or r.evidence.input)) + ","
        return head + ("\r\n" + head).join(out) + "\r\n"

    def _tail(self, f: Finding) -> str:
        """The row of ``f`` after the domain's cell (the status needs no neutralising: a word
        of a closed set, scanner.findings.Status), remembered the second time ``f`` is met."""
        cells = (csv_cell(f.check), csv_cell(f.subject), TEXT[f.status], csv_cell(f.message),
                 csv_cell(f.remediation))
        text = ",".join(cells)
        if not plain(text, 5):
            text = self._csv.cells(cells)
        return self._texts.put(f, text) if self._met.seen(id(f)) else text
