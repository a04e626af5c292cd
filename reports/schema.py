"""The published JSON Schemas (draft 2020-12) of mxaudit's machine-readable outputs.

- ``results-line``: one line of results.jsonl. Generated from the dataclasses the line is
  written from (``DomainEvidence`` and everything in it, ``Finding``, ``Verdict``), read the
  way scanner/serde.py reads them (type hints: tuples are arrays, enums their values, ``X |
  None`` nullable, ``dict[str, X]`` objects), with each field's trailing comment as its
  description, so the schema cannot drift from the code: ``python -m reports.schema`` rewrites
  docs/schema/results-line.schema.json, and a test fails while the checked-in file differs.
- ``manifest``: manifest.json (reports/manifest.py), written by hand.

Both ship in the package (``mxaudit schema results|manifest``; the wheel carries docs/schema as
reports/schema). Stability rule: fields are added, never renamed or removed, so objects allow
properties the schema does not name; enumerations list the values this version writes.
"""
from __future__ import annotations

import dataclasses
import enum
import inspect
import io
import json
import re
import sys
import tokenize
import types
import typing
from importlib import resources
from pathlib import Path
from typing import Any

from scanner.evidence import DomainEvidence
from scanner.findings import Finding
from scanner.serde import to_jsonable
from scanner.verdict import Verdict

FILES = {"results": "results-line.schema.json", "manifest": "manifest.schema.json"}
STABILITY = ("Stability: fields are added in later versions, never renamed or removed, so every "
             "object may hold properties this schema does not name (ignore them); enumerations "
             "list the values this version writes. Text from DNS and from servers is kept raw: "
             "escape it wherever it is displayed.")


def schema_dir() -> Path:
    """Installed wheels carry the schemas as reports/schema; a source tree has docs/schema."""
    packaged = Path(str(resources.files("reports"))) / "schema"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "docs" / "schema"


def load(name: str) -> dict:
    """A shipped schema by its short name (``results`` or ``manifest``)."""
    return json.loads((schema_dir() / FILES[name]).read_text(encoding="utf-8"))


def results_line_schema() -> dict:
    defs: dict[str, dict] = {}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:mxaudit:schema:results-line",
        "title": "mxaudit results.jsonl line",
        "description": "One line of results.jsonl: one input domain of a scan, in input order, "
                       "with its verdict under the profile, its findings (check IDs and "
                       "statuses of CHECKS.md) and the evidence they were judged from. "
                       + STABILITY,
        "type": "object",
        "required": ["domain", "input", "status", "verdict", "findings", "evidence"],
        "properties": {
            "domain": {"type": "string", "description": "the normalised name (IDNA A-label, lower "
                                                        "case); empty for an invalid input"},
            "input": {"type": "string", "description": "the line as given"},
            "status": {"enum": ["ok", "error"], "description": "error: the scan of the domain "
                                                               "could not complete"},
            "verdict": _schema(Verdict, defs),
            "findings": {"type": "array", "items": _schema(Finding, defs),
                         "description": "one finding per check and subject"},
            "evidence": _schema(DomainEvidence, defs),
        },
        "$defs": dict(sorted(defs.items())),
    }


def _schema(tp: Any, defs: dict[str, dict]) -> dict:
    """The schema of a value of type ``tp`` as serde writes it; dataclasses go to ``defs``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        inner = _schema(args[0], defs) if len(args) == 1 else {}
        if not inner or len(args) == len(typing.get_args(tp)):
            return inner
        if set(inner) == {"type"} and isinstance(inner["type"], str):
            return {"type": [inner["type"], "null"]}
        return {"anyOf": [inner, {"type": "null"}]}
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": _schema(args[0], defs)}
        return {"type": "array", "prefixItems": [_schema(a, defs) for a in args],
                "minItems": len(args), "maxItems": len(args)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _schema(typing.get_args(tp)[1], defs)}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"enum": [m.value for m in tp]}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if tp.__name__ not in defs:
            defs[tp.__name__] = {}            # placeholder: recursive types end here
            defs[tp.__name__] = _dataclass_schema(tp, defs)
        elif defs[tp.__name__] and defs[tp.__name__].get("x-python") != _qualname(tp):
            raise ValueError(f"two evidence classes named {tp.__name__}")
        return {"$ref": f"#/$defs/{tp.__name__}"}
    for py, js in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string")):
        if tp is py:
            return {"type": js}
    return {}                                  # Any / object: whatever serde wrote


def _dataclass_schema(cls: type, defs: dict[str, dict]) -> dict:
    hints = typing.get_type_hints(cls)
    notes = field_comments(cls)
    props = {}
    for f in dataclasses.fields(cls):
        prop = _schema(hints[f.name], defs)
        if "$ref" in prop:
            prop = {"allOf": [prop]} if f.name in notes else prop
        if f.name in notes:
            prop["description"] = notes[f.name]
        default = _default(f)
        if default is not dataclasses.MISSING:
            prop["default"] = default
        props[f.name] = prop
    out: dict[str, Any] = {"type": "object", "x-python": _qualname(cls)}
    doc = cls.__dict__.get("__doc__") or ""
    if doc and not doc.startswith(f"{cls.__name__}("):      # not the generated signature
        out["description"] = " ".join(inspect.cleandoc(doc).split())
    out["required"] = [f.name for f in dataclasses.fields(cls)]
    out["properties"] = props
    return out


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
    else:
        return dataclasses.MISSING
    return to_jsonable(value)


_FIELD = re.compile(r"^(\s+)(\w+)\s*:")


def field_comments(cls: type) -> dict[str, str]:
    """Field name -> the comment written after it in the class body, with the comment-only
    lines that continue it (aligned past the field's indentation)."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    comments: dict[int, tuple[int, str]] = {}   # line -> (column of '#', text)
    code_lines: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = (tok.start[1], tok.string.lstrip("#").strip())
        elif tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            code_lines.add(tok.start[0])
    names = {f.name for f in dataclasses.fields(cls)}
    lines = source.splitlines()
    out: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        m = _FIELD.match(line)
        if not m or m[2] not in names or m[2] in out or number not in comments:
            continue
        indent, parts = len(m[1]), [comments[number][1]]
        nxt = number + 1
        while nxt in comments and nxt not in code_lines and comments[nxt][0] > indent:
            parts.append(comments[nxt][1])
            nxt += 1
        text = " ".join(p for p in parts if p)
        if text and not text.startswith("noqa"):
            out[m[2]] = text
    return out


def render(schema: dict) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m reports.schema``: rewrite the generated schema file in docs/schema."""
    target = Path(__file__).resolve().parent.parent / "docs" / "schema" / FILES["results"]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(results_line_schema()), encoding="utf-8")
    print(f"wrote {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
