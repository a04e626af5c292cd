"""The published JSON Schemas: generated from the evidence dataclasses and up to date, valid
draft 2020-12, strict where the contract is (statuses, types, required fields) and open where
the stability rule says (unknown fields); lines of every shape, hostile ones and old stored
scans re-rendered validate. (Every results.jsonl the suite's scans write is validated too, at
the end of the session: tests/conftest.py.)"""
from __future__ import annotations

import dataclasses
import json
import sqlite3
import typing

import jsonschema
import pytest

from reports.stored import render_scan
from reports.schema import FILES, field_comments, load, render, results_line_schema, schema_dir
from reports.tabular import result_line
from scanner.api import get_profile
from scanner.evidence import DomainEvidence
from scanner.evidence.records import HttpFetch
from scanner.evidence.smtp import HandshakeAttempt
from scanner.result import judge
from scanner.serde import dumps
from scanner.store import Store

from ..browser.synthetic import results as synthetic
from ..ops.test_store_migration import V1_DDL
from ..perf.test_judge_identity import CASES, _evidence
from ..schema_check import check_tree, problems_in, validator


def test_the_checked_in_schema_is_the_generated_one():
    """Fails when an evidence dataclass changed: run ``python -m reports.schema``."""
    assert (schema_dir() / FILES["results"]).read_text(encoding="utf-8") == \
        render(results_line_schema()), "regenerate docs/schema with: python -m reports.schema"


