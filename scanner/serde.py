"""Dataclass <-> JSON-compatible values, driven by type hints.

Evidence is stored in SQLite and in results.jsonl, and read back to re-grade a stored scan
without the network; this module is the one place that knows how. Supported: frozen
dataclasses, tuples (homogeneous ``tuple[X, ...]`` and fixed), ``dict[str, X]``, enums,
``X | None``, and plain scalars.

Both directions compile a converter per type once (a profile of a 500-domain scan showed the
per-value ``get_type_hints``/``is_dataclass`` dispatch as a tenth of all CPU).
"""
from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from collections.abc import Callable
from typing import Any

_SCALARS = (str, int, float, bool, type(None))


def to_jsonable(obj: Any) -> Any:
    if isinstance(obj, _SCALARS):
        return obj
    return _encoder(type(obj))(obj)


@functools.cache
def _encoder(cls: type) -> Callable[[Any], Any]:
    if dataclasses.is_dataclass(cls):
        names = tuple(f.name for f in dataclasses.fields(cls))
        return lambda obj: {n: to_jsonable(getattr(obj, n)) for n in names}
    if issubclass(cls, enum.Enum):
        return lambda obj: obj.value
    if issubclass(cls, (list, tuple)):
        return lambda obj: [to_jsonable(v) for v in obj]
    if issubclass(cls, dict):
        return lambda obj: {str(k): to_jsonable(v) for k, v in obj.items()}
    return lambda obj: obj


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
