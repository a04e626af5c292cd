"""Output identity of judging and encoding (issue 6): the per-domain fast paths of evaluate,
grade and serde must produce exactly what the plain code did.

The fixture (tests/fixtures/judge_identity.json.gz, gzip of one JSON document) holds 81
evidence objects picked for variety from the lab demo and from the lab/hand-made scenarios of
the test suite (each adds a (check, status, message word) the others lack: SERVFAIL and
timeouts, null MX, invalid and non-existent domains, broken and hostile servers, every SPF,
DMARC and DKIM branch), with the ``store._dumps`` strings of their findings and of their
verdict under every built-in profile, as produced by the code before the fast paths.

Regenerate (only for an intended change of output) with
``python -m tests.perf.test_judge_identity --regenerate``.
"""
from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest

from scanner.evidence import DomainEvidence
from scanner.result import judge
from scanner.profiles import builtin_names, load_profile
from scanner.checks import all_checks
from scanner.serde import dumps, from_jsonable, to_jsonable
from scanner.store import _dumps

FIXTURE = Path(__file__).parent.parent / "fixtures" / "judge_identity.json.gz"


def _load() -> dict:
    with gzip.open(FIXTURE, "rt", encoding="utf-8") as fh:
        return json.load(fh)


CASES = _load()["cases"]
PROFILES = {name: load_profile(name, set(all_checks())) for name in builtin_names()}


def _evidence(case: dict) -> DomainEvidence:
    return from_jsonable(DomainEvidence, json.loads(case["evidence"]))


def test_fixture_is_varied():
    assert len(CASES) >= 30
    assert set(CASES[0]["verdicts"]) == set(PROFILES)


@pytest.mark.parametrize("case", CASES, ids=[f"{i}-{c['source'][:60]}" for i, c in enumerate(CASES)])
def test_judge_and_dumps_are_unchanged(case):
    ev = _evidence(case)
    assert _dumps(ev) == case["evidence"]
    assert to_jsonable(ev) == json.loads(case["evidence"])   # same values, lists not tuples
    for name, profile in PROFILES.items():
        result = judge(ev, profile)
        assert _dumps(result.findings) == case["findings"], name
        assert _dumps(result.verdict) == case["verdicts"][name], name
        assert to_jsonable(result.findings) == json.loads(case["findings"])
        # serde.dumps writes the same text as store._dumps (json.dumps of to_jsonable)
        assert dumps(result.findings) == case["findings"], name
        assert dumps(result.verdict) == case["verdicts"][name], name
    assert dumps(ev) == case["evidence"]


def test_judging_twice_gives_the_same_result():
    """Per-evidence memoisation must not leak between calls or between profiles."""
    ev = _evidence(CASES[0])
    first = judge(ev, PROFILES["baseline"])
    assert judge(ev, PROFILES["baseline"]) == first
    assert judge(_evidence(CASES[0]), PROFILES["baseline"]) == first


def _regenerate() -> None:
    doc = _load()
    for case in doc["cases"]:
        ev = _evidence(case)
        results = {name: judge(ev, p) for name, p in PROFILES.items()}
        case["evidence"] = _dumps(ev)
        case["findings"] = _dumps(results["baseline"].findings)
        case["verdicts"] = {name: _dumps(r.verdict) for name, r in results.items()}
    data = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    FIXTURE.write_bytes(gzip.compress(data, 9, mtime=0))


if __name__ == "__main__" and "--regenerate" in sys.argv:
    _regenerate()
