"""results.jsonl lines are spliced from the generated encoders' texts: each must be exactly
the plain ``json.dumps`` of the line's object (the reference below)."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from reports.tabular import result_line
from scanner.result import DomainResult, judge
from scanner.serde import to_jsonable

from ..perf.test_judge_identity import CASES, PROFILES, _evidence


def _reference(r: DomainResult) -> str:
    line = {"domain": r.evidence.domain, "input": r.evidence.input, "status": r.status,
            "verdict": to_jsonable(r.verdict), "findings": to_jsonable(r.findings),
            "evidence": to_jsonable(r.evidence)}
    return json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n"


@pytest.mark.parametrize("case", CASES, ids=[f"{i}" for i in range(len(CASES))])
def test_result_line_is_the_json_of_the_result(case):
    r = judge(_evidence(case), PROFILES["baseline"])
    assert result_line(r) == _reference(r)
    assert json.loads(result_line(r))["evidence"] == to_jsonable(r.evidence)


def test_hostile_text_stays_on_one_line():
    ev = replace(_evidence(CASES[0]), input='a"b\\c\nd\u2028e\x00é <script>', domain="é.test")
    r = judge(ev, PROFILES["baseline"])
    line = result_line(r)
    assert line == _reference(r) and line.count("\n") == 1
    assert json.loads(line)["input"] == ev.input
