"""Dataclass <-> JSON, driven by type hints: the one place that knows how evidence, findings
and verdicts are written and read back.

Evidence is stored in SQLite and in results.jsonl, and read back to re-grade a stored scan
without the network. msgspec does the work: it encodes the frozen dataclasses straight to
compact JSON text (the same text as ``json.dumps(to_jsonable(x), ensure_ascii=False,
separators=(",", ":"))``) and decodes text straight into them, validating against the type
hints (measured on the 81 evidence objects of the judge-identity fixture: encoding 167 -> 6 us,
decoding 319 -> 30 us per domain, the same bytes and the same objects; issue 12's note). It
replaced generated per-class encoders and decoders of our own.

What msgspec refuses goes through the small generic converters below, which are also the
reference the tests compare msgspec with: a lone surrogate in a string (not valid UTF-8), a
value of a type the hints do not expect (an old stored scan, a hand-made object). Supported
shapes: frozen dataclasses, tuples (``tuple[X, ...]`` and fixed), ``dict[str, X]``, enums,
``X | None`` and plain scalars. Unknown keys are ignored and missing keys take the field
defaults, so scans stored by older versions still load and readers tolerate newer fields.
"""
from __future__ import annotations

import dataclasses
import enum
import functools
import json
import types
import typing
from typing import Any

import msgspec

_SCALARS = (str, int, float, bool, type(None))
_ENCODER = msgspec.json.Encoder()
_text = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


def dumps(obj: Any) -> str:
    """Compact JSON text of ``obj``."""
    try:
        return _ENCODER.encode(obj).decode("utf-8")
    except (TypeError, ValueError, UnicodeError, msgspec.EncodeError):
        return _text(generic_to_jsonable(obj))


def dumps_utf8(obj: Any) -> bytes:
    """``dumps(obj)`` as UTF-8 (a lone surrogate passed through): msgspec's own bytes when
    it can, not decoded and encoded again (what the store compresses)."""
    try:
        return _ENCODER.encode(obj)
    except (TypeError, ValueError, UnicodeError, msgspec.EncodeError):
        return _text(generic_to_jsonable(obj)).encode("utf-8", "surrogatepass")


def encode(obj: Any) -> bytes:
    """msgspec's compact JSON of ``obj``, as UTF-8: ``dumps`` without its fallback (raises
    what msgspec raises, e.g. for a lone surrogate). A ``msgspec.Raw`` in ``obj`` is written
    as it is (scanner/store_codec.py writes references that way)."""
    return _ENCODER.encode(obj)


def to_jsonable(obj: Any) -> Any:
    """``obj`` as JSON-compatible builtins (dicts, lists, scalars): what ``json.loads`` of
    ``dumps(obj)`` gives."""
    try:
        return msgspec.json.decode(_ENCODER.encode(obj))
    except (TypeError, ValueError, UnicodeError, msgspec.EncodeError):
        return generic_to_jsonable(obj)


def loads(tp: Any, text: str | bytes, *, complete: bool = True) -> Any:
    """A value of type ``tp`` from JSON text (as ``dumps`` wrote it). ``complete=False``: the
    text was written by this very code (the scan process to its report worker), so every field
    is present and the defaults need not be filled in (see ``complete``)."""
    decoder = _decoder(tp)
    if decoder is not None:
        try:
            value = decoder.decode(text)
        except (msgspec.ValidationError, msgspec.DecodeError, TypeError, ValueError):
            pass
        else:
            return _complete(value) if complete else value
    return _generic_or_type_error(tp, json.loads(text))


def _generic_or_type_error(tp: Any, data: Any) -> Any:
    try:
        return generic_from_jsonable(tp, data)
    except (AttributeError, KeyError, IndexError) as exc:   # a shape the hints do not describe
        raise TypeError(f"cannot read a {tp} from this value: {exc}") from None


def from_jsonable(tp: Any, data: Any) -> Any:
    """Rebuild a value of type ``tp`` from ``to_jsonable`` output. Input that cannot be a
    ``tp`` raises TypeError or ValueError."""
    try:
        return _complete(msgspec.convert(data, tp))
    except (msgspec.ValidationError, TypeError, ValueError):
        return _generic_or_type_error(tp, data)


