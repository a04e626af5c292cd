"""domains.csv, findings.csv and results.jsonl (or results.jsonl.gz), written in one
streaming pass."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from scanner.profiles import Profile
from scanner.result import DomainResult
from scanner.serde import dumps

from .columns import DETAIL_COLUMNS, FINDING_COLUMNS, LEAD_COLUMNS, domain_row
from .csvtext import CsvText
from .files import FileSet
from .findings_csv import FindingsCsv
from .safe import csv_cell
from .summary import Summary


JSONL, JSONL_GZ = "results.jsonl", "results.jsonl.gz"


@contextmanager
def tabular_writer(out: Path, check_ids: list[str], profile: Profile, files: FileSet, *,
                   gzip_jsonl: bool = False
                   ) -> Iterator[tuple[Callable[[DomainResult], None], Summary]]:
    """(add one result, the summary it keeps); the three files are whole (in ``files``, to
    be committed with the rest of the set) on exit. ``gzip_jsonl``: results.jsonl.gz (the
    same lines, gzip-compressed) instead of results.jsonl; the other one, left by an
    earlier set in the folder, is removed when the set is committed."""
    summary = Summary(check_ids, profile)
    with ExitStack() as stack:
        dom = stack.enter_context(files.text(out / "domains.csv", newline=""))
        fnd = stack.enter_context(files.text(out / "findings.csv", newline=""))
        if gzip_jsonl:
            jsonl = stack.enter_context(files.gzip_text(out / JSONL_GZ))
        else:
            jsonl = stack.enter_context(files.text(out / JSONL))
        files.obsolete(out / (JSONL if gzip_jsonl else JSONL_GZ))
        dom_csv, fnd_csv = CsvText(), FindingsCsv()
        dom.write(dom_csv.lines([[*LEAD_COLUMNS, *check_ids, *DETAIL_COLUMNS]]))
        fnd.write(dom_csv.lines([FINDING_COLUMNS]))

        def add(r: DomainResult) -> None:
            summary.add(r)
            dom.write(dom_csv.lines([[csv_cell(v) for v in domain_row(r, check_ids)]]))
            fnd.write(fnd_csv.lines(r))
            jsonl.write(result_line(r))

        yield add, summary


def finding_rows(r: DomainResult) -> list[list[str]]:
    """findings.csv's rows of one domain (FINDING_COLUMNS), cells neutralised (csv_cell), for
    ``mxaudit check --format csv`` (the file's writer makes the same text, reports/findings_csv.py):
    the domain's name once for all its rows; the status needs none (a word of a closed set,
    scanner.findings.Status)."""
    name = csv_cell(r.evidence.domain or r.evidence.input)
    return [[name, csv_cell(f.check), csv_cell(f.subject), f.status.value, csv_cell(f.message),
             csv_cell(f.remediation)] for f in r.findings]


def result_line(r: DomainResult) -> str:
    """One line of results.jsonl: the domain, its verdict, findings and evidence, as compact
    JSON written by ``serde.dumps`` (msgspec; the same text as ``json.dumps`` of
    ``to_jsonable`` of the whole line, which tests/reports/test_result_line.py holds as the
    reference)."""
    ev = r.evidence
    return (f'{{"domain":{json.dumps(ev.domain, ensure_ascii=False)},'
            f'"input":{json.dumps(ev.input, ensure_ascii=False)},"status":"{r.status}",'
            f'"verdict":{dumps(r.verdict)},"findings":{dumps(r.findings)},'
            f'"evidence":{dumps(ev)}}}\n')
