"""`mxaudit check --format json|jsonl|csv`: results as machine-readable text on stdout, the
same encodings as the report folder's files, so one parser reads both.

- ``json``: one JSON document, an array of results.jsonl objects (one per domain, in input
  order), so ``mxaudit check example.com --format json | jq '.[0].verdict'`` works.
- ``jsonl``: results.jsonl's lines.
- ``csv``: findings.csv (its header, then one row per finding), cells neutralised against
  formula injection like the file's.

Each view writes as results arrive (``add``) and ends its document in ``close``; a view
neither added to nor closed has written nothing.
"""
from __future__ import annotations

import csv
from typing import TextIO

from scanner.result import DomainResult

from .columns import FINDING_COLUMNS
from .tabular import finding_rows, result_line


class JsonView:
    def __init__(self, stream: TextIO) -> None:
        self.stream, self._count = stream, 0

    def add(self, r: DomainResult) -> None:
        self.stream.write(("[\n" if self._count == 0 else ",\n") + result_line(r).rstrip("\n"))
        self._count += 1

    def close(self) -> None:
        self.stream.write("\n]\n" if self._count else "[]\n")
        self.stream.flush()


class JsonlView:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def add(self, r: DomainResult) -> None:
        self.stream.write(result_line(r))
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


class CsvView:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.writer = csv.writer(stream)
        self._header = False

    def add(self, r: DomainResult) -> None:
        self._start()
        self.writer.writerows(finding_rows(r))
        self.stream.flush()

    def close(self) -> None:
        self._start()
        self.stream.flush()

    def _start(self) -> None:
        if not self._header:
            self.writer.writerow(FINDING_COLUMNS)
            self._header = True


MACHINE_VIEWS = {"json": JsonView, "jsonl": JsonlView, "csv": CsvView}
