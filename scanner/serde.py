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

Decoding is generated per dataclass the same way (``_dataclass_decoder``): the report worker
decodes every stored result while the scan runs, 0.72 -> 0.21 ms of from_jsonable per bench
result. Input the fast path does not expect goes through the generic decoder it replaced.

``dumps_split`` writes the same text except that instances of chosen classes are written by a
hook (the store writes a reference to evidence shared by many domains, scanner/store_codec.py);
``from_jsonable(..., refs=)`` reads them back: a string where a dataclass is expected is handed
to ``refs``. Both are the generated code above, compiled once per (class, shared classes).
"""
from __future__ import annotations

import contextvars
import dataclasses
import enum
import functools
import inspect
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


def dumps_split(obj: Any, shared: frozenset[type], intern: Callable[[Any], str]) -> str:
    """``dumps(obj)``, except that each instance of a class in ``shared`` (where the type hints
    say one may be) is written as the text ``intern(instance)`` returns instead of its JSON.
    The store uses it to write the evidence of a probe shared by many domains once per scan
    and a reference to it in each domain's row (scanner/store_codec.py)."""
    token = _intern.set(intern)
    try:
        return _dumper(type(obj), shared)(obj)
    finally:
        _intern.reset(token)


_intern: contextvars.ContextVar[Callable[[Any], str]] = contextvars.ContextVar("serde_intern")


def _call_intern(obj: Any) -> str:
    return _intern.get()(obj)


@functools.cache
def _dumper(cls: type, shared: frozenset[type] = frozenset()) -> Callable[[Any], str]:
    """The text writer of ``cls``; ``shared``: classes written by the ``dumps_split`` hook."""
    if cls is str:
        return _str_text
    if cls is int:
        return int.__repr__
    if cls is bool:
        return lambda obj: "true" if obj else "false"
    if cls is type(None):
        return lambda obj: "null"
    if dataclasses.is_dataclass(cls):
        _building_text.add((cls, shared))
        try:
            return _dataclass_dumper(cls, shared)
        finally:
            _building_text.discard((cls, shared))
    if cls is tuple or cls is list:
        return _dumps_items
    return _plain_dumps


_building_text: set[tuple[type, frozenset[type]]] = set()


def _dataclass_dumper(cls: type, shared: frozenset[type]) -> Callable[[Any], str]:
    """``def dump(obj): return f'{"a":{<text of obj.a>},...}'``, compiled once per class."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an annotation that cannot be resolved: every field goes generic
        hints = {}
    # no string literal may appear inside the f-string's expressions (Python < 3.12)
    env: dict[str, Any] = {"_D": dumps, "_S": _str_text, "_I": int.__repr__, "_NULL": "null",
                           "_TRUE": "true", "_FALSE": "false", "_L": _list_text,
                           "_X": _call_intern}
    lines, parts = [], []
    for i, f in enumerate(dataclasses.fields(cls)):
        lines.append(f"    v{i} = obj.{f.name}")
        key = _str_text(f.name).replace("{", "{{").replace("}", "}}")
        parts.append(f"{key}:{{{_text_expr(hints.get(f.name, Any), f'v{i}', env, shared)}}}")
    body = ",".join(parts)
    src = ("def dump(obj):\n" + "\n".join(lines)
           + f"\n    return f'{{{{{body}}}}}'\n")
    exec(src, env)  # noqa: S102 - generated from field names and type hints only
    return env["dump"]


def _text_expr(tp: Any, v: str, env: dict[str, Any], shared: frozenset[type]) -> str:
    """A Python expression giving ``dumps(<v>)``, specialised for the hinted type."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return f"(_NULL if {v} is None else {_text_expr(args[0], v, env, shared)})"
        return f"_D({v})"
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            item = _text_expr(args[0], "x", env, shared)
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
        if tp in shared:
            return f"(_X({v}) if {v}.__class__ is {name} else _D({v}))"
        if issubclass(tp, enum.Enum):
            env[f"{name}n"] = {m._name_: _plain_dumps(m) for m in tp}
            return f"({name}n[{v}._name_] if {v}.__class__ is {name} else _D({v}))"
        if dataclasses.is_dataclass(tp) and (tp, shared) not in _building_text:
            env[f"{name}d"] = _dumper(tp, shared)
            return f"({name}d({v}) if {v}.__class__ is {name} else _D({v}))"
    return f"_D({v})"


