"""domains.csv, findings.csv and results.jsonl, written in one streaming pass."""
from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from scanner.pipeline import DomainResult
from scanner.serde import to_jsonable

from .atomic import atomic_text
from .columns import DETAIL_COLUMNS, FINDING_COLUMNS, LEAD_COLUMNS, domain_row
from .safe import csv_cell
from .summary import Summary


def write_tabular(out: Path, results: Iterable[DomainResult], check_ids: list[str]) -> Summary:
    with tabular_writer(out, check_ids) as (add, summary):
        for r in results:
            add(r)
    return summary


@contextmanager
def tabular_writer(out: Path, check_ids: list[str]) -> Iterator[tuple[Callable[[DomainResult], None], Summary]]:
    """(add one result, the summary it keeps); the three files are complete on exit."""
    summary = Summary(check_ids)
    with ExitStack() as stack:
        dom = csv.writer(stack.enter_context(atomic_text(out / "domains.csv", newline="")))
        fnd = csv.writer(stack.enter_context(atomic_text(out / "findings.csv", newline="")))
        jsonl = stack.enter_context(atomic_text(out / "results.jsonl"))
        dom.writerow([*LEAD_COLUMNS, *check_ids, *DETAIL_COLUMNS])
        fnd.writerow(FINDING_COLUMNS)

        def add(r: DomainResult) -> None:
            summary.add(r)
            dom.writerow([csv_cell(v) for v in domain_row(r, check_ids)])
            name = r.evidence.domain or r.evidence.input
            for f in r.findings:
                fnd.writerow([csv_cell(v) for v in
                              (name, f.check, f.subject, f.status.value, f.message, f.remediation)])
            jsonl.write(json.dumps(result_json(r), ensure_ascii=False) + "\n")

        yield add, summary


def result_json(r: DomainResult) -> dict:
    """One line of results.jsonl: the domain, its verdict, findings and evidence."""
    return {
        "domain": r.evidence.domain,
        "input": r.evidence.input,
        "status": r.status,
        "verdict": to_jsonable(r.verdict),
        "findings": to_jsonable(r.findings),
        "evidence": to_jsonable(r.evidence),
    }
