"""scanner/serde.py: msgspec against the generic converters it falls back on (the reference).

For everything mxaudit writes (the 81 evidence objects, findings and verdicts of the
judge-identity fixture, hostile text) both give the same text and the same objects; old or
odd input (missing and extra keys, values of other types than the hints say, unknown enum
values) decodes to a value or raises TypeError/ValueError, never anything else.
"""
from __future__ import annotations

import copy
import dataclasses
import enum
import json
import typing
from dataclasses import dataclass, field
from typing import Any

import pytest

from scanner.evidence import DnsOutcome, DnsResult, DomainEvidence
from scanner.findings import Finding, Status
from scanner.serde import (dumps, from_jsonable, generic_from_jsonable, generic_to_jsonable,
                           loads, to_jsonable)
from scanner.verdict import Verdict

from .test_judge_identity import CASES


def _generic_dumps(obj: Any) -> str:
    return json.dumps(generic_to_jsonable(obj), ensure_ascii=False, separators=(",", ":"))


# ------------------------------------------------------------------------ the fixture
@pytest.mark.parametrize("case", CASES, ids=[f"{i}" for i in range(len(CASES))])
def test_fixture_text_and_objects_are_the_generic_ones(case):
    for tp, text in [(DomainEvidence, case["evidence"]), (tuple[Finding, ...], case["findings"]),
                     *((Verdict, t) for t in case["verdicts"].values())]:
        want = generic_from_jsonable(tp, json.loads(text))
        got = loads(tp, text)
        assert got == want and from_jsonable(tp, json.loads(text)) == want
        assert dumps(got) == text == _generic_dumps(got)
        assert to_jsonable(got) == json.loads(text)


HOSTILE = "<script>\"quote\" \\ back\nnew\u2028line\u2029 é 💥 \x00\x1b[31m\x7f\x85 {brace} }}"


@pytest.mark.parametrize("text", [HOSTILE, "", "a" * 70000, "\ud800 lone surrogate"])
def test_hostile_text_is_the_same_json_text(text):
    values = [Finding("c", text, Status.FAIL, text, text),
              DnsResult(text, "TXT", DnsOutcome.OK, (text, "v=spf1 -all"), text, text)]
    for v in values:
        assert dumps(v) == _generic_dumps(v)
        assert loads(type(v), dumps(v)) == v


def test_non_finite_floats_are_written_as_valid_json():
    @dataclass(frozen=True)
    class F:
        x: float = 0.0
    for value in (float("nan"), float("inf"), float("-inf")):
        text = dumps(F(value))
        assert json.loads(text, parse_constant=lambda c: pytest.fail(c)) == {"x": None}


# ----------------------------------------------------------------- old and odd input
def _richest() -> dict:
    return max((json.loads(c["evidence"]) for c in CASES), key=lambda d: len(json.dumps(d)))


def _keys(data: Any, out: set[str]) -> set[str]:
    if isinstance(data, dict):
        out.update(data)
        for v in data.values():
            _keys(v, out)
    elif isinstance(data, list):
        for v in data:
            _keys(v, out)
    return out


def _drop_everywhere(data: Any, key: str) -> Any:
    if isinstance(data, dict):
        return {k: _drop_everywhere(v, key) for k, v in data.items() if k != key}
    if isinstance(data, list):
        return [_drop_everywhere(v, key) for v in data]
    return data


def _decode(tp: Any, data: Any) -> Any:
    """from_jsonable and loads agree: the same value, or both TypeError/ValueError."""
    try:
        got = from_jsonable(tp, copy.deepcopy(data))
    except (TypeError, ValueError) as exc:
        with pytest.raises((TypeError, ValueError)):
            loads(tp, json.dumps(data))
        return exc
    assert loads(tp, json.dumps(data)) == got
    return got


def test_each_key_missing_everywhere():
    """Defaults fill what is absent (scans stored before a field existed); a required field
    absent is an error."""
    data = _richest()
    outcomes = {k: _decode(DomainEvidence, _drop_everywhere(data, k))
                for k in sorted(_keys(data, set()))}
    assert isinstance(outcomes["error"], DomainEvidence)          # has a default
    assert isinstance(outcomes["outcome"], (TypeError, ValueError))   # DnsResult.outcome has none
    assert outcomes["error"].error == ""


def test_unknown_keys_everywhere_are_ignored():
    def add(d: Any) -> Any:
        if isinstance(d, dict):
            return {**{k: v if k == "errors" else add(v) for k, v in d.items()},
                    "zz_unknown": [1, {"x": None}]}
        if isinstance(d, list):
            return [add(v) for v in d]
        return d

    data = _richest()
    assert _decode(DomainEvidence, add(data)) == from_jsonable(DomainEvidence, data)


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    ZERO = 0
    ONE = 1


@dataclass(frozen=True)
class Leaf:
    name: str
    n: int = 0
    ratio: float = 0.0
    flag: bool = False