@pytest.mark.parametrize("name", sorted(FILES))
def test_schemas_are_valid_draft_2020_12_and_state_the_stability_rule(name):
    schema = load(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "never renamed or removed" in schema["description"]
    assert not any(s.get("additionalProperties") is False for s in _objects(schema))


def _objects(node):
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _objects(v)
    elif isinstance(node, list):
        for v in node:
            yield from _objects(v)


def test_every_dataclass_field_is_described_by_its_type():
    defs = results_line_schema()["$defs"]

    def walk(cls):
        spec = defs[cls.__name__]
        assert spec["required"] == [f.name for f in dataclasses.fields(cls)]
        for name, tp in typing.get_type_hints(cls).items():
            for arg in (tp, *typing.get_args(tp), *(a for t in typing.get_args(tp)
                                                    for a in typing.get_args(t))):
                if dataclasses.is_dataclass(arg):
                    walk(arg)
    walk(DomainEvidence)
    dns = defs["DnsResult"]["properties"]
    assert dns["outcome"] == {"enum": ["ok", "nodata", "nxdomain", "servfail", "refused",
                                       "timeout", "error"]}
    assert dns["records"] == {"type": "array", "items": {"type": "string"}, "default": [],
                              "description": "rdata as text; TXT: the character-strings joined, "
                                             "decoded"}
    assert defs["SmtpProbe"]["properties"]["greeting_code"]["type"] == ["integer", "null"]
    assert defs["DomainEvidence"]["properties"]["mx"] == {"anyOf": [
        {"$ref": "#/$defs/MxEvidence"}, {"type": "null"}], "default": None}
    assert defs["RecordsEvidence"]["properties"]["errors"]["additionalProperties"] == {
        "type": "string"}
    assert defs["Finding"]["properties"]["status"]["enum"] == ["pass", "warn", "fail", "info",
                                                               "error", "skipped"]


def test_field_descriptions_come_from_the_comments_beside_the_fields():
    notes = field_comments(HttpFetch)
    assert notes["error_class"] == ('"", dns, no-address, private-address, connect, '
                                    "certificate, tls, timeout, protocol")
    assert "url" not in notes
    # a comment on its own line above fields is not a field's description
    attempt = field_comments(HandshakeAttempt)
    assert "chain" not in attempt and attempt["offered"].startswith("what was offered")


def test_top_level_properties_are_what_result_line_writes():
    r = judge(_evidence(CASES[0]), get_profile("baseline"))
    assert list(json.loads(result_line(r))) == list(results_line_schema()["properties"])


@pytest.mark.parametrize("profile", ["baseline", "bod-18-01"])
def test_lines_of_every_identity_case_validate(profile):
    """81 evidence shapes (SERVFAIL, timeouts, null MX, invalid, hostile servers, every SPF,
    DMARC and DKIM branch), judged under two profiles."""
    check = validator("results")
    for case in CASES:
        line = json.loads(result_line(judge(_evidence(case), get_profile(profile))))
        assert not list(check.iter_errors(line)), case["source"]


def test_hostile_synthetic_lines_validate():
    check = validator("results")
    for r in synthetic(20, get_profile("baseline"), hostile=True):
        assert not list(check.iter_errors(json.loads(result_line(r))))


def _line() -> dict:
    return json.loads(result_line(judge(_evidence(CASES[1]), get_profile("baseline"))))


@pytest.mark.parametrize("path, value", [
    (("status",), "maybe"),
    (("verdict", "score"), "90"),
    (("verdict", "compliant"), 1),
    (("findings", 0, "status"), "ok"),
    (("evidence", "position"), None),
    (("evidence", "mx"), "mx.example"),
    (("evidence", "smtp"), {}),
])
def test_what_breaks_the_contract_does_not_validate(path, value):
    line = _line()
    node = line
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert list(validator("results").iter_errors(line))


@pytest.mark.parametrize("missing", ["domain", "verdict", "evidence"])
def test_a_missing_field_does_not_validate(missing):
    line = _line()
    del line[missing]
    assert list(validator("results").iter_errors(line))


def test_fields_added_later_are_allowed():
    line = _line()
    line["grade"] = "B"
    line["verdict"]["caps"] = ["high:smtp.tls_version"]
    line["evidence"]["dnssec"] = {"secure": True}
    assert not list(validator("results").iter_errors(line))


def test_schema_command_prints_the_shipped_schemas(run_cli):
    for name in FILES:
        proc = run_cli(["schema", name])
        assert proc.returncode == 0 and json.loads(proc.stdout) == load(name)
    bad = run_cli(["schema", "findings"])
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def _old_shape(value, tp):
    """What an older mxaudit stored: fields left out wherever they hold their default (the
    decoder fills defaults in for fields it does not find)."""
    if dataclasses.is_dataclass(tp) and isinstance(value, dict):
        hints = typing.get_type_hints(tp)
        out = {}
        for f in dataclasses.fields(tp):
            has_default = (f.default is not dataclasses.MISSING
                           or f.default_factory is not dataclasses.MISSING)
            if f.name in value and not (has_default and value[f.name] in (None, "", [], {}, 0,
                                                                          False)):
                out[f.name] = _old_shape(value[f.name], hints[f.name])
        return out
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if isinstance(value, list) and args:
        return [_old_shape(v, args[0]) for v in value]
    if isinstance(value, dict) and len(args) == 1:
        return _old_shape(value, args[0])
    return value


def test_old_stored_scans_re_rendered_validate(tmp_path, run_cli):
    """A first-release (v1) history holding evidence and verdicts in an older, thinner shape:
    ``mxaudit report`` writes lines and a manifest that follow today's schemas."""
    db = tmp_path / "old.sqlite"
    con = sqlite3.connect(db)
    con.executescript(V1_DDL)
    con.execute("INSERT INTO scans VALUES (1, '2025-01-01T02:00:00+00:00', "
                "'2025-01-01T02:05:00+00:00', 'baseline', '{\"timeout\": 10.0}', '0.0.9', 0, 0, 0)")
    for position, case in enumerate(CASES):
        ev = json.loads(case["evidence"])
        ev["position"] = position
        old = _old_shape(ev, DomainEvidence)
        verdict = {k: v for k, v in json.loads(case["verdicts"]["baseline"]).items()
                   if k in ("profile", "compliant", "score")}
        con.execute("INSERT INTO results VALUES (1, ?, ?, ?, 'ok', ?, ?, ?, ?, ?)",
                    (position, ev["domain"], ev["input"], verdict["compliant"], verdict["score"],
                     json.dumps(old), case["findings"], json.dumps(verdict)))
    con.commit()
    con.close()
    assert len(json.dumps(old)) < len(case["evidence"])          # the shape really is thinner
    proc = run_cli(["report", "1", "--db", db, "--out", tmp_path / "out"])
    assert proc.returncode in (0, 1), proc.stderr
    lines = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    assert len(lines) == len(CASES)
    assert problems_in(tmp_path / "out" / "results.jsonl") == []
    assert problems_in(tmp_path / "out" / "manifest.json") == []
    with Store(db) as store:                        # rendered as stored, not re-graded
        render_scan(store, 1, tmp_path / "as-stored", get_profile("baseline"))
    assert json.loads((tmp_path / "as-stored" / "results.jsonl").read_text().splitlines()[0])[
        "verdict"]["failed"] == []                  # the thin verdict, its defaults filled in
    assert problems_in(tmp_path / "as-stored" / "results.jsonl") == []


def test_the_session_check_finds_a_line_that_breaks_the_schema(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    good = result_line(judge(_evidence(CASES[2]), get_profile("baseline")))
    bad = json.loads(good)
    bad["findings"][0]["status"] = "passed"
    (folder / "results.jsonl").write_text(good + json.dumps(bad) + "\n")
    checked, problems = check_tree(tmp_path)
    assert checked == 1 and len(problems) == 1
    assert problems[0].startswith(f"{folder / 'results.jsonl'}:2: findings/0/status: 'passed'")
    (folder / "results.jsonl").write_text(good)        # the suite's own check must pass


def test_the_evidence_encoder_and_the_schema_agree_on_every_field():
    """serde writes every field of every dataclass (the schema requires them all)."""
    ev = _evidence(CASES[5])
    encoded = json.loads(dumps(ev))
    assert set(encoded) == set(results_line_schema()["$defs"]["DomainEvidence"]["properties"])
