"""write_reports reads its results once (one pass feeds the tabular files and report.html):
a list and a plain iterator with its count give byte-identical outputs."""
from __future__ import annotations

from reports import write_reports
from scanner.api import get_profile

from .test_outputs import CHECKS, results

META = {"scan_id": 1, "started": "s", "finished": "f", "profile": "baseline", "version": "v"}
FILES = ("domains.csv", "findings.csv", "results.jsonl", "report.html")


def _write(path, rs, **kw):
    summary = write_reports(path, rs, get_profile("baseline"), META, check_ids=CHECKS, **kw)
    return (summary.domains, summary.invalid), {name: (path / name).read_bytes() for name in FILES}


def test_one_pass_over_a_list_or_an_iterator(tmp_path):
    one, two = tmp_path / "list", tmp_path / "iterator"
    one.mkdir()
    two.mkdir()
    read = []

    def stream():
        for r in results():
            read.append(r)
            yield r

    summary_list, listed = _write(one, results())
    summary_iter, plain = _write(two, stream(), count=len(results()))
    assert len(read) == len(results())        # read once
    assert summary_list == summary_iter == (2, 1)
    assert listed == plain