@dataclass(frozen=True)
class Node:
    label: str
    colour: Colour = Colour.RED
    level: Level = Level.ZERO
    status: Status | None = None
    leaf: Leaf | None = None
    leaves: tuple[Leaf, ...] = ()
    statuses: tuple[Status, ...] = ()
    words: tuple[str, ...] | None = ()
    pair: tuple[int, Leaf] = (0, Leaf(""))
    extra: dict[str, Leaf] = field(default_factory=dict)
    child: Node | None = None
    maybe: int | str | None = None
    anything: Any = None


FULL = to_jsonable(Node("full", Colour.BLUE, Level.ONE, Status.WARN, Leaf("l", 1, 0.5, True),
                        (Leaf("a"), Leaf("b", 2)), (Status.PASS, Status.FAIL), ("w",),
                        (3, Leaf("p")), {"k": Leaf("v")}, Node("kid"), 7, {"free": [1]}))

ODD = [
    FULL, {"label": "only"}, {}, None, [], "label", 5, [["label", "x"]],
    {**FULL, "unknown": 1, "child": {"label": "c", "nope": {"deep": True}}},
    {**FULL, "status": None, "leaf": None, "child": None, "words": None},
    {**FULL, "colour": "green"}, {**FULL, "colour": None}, {**FULL, "colour": {"x": 1}},
    {**FULL, "level": 1}, {**FULL, "level": True}, {**FULL, "level": 1.0}, {**FULL, "level": "1"},
    {**FULL, "status": "PASS"}, {**FULL, "status": 0}, {**FULL, "statuses": ["pass", "bogus"]},
    {**FULL, "leaves": "ab"}, {**FULL, "leaves": {"name": "x"}}, {**FULL, "leaves": 3},
    {**FULL, "leaves": [None, {"name": "x"}, [], {}]}, {**FULL, "leaf": "not a leaf"},
    {**FULL, "leaf": {"name": "x", "n": "not an int"}}, {**FULL, "pair": [1]},
    {**FULL, "pair": [1, {"name": "p"}, "extra"]}, {**FULL, "extra": [["a", 1]]},
    {**FULL, "words": "abc"}, {**FULL, "words": [1, None, ["x"]]},
    {**FULL, "label": None}, {**FULL, "label": {"nested": "dict"}},
]


@pytest.mark.parametrize("data", ODD, ids=[str(i) for i in range(len(ODD))])
def test_odd_input_is_a_value_or_a_type_or_value_error(data):
    for tp in (Node, Node | None, tuple[Node, ...], dict[str, Node]):
        wrapped = [data, data] if tp == tuple[Node, ...] else {"x": data} if tp == dict[str, Node] else data
        _decode(tp, wrapped)


def test_the_full_value_round_trips():
    node = loads(Node, json.dumps(FULL))
    assert to_jsonable(node) == FULL and dumps(node) == json.dumps(FULL, separators=(",", ":"))
    assert node.colour is Colour.BLUE and node.level is Level.ONE and type(node.leaves) is tuple


def test_unknown_enum_values_are_errors():
    for data in ({**FULL, "colour": "green"}, {**FULL, "statuses": ["x"]}):
        assert isinstance(_decode(Node, data), (TypeError, ValueError))
    with pytest.raises(ValueError):
        from_jsonable(Status, "bogus")


def _dataclasses(tp: Any, seen: set[type]) -> set[type]:
    for arg in typing.get_args(tp):
        _dataclasses(arg, seen)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp) and tp not in seen:
        seen.add(tp)
        for hint in typing.get_type_hints(tp).values():
            _dataclasses(hint, seen)
    return seen


def test_stored_types_have_no_hand_written_init():
    """msgspec builds dataclasses without calling a hand-written __init__: the stored types
    must not rely on one (a __post_init__ would run)."""
    types_ = _dataclasses(DomainEvidence, set()) | {Finding, Verdict}
    for cls in types_:
        init = cls.__dict__.get("__init__")
        assert init is not None and init.__qualname__.endswith(f"{cls.__name__}.__init__"), cls
        assert "__create_fn__" in init.__code__.co_filename or init.__code__.co_filename == "<string>", cls


def test_old_evidence_gains_the_defaults_of_newer_fields():
    """A scan stored before a field existed decodes with that field's default, and encodes
    with it again (msgspec alone would leave the field out of the text)."""
    data = _richest()
    older = _drop_everywhere(data, "addresses_capped")      # 0 (the default) in this data
    ev = loads(DomainEvidence, json.dumps(older))
    assert dumps(ev) == dumps(loads(DomainEvidence, json.dumps(data)))
    assert "addresses_capped" in dumps(ev) and vars(ev.mx.hosts[0])["addresses_capped"] == 0
    assert dumps(from_jsonable(DomainEvidence, older)) == dumps(ev)
