"""Compliance profiles: data (TOML), validated on load, mapping findings to a verdict.

Schema:
    name = "..."; title = "..."; description = "..."
    [[require]]                      # a requirement: the domain-level status of `check`
    check = "spf.present"            # must be one of `accept` (default: anything but fail/error)
    accept = ["pass"]                # optional
    source = "BOD 18-01 ..."         # where the requirement comes from (shown in reports)
    [weights]                        # optional score weights per check ID (default 1)
    "spf.all" = 2

Built-in profiles are the TOML files beside this module; `--profile FILE` loads a user's.
An unknown check ID, an unknown status or a malformed file is a UsageError naming the problem.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import UsageError
from ..findings import Status

DEFAULT_ACCEPT = (Status.PASS, Status.WARN, Status.INFO, Status.SKIPPED)


@dataclass(frozen=True)
class Requirement:
    check: str
    accept: tuple[Status, ...] = DEFAULT_ACCEPT
    source: str = ""


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
        raise UsageError(f"profile {label}: {exc}") from None
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise UsageError(f"profile {label}: missing 'name'")
    reqs = data.get("require", [])
    if not isinstance(reqs, list):
        raise UsageError(f"profile {label}: 'require' must be an array of tables ([[require]])")
    requirements = tuple(_requirement(r, i, label, known_checks) for i, r in enumerate(reqs, 1))
    weights = data.get("weights", {})
    if not isinstance(weights, dict):
        raise UsageError(f"profile {label}: [weights] must be a table")
    for key, value in weights.items():
        _known(key, f"profile {label}: [weights]", known_checks)
        if not isinstance(value, (int, float)) or value < 0:
            raise UsageError(f"profile {label}: [weights] {key}: must be a number >= 0")
    return Profile(name, str(data.get("title", name)), str(data.get("description", "")),
                   requirements, {k: float(v) for k, v in weights.items()})


def _requirement(raw: object, index: int, label: str, known: set[str]) -> Requirement:
    where = f"profile {label}: require #{index}"
    if not isinstance(raw, dict) or not isinstance(raw.get("check"), str):
        raise UsageError(f"{where}: needs check = \"<check ID>\"")
    _known(raw["check"], where, known)
    accept = raw.get("accept", [s.value for s in DEFAULT_ACCEPT])
    try:
        statuses = tuple(Status(s) for s in accept)
    except (ValueError, TypeError):
        raise UsageError(f"{where}: accept must list statuses from "
                         f"{', '.join(s.value for s in Status)}") from None
    unknown_keys = set(raw) - {"check", "accept", "source"}
    if unknown_keys:
        raise UsageError(f"{where}: unknown key(s) {', '.join(sorted(unknown_keys))}")
    return Requirement(raw["check"], statuses, str(raw.get("source", "")))


def _known(check_id: str, where: str, known: set[str]) -> None:
    if check_id not in known:
        raise UsageError(f"{where}: unknown check ID {check_id!r}")
