"""write_reports reads a stream of known length once (one pass feeds the tabular files and
report.html) and a plain iterator twice; both give byte-identical outputs."""
from __future__ import annotations

from reports import write_reports

from .test_outputs import CHECKS, results

META = {"scan_id": 1, "started": "s", "finished": "f", "profile": "baseline", "version": "v"}
FILES = ("domains.csv", "findings.csv", "results.jsonl", "report.html")


def _write(path, make):
    calls = []

    def source():
        calls.append(1)
        return make()

    summary = write_reports(path, source, CHECKS, META)
    return len(calls), (summary.domains, summary.invalid), \
        {name: (path / name).read_bytes() for name in FILES}


def test_sized_stream_is_read_once_and_matches_two_passes(tmp_path):
    one = tmp_path / "sized"
    two = tmp_path / "iterator"
    one.mkdir()
    two.mkdir()
    calls_sized, summary_sized, sized = _write(one, results)
    calls_iter, summary_iter, plain = _write(two, lambda: iter(results()))
    assert (calls_sized, calls_iter) == (1, 2)
    assert summary_sized == summary_iter == (2, 1)
    assert sized == plain
