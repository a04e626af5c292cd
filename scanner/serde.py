"""Dataclass <-> JSON-compatible values, driven by type hints.

Evidence is stored in SQLite and in results.jsonl, and read back to re-grade a stored scan
without the network; this module is the one place that knows how. Supported: frozen
dataclasses, tuples (homogeneous ``tuple[X, ...]`` and fixed), ``dict[str, X]``, enums,
``X | None``, and plain scalars.

Both directions compile a converter per type once (a profile of a 500-domain scan showed the
per-value ``get_type_hints``/``is_dataclass`` dispatch as a tenth of all CPU). The dataclass
encoder is generated code with one expression per field chosen from the field's type hint:
scalars pass through without a call, enums give their value, nested dataclasses and
``tuple[X, ...]`` call X's encoder directly; a value whose type is not the hinted one falls
back to the generic ``to_jsonable``, so the output never depends on the hints being right
(issue 6: encoding a stored result was 6.5% of a scan's CPU). ``dumps`` writes the compact
JSON text of a value the same way, without building the intermediate dicts.
"""
from __future__ import annotations

import dataclasses
import enum
import functools
import json
import types
import typing
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any

_SCALARS = (str, int, float, bool, type(None))
# exact types that encode as themselves (the generated code tests ``v.__class__ in _PLAIN``;
# subclasses such as str-valued enums take the generic path, which gives the same JSON)
_PLAIN = frozenset(_SCALARS)


def to_jsonable(obj: Any) -> Any:
    if isinstance(obj, _SCALARS):
        return obj
    return _encoder(type(obj))(obj)


def _items(obj: Any) -> list[Any]:
    return [v if v.__class__ in _PLAIN else to_jsonable(v) for v in obj]


_building: set[type] = set()   # dataclasses whose encoder is being compiled (recursive types)


@functools.cache
def _encoder(cls: type) -> Callable[[Any], Any]:
    if dataclasses.is_dataclass(cls):
        _building.add(cls)
        try:
            return _dataclass_encoder(cls)
        finally:
            _building.discard(cls)
    if issubclass(cls, enum.Enum):
        return lambda obj: obj.value
    if issubclass(cls, (list, tuple)):
        return _items
    if issubclass(cls, dict):
        return lambda obj: {str(k): v if v.__class__ in _PLAIN else to_jsonable(v)
                            for k, v in obj.items()}
    return lambda obj: obj


def _dataclass_encoder(cls: type) -> Callable[[Any], Any]:
    """``def encode(obj): return {"a": <expr of obj.a>, ...}``, compiled once per class."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an annotation that cannot be resolved: every field goes generic
        hints = {}
    env: dict[str, Any] = {"_PLAIN": _PLAIN, "_tj": to_jsonable}
    lines, items = [], []
    for i, f in enumerate(dataclasses.fields(cls)):
        lines.append(f"    v{i} = obj.{f.name}")
        items.append(f"{f.name!r}: {_field_expr(hints.get(f.name, Any), f'v{i}', env)}")
    src = ("def encode(obj):\n" + "\n".join(lines)
           + "\n    return {" + ", ".join(items) + "}\n")
    exec(src, env)  # noqa: S102 - generated from field names and type hints only
    return env["encode"]


def _field_expr(tp: Any, v: str, env: dict[str, Any]) -> str:
    """A Python expression giving ``to_jsonable(<v>)``, specialised for the hinted type."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return f"(None if {v} is None else {_field_expr(args[0], v, env)})"
        return f"({v} if {v}.__class__ in _PLAIN else _tj({v}))"
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            item = _field_expr(args[0], "x", env)
            return f"([{item} for x in {v}] if {v}.__class__ is tuple else _tj({v}))"
        return f"_tj({v})"
    if isinstance(tp, type) and origin is None:
        if tp in _PLAIN or tp is object:
            return f"({v} if {v}.__class__ in _PLAIN else _tj({v}))"
        name = f"_t{len(env)}"
        env[name] = tp
        if issubclass(tp, enum.Enum):
            return f"({v}._value_ if {v}.__class__ is {name} else _tj({v}))"
        if dataclasses.is_dataclass(tp) and tp not in _building:
            env[f"{name}e"] = _encoder(tp)
            return f"({name}e({v}) if {v}.__class__ is {name} else _tj({v}))"
    return f"({v} if {v}.__class__ in _PLAIN else _tj({v}))"


# ------------------------------------------------------------------------------ dumps
_json_text = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))
_str_text = encode_basestring   # what json.dumps(ensure_ascii=False) quotes strings with


def dumps(obj: Any) -> str:
    """``json.dumps(to_jsonable(obj), ensure_ascii=False, separators=(",", ":"))``, the same
    text, written directly: a dataclass is one generated f-string of its fields' texts
    (strings quoted by json's own C quoting, ints by ``int.__repr__``), so no intermediate
    dicts are built and no value is visited twice. Any value the fast paths do not know
    (floats, dicts, str subclasses, ...) is written by json.dumps itself: compact JSON of a
    container is the join of its members' compact JSON, so the result is byte-identical."""
    return _dumper(type(obj))(obj)


