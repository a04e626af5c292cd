"""Compliance profiles: data (TOML), validated on load, mapping findings to a verdict.

Schema:
    name = "..."; title = "..."; description = "..."
    [[require]]                      # a requirement: the domain-level status of `check`
    check = "spf.present"            # must be one of `accept` (default: anything but fail/error)
    accept = ["pass"]                # optional
    source = "BOD 18-01 ..."         # where the requirement comes from (shown in reports)
    match = { fact = "dmarc.rua", contains = "mailto:reports@dmarc.cyber.dhs.gov" }   # optional
    [weights]                        # optional score weights per check ID (default 1)
    "spf.all" = 2

``match`` adds a condition on a *fact* of the evidence that no check status expresses (a
DMARC tag's value): the requirement is met when the check's status is accepted AND the
fact matches (``equals`` / ``one_of`` / ``contains``, case-insensitive). Facts are a small,
fixed table (FACTS) read with the same parser the checks use, so a profile stays data and
a typo in a fact name or operator is an error on load. A fact that cannot be read (no DMARC
record) does not match; when the check itself is at ``error`` the requirement is counted as
"could not be tested" rather than failed.

Built-in profiles are the TOML files beside this module; `--profile FILE` loads a user's.
An unknown check ID, an unknown status or a malformed file is a UsageError naming the problem.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from scanner.derived import dmarc_policy, effective   # what the DMARC checks read, too
from scanner.errors import UsageError
from scanner.findings import Status
from scanner.parsers.tagvalue import split_list

if TYPE_CHECKING:
    from scanner.evidence import DomainEvidence

DEFAULT_ACCEPT = (Status.PASS, Status.WARN, Status.INFO, Status.SKIPPED)


# DMARC tags a profile may test, with the RFC 7489 6.3 defaults that apply when a tag is absent.
DMARC_FACT_DEFAULTS = {"p": None, "sp": None, "np": None, "pct": "100", "rua": None, "ruf": None,
                       "adkim": "r", "aspf": "r", "fo": "0"}
FACTS = ("dmarc.policy", *(f"dmarc.{tag}" for tag in DMARC_FACT_DEFAULTS))
MATCH_OPS = ("equals", "one_of", "contains")


def fact_values(fact: str, ev: DomainEvidence) -> tuple[str, ...] | None:
    """The values of a fact, lower case; None when it cannot be read (no DMARC record, the
    lookup failed). ``dmarc.policy`` is the policy in effect for the domain (``sp`` of an
    organisational record, else ``p``), as dmarc.policy judges it; rua/ruf are URI lists
    without the ``!size`` suffix."""
    rec, _ = effective(ev) if ev.records is not None else (None, None)
    if rec is None:
        return None
    tag = fact.removeprefix("dmarc.")
    value = dmarc_policy(ev) if tag == "policy" else rec.tags.get(tag)
    if value is None and tag in ("sp", "np"):
        value = rec.tags.get("p")
    if value is None:
        value = DMARC_FACT_DEFAULTS.get(tag)
    if value is None:
        return ()
    if tag in ("rua", "ruf"):
        return tuple(u.split("!", 1)[0].strip().lower() for u in split_list(value, ","))
    return (value.strip().lower(),)


@dataclass(frozen=True)
class Match:
    """A condition on one fact of the evidence (see the module docstring)."""

    fact: str
    op: str                      # one of MATCH_OPS
    values: tuple[str, ...]      # lower case

    def holds(self, ev: DomainEvidence | None) -> bool | None:
        """True/False; None when the fact cannot be read."""
        got = fact_values(self.fact, ev) if ev is not None else None
        if got is None:
            return None
        if self.op == "contains":
            return all(v in got for v in self.values)
        return bool(got) and all(g in self.values for g in got)

    def describe(self) -> str:
        shown = self.values[0] if self.op != "one_of" else " | ".join(self.values)
        verb = {"equals": "=", "one_of": "in", "contains": "contains"}[self.op]
        return f"{self.fact} {verb} {shown}"


@dataclass(frozen=True)
class Requirement:
    check: str
    accept: tuple[Status, ...] = DEFAULT_ACCEPT
    source: str = ""
    match: Match | None = None

    def describe(self) -> str:
        """'dmarc.policy', or 'dmarc.policy (dmarc.policy = reject)' with a match."""
        return f"{self.check} ({self.match.describe()})" if self.match else self.check


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    description: str
    requirements: tuple[Requirement, ...]
    weights: dict[str, float]

    def weight(self, check_id: str) -> float:
        return self.weights.get(check_id, 1.0)


def builtin_names() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files(__name__).iterdir() if p.name.endswith(".toml"))


def load_profile(name_or_path: str, known_checks: set[str]) -> Profile:
    builtin = resources.files(__name__) / f"{name_or_path}.toml"
    if "/" not in name_or_path and builtin.is_file():
        return parse_profile(builtin.read_text(encoding="utf-8"), name_or_path, known_checks)
    path = Path(name_or_path)
    if not path.is_file():
        raise UsageError(f"--profile {name_or_path}: no such built-in profile "
                         f"({', '.join(builtin_names())}) and no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        raise UsageError(f"--profile {name_or_path}: cannot read ({exc})") from None
    return parse_profile(text, str(path), known_checks)


def parse_profile(text: str, label: str, known_checks: set[str]) -> Profile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"profile {label}: {_toml_error(exc)}") from None
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise UsageError(f"profile {label}: missing 'name'")
    reqs = data.get("require", [])
    if not isinstance(reqs, list):
        raise UsageError(f"profile {label}: 'require' must be an array of tables ([[require]])")
    requirements = tuple(_requirement(r, f"profile {label}: require #{i}", known_checks)
                         for i, r in enumerate(reqs, 1))
    weights = data.get("weights", {})
    if not isinstance(weights, dict):
        raise UsageError(f"profile {label}: [weights] must be a table")
    for key, value in weights.items():
        _known(key, f"profile {label}: [weights]", known_checks)
        if not isinstance(value, (int, float)) or value < 0:
            raise UsageError(f"profile {label}: [weights] {key}: must be a number >= 0")
    return Profile(name, str(data.get("title", name)), str(data.get("description", "")),
                   requirements, {k: float(v) for k, v in weights.items()})


def _toml_error(exc: tomllib.TOMLDecodeError) -> str:
    """'line 3, column 7: Expected '=' after a key ...' (tomllib puts the place at the end)."""
    text = str(exc)
    m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", text)
    if m:
        return f"line {m[1]}, column {m[2]}: {text[:m.start()]}"
    m = re.search(r"\s*\(at end of document\)$", text)
    return f"at the end of the file: {text[:m.start()]}" if m else text


def _requirement(raw: object, where: str, known: set[str]) -> Requirement:
    if not isinstance(raw, dict) or not isinstance(raw.get("check"), str):
        raise UsageError(f"{where}: needs check = \"<check ID>\"")
    _known(raw["check"], where, known)
    accept = raw.get("accept", [s.value for s in DEFAULT_ACCEPT])
    try:
        statuses = tuple(Status(s) for s in accept)
    except (ValueError, TypeError):
        raise UsageError(f"{where}: accept must list statuses from "
                         f"{', '.join(s.value for s in Status)}") from None
    unknown_keys = set(raw) - {"check", "accept", "source", "match"}
    if unknown_keys:
        raise UsageError(f"{where}: unknown key(s) {', '.join(sorted(unknown_keys))}")
    match = _match(raw["match"], where) if "match" in raw else None
    return Requirement(raw["check"], statuses, str(raw.get("source", "")), match)


def _match(raw: object, where: str) -> Match:
    where = f"{where}: match"
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: must be a table, e.g. {{ fact = \"dmarc.p\", equals = \"reject\" }}")
    fact = raw.get("fact")
    if fact not in FACTS:
        raise UsageError(f"{where}: fact must be one of {', '.join(FACTS)} (got {fact!r})")
    ops = [k for k in raw if k != "fact"]
    if len(ops) != 1 or ops[0] not in MATCH_OPS:
        raise UsageError(f"{where}: needs exactly one of {', '.join(MATCH_OPS)} besides fact")
    op, value = ops[0], raw[ops[0]]
    values = value if op == "one_of" else [value]
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
        kind = "a non-empty list of strings" if op == "one_of" else "a non-empty string"
        raise UsageError(f"{where}: {op} must be {kind}")
    return Match(fact, op, tuple(v.strip().lower() for v in values))


def _known(check_id: str, where: str, known: set[str]) -> None:
    if check_id not in known:
        raise UsageError(f"{where}: unknown check ID {check_id!r}")