def from_jsonable(tp: Any, data: Any, refs: Callable[[type, str], Any] | None = None) -> Any:
    """Rebuild a value of type ``tp`` from ``to_jsonable`` output (unknown keys ignored,
    missing keys left to the field defaults). ``refs``: where a dataclass is expected and a
    string is found (what a ``dumps_split`` hook wrote), the value is ``refs(cls, string)``."""
    if refs is None:
        return _decoder(tp)(data)
    token = _refs.set(refs)
    try:
        return _decoder(tp)(data)
    finally:
        _refs.reset(token)


_refs: contextvars.ContextVar[Callable[[type, str], Any] | None] = contextvars.ContextVar(
    "serde_refs", default=None)


def _none_safe(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda data: None if data is None else fn(data)


def _identity(data: Any) -> Any:
    return data


# the classes json.loads gives that are hashable (an enum's value lookup needs a hashable key)
_HASHABLE = frozenset(_SCALARS)
_dec_building: set[type] = set()   # dataclasses whose decoder is being compiled


@functools.cache
def _decoder(tp: Any) -> Callable[[Any], Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decoder(args[0]) if len(args) == 1 else _identity
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            item = _decoder(args[0])
            if item is _identity:
                return lambda data: None if data is None else tuple(data)
            return lambda data: None if data is None else tuple([item(v) for v in data])
        items = tuple(_decoder(a) for a in args)
        return _none_safe(lambda data: tuple(f(v) for f, v in zip(items, data)))
    if origin is dict:
        value = _decoder(typing.get_args(tp)[1])
        return _none_safe(lambda data: {k: value(v) for k, v in data.items()})
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        _dec_building.add(tp)
        try:
            return _dataclass_decoder(tp)
        finally:
            _dec_building.discard(tp)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        members, call = _enum_table(tp), _none_safe(tp)
        return lambda data: (members[data] if data.__class__ in _HASHABLE and data in members
                             else call(data))
    return _identity


def _enum_table(cls: type[enum.Enum]) -> dict[Any, enum.Enum]:
    """value -> member: the lookup ``EnumType.__call__`` starts with, without its calls. No
    entry for None (``X | None`` decodes None as None before any lookup) nor for an
    unhashable value (what is not in the table goes to ``cls(value)``)."""
    table: dict[Any, enum.Enum] = {}
    for m in cls.__members__.values():
        if m._value_ is not None and isinstance(m._value_, typing.Hashable):
            try:
                table.setdefault(m._value_, m)
            except TypeError:        # a tuple holding a list, say
                pass
    return table


def _lazy(tp: Any) -> Callable[[Any], Any]:
    """``_decoder(tp)``, looked up on first use (a type whose decoder is being compiled)."""
    fn: Callable[[Any], Any] | None = None

    def decode(data: Any) -> Any:
        nonlocal fn
        if fn is None:
            fn = _decoder(tp)
        return fn(data)

    return decode


def _dataclass_decoder(cls: type) -> Callable[[Any], Any]:
    """Generated per class, compiled once::

        def decode(data):
            if data.__class__ is dict:
                try:
                    v0 = data["a"]; v1 = data["b"]
                except KeyError:
                    pass                        # a missing key: the generic path below
                else:
                    return cls(a=<v0 decoded>, b=<v1 decoded>)   # see _plain_init
            return slow(data)

    with one expression per field chosen from its type hint: scalars pass through, enums are
    a dict lookup, nested dataclasses and ``tuple[X, ...]`` call X's decoder directly, ``X |
    None`` tests for None inline. Anything else (None for the whole value, a missing key, a
    value that is not a dict) takes ``slow``, the generic decoder this replaced, so every
    input gives what it gave (and raises what it raised)."""
    hints = typing.get_type_hints(cls)
    fields = [(f.name, hints[f.name]) for f in dataclasses.fields(cls)]

    def slow(data: Any) -> Any:
        if data is None:
            return None
        if data.__class__ is str:
            resolve = _refs.get()
            if resolve is not None:
                return resolve(cls, data)
        return cls(**{name: _decoder(tp)(data[name]) for name, tp in fields if name in data})

    env: dict[str, Any] = {"_cls": cls, "_slow": slow, "_H": _HASHABLE, "_new": object.__new__,
                           "_set": object.__setattr__}
    reads, args = [], []
    for i, (name, tp) in enumerate(fields):
        reads.append(f"v{i} = data[{name!r}]")
        args.append((name, _decode_expr(tp, f"v{i}", env)))
    src = ("def decode(data):\n"
           "    if data.__class__ is dict:\n"
           "        try:\n"
           + "".join(f"            {r}\n" for r in reads or ["pass"])
           + "        except KeyError:\n"
           "            pass\n"
           "        else:\n"
           + ("            _o = _new(_cls)\n"
              + "".join(f"            _set(_o, {name!r}, {expr})\n" for name, expr in args)
              + "            return _o\n" if _plain_init(cls) else
              f"            return _cls({', '.join(f'{n}={e}' for n, e in args)})\n")
           + "    return _slow(data)\n")
    exec(src, env)  # noqa: S102 - generated from field names and type hints only
    return env["decode"]


def _plain_init(cls: type) -> bool:
    """Whether ``cls(**values)`` with every field given does nothing but
    ``object.__setattr__(obj, name, value)`` per field, as the ``__init__`` dataclasses writes
    for a frozen class does: it is that ``__init__`` (compiled from a string, taking exactly
    the fields), with no ``__post_init__`` and no ``__new__`` of its own. The decoder then
    makes those calls itself (the same object, built without the ``__init__`` call and its
    per-field global and attribute look-ups: a DnsResult 0.93 -> 0.55 us). Any doubt
    (another Python's dataclasses included) answers False, and the constructor is called."""
    init = cls.__dict__.get("__init__")
    code = getattr(init, "__code__", None)
    params = getattr(cls, "__dataclass_params__", None)
    if (code is None or code.co_filename != "<string>" or params is None or not params.frozen
            or not params.init or hasattr(cls, "__post_init__")
            or cls.__new__ is not object.__new__):
        return False
    fields = dataclasses.fields(cls)
    try:
        args = list(inspect.signature(init).parameters.values())[1:]
    except (TypeError, ValueError):
        return False
    return (all(f.init for f in fields) and [a.name for a in args] == [f.name for f in fields]
            and all(a.kind in (a.POSITIONAL_OR_KEYWORD, a.KEYWORD_ONLY) for a in args))


def _decode_expr(tp: Any, v: str, env: dict[str, Any]) -> str:
    """A Python expression giving ``_decoder(tp)(<v>)``, specialised for the type."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) != 1:
            return v
        inner = _decode_expr(args[0], v, env)
        return v if inner == v else f"(None if {v} is None else {inner})"
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            item = _decode_expr(args[0], "x", env)
            if item == "x":
                return f"(None if {v} is None else tuple({v}))"
            if item.endswith("(x)") and item[:-3].isidentifier():   # a decoder: no listcomp
                return f"(None if {v} is None else tuple(map({item[:-3]}, {v})))"
            return f"(None if {v} is None else tuple([{item} for x in {v}]))"
    elif origin is dict:
        value = _decode_expr(typing.get_args(tp)[1], "x", env)
        return f"(None if {v} is None else {{k: {value} for k, x in {v}.items()}})"
    elif origin is None and isinstance(tp, type):
        name = f"_t{len(env)}"
        if dataclasses.is_dataclass(tp):
            env[name] = _lazy(tp) if tp in _dec_building else _decoder(tp)
            return f"{name}({v})"
        if issubclass(tp, enum.Enum):
            env[name], env[f"{name}c"] = _enum_table(tp), _none_safe(tp)
            return (f"({name}[{v}] if {v}.__class__ in _H and {v} in {name} "
                    f"else {name}c({v}))")
        return v
    name = f"_t{len(env)}"
    env[name] = _lazy(tp)
    return f"{name}({v})"