def _plain_dumps(obj: Any) -> str:
    return _json_text(to_jsonable(obj))


def _list_text(texts: list[str]) -> str:
    return "[" + ",".join(texts) + "]"


def _dumps_items(obj: Any) -> str:
    return "[" + ",".join([dumps(v) for v in obj]) + "]"


@functools.cache
def _dumper(cls: type) -> Callable[[Any], str]:
    if cls is str:
        return _str_text
    if cls is int:
        return int.__repr__
    if cls is bool:
        return lambda obj: "true" if obj else "false"
    if cls is type(None):
        return lambda obj: "null"
    if dataclasses.is_dataclass(cls):
        _building_text.add(cls)
        try:
            return _dataclass_dumper(cls)
        finally:
            _building_text.discard(cls)
    if cls is tuple or cls is list:
        return _dumps_items
    return _plain_dumps


_building_text: set[type] = set()


def _dataclass_dumper(cls: type) -> Callable[[Any], str]:
    """``def dump(obj): return f'{"a":{<text of obj.a>},...}'``, compiled once per class."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an annotation that cannot be resolved: every field goes generic
        hints = {}
    # no string literal may appear inside the f-string's expressions (Python < 3.12)
    env: dict[str, Any] = {"_D": dumps, "_S": _str_text, "_I": int.__repr__, "_NULL": "null",
                           "_TRUE": "true", "_FALSE": "false", "_L": _list_text}
    lines, parts = [], []
    for i, f in enumerate(dataclasses.fields(cls)):
        lines.append(f"    v{i} = obj.{f.name}")
        key = _str_text(f.name).replace("{", "{{").replace("}", "}}")
        parts.append(f"{key}:{{{_text_expr(hints.get(f.name, Any), f'v{i}', env)}}}")
    body = ",".join(parts)
    src = ("def dump(obj):\n" + "\n".join(lines)
           + f"\n    return f'{{{{{body}}}}}'\n")
    exec(src, env)  # noqa: S102 - generated from field names and type hints only
    return env["dump"]


def _text_expr(tp: Any, v: str, env: dict[str, Any]) -> str:
    """A Python expression giving ``dumps(<v>)``, specialised for the hinted type."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return f"(_NULL if {v} is None else {_text_expr(args[0], v, env)})"
        return f"_D({v})"
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            item = _text_expr(args[0], "x", env)
            return f"(_L([{item} for x in {v}]) if {v}.__class__ is tuple else _D({v}))"
        return f"_D({v})"
    if isinstance(tp, type) and origin is None:
        if tp is str:
            return f"(_S({v}) if {v}.__class__ is str else _D({v}))"
        if tp is int:
            return f"(_I({v}) if {v}.__class__ is int else _D({v}))"
        if tp is bool:
            return f"((_TRUE if {v} else _FALSE) if {v}.__class__ is bool else _D({v}))"
        name = f"_t{len(env)}"
        env[name] = tp
        if issubclass(tp, enum.Enum):
            env[f"{name}n"] = {m._name_: _plain_dumps(m) for m in tp}
            return f"({name}n[{v}._name_] if {v}.__class__ is {name} else _D({v}))"
        if dataclasses.is_dataclass(tp) and tp not in _building_text:
            env[f"{name}d"] = _dumper(tp)
            return f"({name}d({v}) if {v}.__class__ is {name} else _D({v}))"
    return f"_D({v})"


def from_jsonable(tp: Any, data: Any) -> Any:
    """Rebuild a value of type ``tp`` from ``to_jsonable`` output (unknown keys ignored)."""
    return _decoder(tp)(data)


def _none_safe(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda data: None if data is None else fn(data)


@functools.cache
def _decoder(tp: Any) -> Callable[[Any], Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decoder(args[0]) if len(args) == 1 else (lambda data: data)
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            item = _decoder(args[0])
            return _none_safe(lambda data: tuple(item(v) for v in data))
        items = tuple(_decoder(a) for a in args)
        return _none_safe(lambda data: tuple(f(v) for f, v in zip(items, data)))
    if origin is dict:
        value = _decoder(typing.get_args(tp)[1])
        return _none_safe(lambda data: {k: value(v) for k, v in data.items()})
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _none_safe(_dataclass_decoder(tp))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _none_safe(tp)
    return lambda data: data


def _dataclass_decoder(cls: type) -> Callable[[Any], Any]:
    hints = typing.get_type_hints(cls)
    # fields are decoded lazily on first use: a dataclass may (indirectly) refer to itself
    fields = [(f.name, hints[f.name]) for f in dataclasses.fields(cls)]

    def decode(data: dict) -> Any:
        return cls(**{name: _decoder(tp)(data[name]) for name, tp in fields if name in data})

    return decode
