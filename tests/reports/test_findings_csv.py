"""reports/findings_csv.py writes what csv.writer writes of finding_rows, byte for byte,
whatever the cells hold, whether a finding is quoted afresh or remembered; the memo is bounded
and keyed by the object, never by an id another object could reuse."""
from __future__ import annotations

import csv
import io
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.csvtext import CsvText
from reports.findings_csv import FindingsCsv
from reports.tabular import finding_rows
from scanner.evidence import DomainEvidence
from scanner.findings import Finding, Status
from scanner.result import DomainResult
from scanner.verdict import Verdict


def reference(r: DomainResult) -> str:
    buf = io.StringIO(newline="")
    csv.writer(buf).writerows(finding_rows(r))
    return buf.getvalue()


def result(name: str, findings, given: str | None = None) -> DomainResult:
    return DomainResult(DomainEvidence(0, given if given is not None else name, name),
                        tuple(findings), Verdict("baseline", True, 100))


text = st.one_of(st.text(string.ascii_letters + ' ,"\r\n\t\'\\=+-@', max_size=8),
                 st.text(max_size=8))
finding = st.builds(Finding, text, text, st.sampled_from(list(Status)), text, text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(text, text, st.lists(finding, max_size=5)), max_size=5),
       st.integers(1, 4))
def test_same_text_as_csv_writer(domains, limit):
    shared = [Finding("smtp.tls", "mx [192.0.2.1]:25", Status.PASS, 'a, "b"', "=x"),
              Finding("smtp.cert", "", Status.WARN, "", "")]
    lines = FindingsCsv(limit=limit)
    for name, given_as, own in domains:
        r = result(name, [*own, *shared, *own], given_as)   # a finding again in one domain, too
        assert lines.lines(r) == reference(r)
        assert lines.lines(r) == reference(r)                # remembered: the same text
        assert len(lines._texts) <= limit and len(lines._met) <= limit


@pytest.mark.parametrize("name", ["", "a.example", "=cmd", "a,b", 'q"uote', "x\ny", "-", " "])
def test_domain_cell(name):
    fs = [Finding("c", "", Status.INFO, ""), Finding("", "", Status.PASS, "", "")]
    r = result(name, fs, given="")
    assert FindingsCsv().lines(r) == reference(r)


def test_no_findings_no_lines():
    assert FindingsCsv().lines(result("a.example", [])) == ""


def test_remembered_by_object_not_by_equal_value():
    a = Finding("c", "s", Status.FAIL, "m")
    b = Finding("c", "s", Status.FAIL, "m")
    lines = FindingsCsv()
    lines.lines(result("a.example", [a, b]))
    assert not lines._texts and id(a) in lines._met and id(b) in lines._met  # met once: noted
    lines.lines(result("b.example", [a, b]))
    held = lines._texts.held()
    assert len(held) == 2 and held[0] is a and held[1] is b     # by object, each held


def test_bounded():
    lines = FindingsCsv(limit=10)
    for i in range(100):
        r = result(f"d{i}.example", [Finding("c", str(i), Status.PASS, "m") for _ in range(3)])
        assert lines.lines(r) == reference(r)
        assert len(lines._texts) <= 10 and len(lines._met) <= 10


@pytest.mark.parametrize("cells", [["", ""], ["a", ""], ["", "a,b"], ['"', "\r"], ["x"] * 6])
def test_cells_are_a_piece_of_the_line(cells):
    csv_text = CsvText()
    assert csv_text.cells(cells) + "\r\n" == csv_text.lines([cells])
    assert ",".join(csv_text.cell(c) for c in cells) == csv_text.cells(cells)


def test_a_piece_has_two_cells():
    with pytest.raises(ValueError):
        CsvText().cells([""])