def complete(value: Any) -> Any:
    """Fill in the defaults of fields the input lacked (a scan stored by an older version).
    msgspec leaves such a field unset on the instance (reading it falls back to the class
    attribute), and its encoder then leaves the field out: re-encoded old evidence would lose
    fields. Walks only the fields that can hold dataclasses, and looks for missing fields
    only in an instance whose attributes are fewer or more than its class's fields (msgspec
    sets nothing but fields on a decoded instance): in text written by this version, none
    are, so the walk is all it costs (the report reads every stored domain through here)."""
    cls = value.__class__
    if cls is tuple or cls is list:
        _complete_all(value)
    elif cls is dict:
        _complete_all(value.values())
    else:
        plan = _PLANS.get(cls)
        if plan is None:
            plan = _PLANS[cls] = _plan(cls)
        if plan:                                   # a dataclass
            count, defaults, nested = plan
            attrs = getattr(value, "__dict__", None)
            if attrs is not None and len(attrs) != count:
                for name, default in defaults:
                    if name not in attrs:
                        object.__setattr__(value, name, default)
            for name in nested:
                v = getattr(value, name)
                if v.__class__ not in _LEAVES:
                    complete(v)
    return value


def _complete_all(values: Any) -> None:
    for v in values:
        cls = v.__class__
        if cls in _LEAVES:
            continue
        plan = _PLANS.get(cls)     # a complete dataclass without nested ones: nothing to do
        if plan and not plan[2] and len(getattr(v, "__dict__", ())) == plan[0]:
            continue
        complete(v)


_complete = complete     # (``loads`` has an argument of that name)
_LEAVES = frozenset({str, int, float, bool, type(None), bytes})
_PLANS: dict[type, tuple] = {}      # class -> _plan(class)


def _plan(cls: type) -> tuple:
    """(the number of fields, or -1 if an instance may hold other attributes too; the
    fields with a plain default; the fields whose type can hold a dataclass), or () for a
    class that is not a dataclass."""
    if not dataclasses.is_dataclass(cls):
        return ()
    hints = _hints(cls)
    fields = dataclasses.fields(cls)
    others = hasattr(cls, "__post_init__") or any(
        isinstance(v, functools.cached_property) for k in cls.__mro__ for v in vars(k).values())
    return (-1 if others else len(fields),
            tuple((f.name, f.default) for f in fields if f.default is not dataclasses.MISSING),
            tuple(f.name for f in fields if _holds_dataclass(hints.get(f.name, Any))))


@functools.cache
def _holds_dataclass(tp: Any) -> bool:
    if tp is Any:
        return True
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return True
    return any(_holds_dataclass(a) for a in typing.get_args(tp))


@functools.cache
def _decoder(tp: Any) -> msgspec.json.Decoder | None:
    try:
        return msgspec.json.Decoder(tp)
    except (TypeError, ValueError):   # a type msgspec cannot decode (an ambiguous union...)
        return None


# ------------------------------------------------------------------ the generic converters
def generic_to_jsonable(obj: Any) -> Any:
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, _SCALARS):
        return obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: generic_to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [generic_to_jsonable(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): generic_to_jsonable(v) for k, v in obj.items()}
    return obj


def generic_from_jsonable(tp: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return generic_from_jsonable(args[0], data) if len(args) == 1 else data
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(generic_from_jsonable(args[0], v) for v in data)
        return tuple(generic_from_jsonable(a, v) for a, v in zip(args, data))
    if origin is dict:
        value = typing.get_args(tp)[1]
        return {k: generic_from_jsonable(value, v) for k, v in data.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp) and isinstance(data, dict):
        hints = _hints(tp)
        return tp(**{f.name: generic_from_jsonable(hints.get(f.name, Any), data[f.name])
                     for f in dataclasses.fields(tp) if f.init and f.name in data})
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(data)
    return data


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # an annotation that cannot be resolved: those fields stay as read
        return {}
