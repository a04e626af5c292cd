"""The generated encoders of scanner/serde.py (to_jsonable, dumps) on values their type hints
do not describe: whatever the hint says, the output is what the generic path gives, and
``dumps(x)`` is exactly ``json.dumps(to_jsonable(x), ensure_ascii=False, separators=(",", ":"))``.
"""
from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field

import pytest

from scanner.evidence import DnsOutcome, DnsResult
from scanner.findings import Finding, Status
from scanner.serde import dumps, from_jsonable, to_jsonable


class Colour(enum.Enum):
    RED = "red"
    PAIR = (1, 2)


class Level(enum.IntEnum):
    LOW = 1


@dataclass(frozen=True)
class Leaf:
    name: str
    n: int = 0
    ratio: float = 0.0
    flag: bool = False


@dataclass(frozen=True)
class Node:
    """A recursive type with every kind of field serde supports."""

    label: str
    colour: Colour = Colour.RED
    level: Level = Level.LOW
    status: Status = Status.PASS
    leaf: Leaf | None = None
    leaves: tuple[Leaf, ...] = ()
    words: tuple[str, ...] = ()
    pair: tuple[int, str] = (0, "")
    extra: dict[str, Leaf] = field(default_factory=dict)
    child: Node | None = None
    maybe: int | str | None = None


def _plain(obj) -> str:
    return json.dumps(to_jsonable(obj), ensure_ascii=False, separators=(",", ":"))


def _old_to_jsonable(obj):
    """The generic encoder as it was before the generated fast paths (the reference)."""
    import dataclasses
    if isinstance(obj, (str, int, float, bool, type(None))):
        return obj
    if dataclasses.is_dataclass(obj):
        return {f.name: _old_to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, (list, tuple)):
        return [_old_to_jsonable(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): _old_to_jsonable(v) for k, v in obj.items()}
    return obj


def _old_dumps(obj) -> str:
    return json.dumps(_old_to_jsonable(obj), ensure_ascii=False, separators=(",", ":"))


HOSTILE = "<script>\"quote\" \\ back\nnew\u2028line é 💥 \x00 {brace} }}"
VALUES = [
    Leaf("a"),
    Leaf(HOSTILE, -7, float("nan"), True),
    Leaf("inf", 2**70, float("-inf")),
    Node("plain"),
    Node(HOSTILE, Colour.PAIR, Level.LOW, Status.ERROR, Leaf("x", 1, 0.5),
         (Leaf("y"), Leaf("z", 3)), ("w1", HOSTILE), (5, "five"),
         {"k": Leaf("v"), HOSTILE: Leaf("h")}, Node("kid", maybe="s"), maybe=3),
    # values of other types than the hints say: the generic path must take them
    Node(Status.FAIL, Colour.RED, 1, "pass", leaf=Node("not a leaf"),  # type: ignore[arg-type]
         leaves=[Leaf("list, not tuple")], words=(Status.WARN, 3, None, Leaf("l")),  # type: ignore[arg-type]
         pair=[1, "x"], extra={1: Leaf("int key"), None: None}, maybe=2.5),  # type: ignore[arg-type]
    Leaf(Colour.PAIR, True, 1, 0),  # type: ignore[arg-type]
    Finding("c", "s", Status.FAIL, HOSTILE),
    (Finding("c", "s", Status.PASS, "m"), Finding("d", "t", Status.SKIPPED, "", "r")),
    DnsResult("a.test", "TXT", DnsOutcome.OK, ("v=spf1 -all", HOSTILE), "a.test"),
    (), [], {}, None, "", 0, 1.5, True, Status.INFO, Colour.PAIR, Level.LOW,
]


@pytest.mark.parametrize("value", VALUES, ids=[str(i) for i in range(len(VALUES))])
def test_same_values_and_text_as_the_generic_encoder(value):
    assert to_jsonable(value) == _old_to_jsonable(value)
    assert _plain(value) == _old_dumps(value)
    assert dumps(value) == _old_dumps(value)


def test_round_trip_through_dumps():
    node = Node(HOSTILE, Colour.RED, Level.LOW, Status.ERROR, Leaf("x", 1, 0.5),
                (Leaf("y"), Leaf("z", 3)), ("w1", HOSTILE), (5, "five"),
                {"k": Leaf("v")}, Node("kid", maybe="s"), maybe=3)
    assert from_jsonable(Node, json.loads(dumps(node))) == node
