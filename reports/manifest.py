"""manifest.json: what an output folder holds, with the SHA-256 of every file, so a report set
handed to an auditor can be checked later (``mxaudit verify DIR``).

It records the mxaudit version that wrote the set, the scan (ID, start and end, the profile and
version it was scanned with), the profile the set is graded under (with a digest of its rules),
the rating guide that made the grades, the scan's options (secrets redacted), the input files'
fingerprints taken when the scan began (scanner/run/progress.py ``scan_inputs``, kept in the
scan's record), the summary counts, and every output file with its SHA-256 and size.

Written last, atomically: ``publish`` removes the old manifest, renames the new set into place,
removes files the previous manifest listed that the new set no longer has (a PDF of last week
beside tonight's CSVs), then writes the manifest. A folder with a manifest whose hashes match
is one complete set; a crash in between leaves no manifest, never a wrong one. The JSON Schema
is docs/schema/manifest.schema.json (``mxaudit schema manifest``).
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timezone
from pathlib import Path

from scanner.errors import UsageError
from scanner.profiles import Profile
from scanner.serde import to_jsonable

from .files import FileSet, atomic_text
from .summary import Summary

NAME = "manifest.json"
FORMAT = 1
# option names that could carry a secret (none does today: a later option must not leak one)
_SECRET = re.compile(r"pass(word|wd)?|secret|token|credential|private.?key|api.?key", re.I)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def describe(meta: dict, profile: Profile, summary: Summary, diff: object = None) -> dict:
    """Everything the manifest says but the files' hashes. ``meta``: reports.stored.report_meta
    (scan ID, times, version, the record's options and inputs)."""
    from scanner import __version__

    return {
        "manifest": FORMAT,
        "mxaudit_version": __version__,
        "scan": {"id": meta.get("scan_id"), "started": meta.get("started") or None,
                 "finished": meta.get("finished") or None,
                 "profile": meta.get("scan_profile", meta.get("profile")),
                 "mxaudit_version": meta.get("version")},
        "profile": profile_identity(profile),
        "rating_guide": ", ".join(sorted(summary.guides - {""})) or None,
        "options": redact(meta.get("options") or {}),
        "inputs": meta.get("inputs"),
        "summary": summary_counts(summary, diff),
    }


def profile_identity(profile: Profile) -> dict:
    """Name, title and the SHA-256 of the profile's rules as loaded (canonical JSON): profiles
    carry no version number, and two sets with the same digest were graded by the same rules."""
    rules = json.dumps(to_jsonable(profile), sort_keys=True, ensure_ascii=False, default=str)
    return {"name": profile.name, "title": profile.title,
            "sha256": hashlib.sha256(rules.encode("utf-8")).hexdigest()}


def redact(options: dict) -> dict:
    return {k: "(redacted)" if _SECRET.search(k) and v not in (None, "", [], False) else v
            for k, v in options.items()}


def summary_counts(summary: Summary, diff: object = None) -> dict:
    """The counts the reports show (and the metrics file exports): domains by verdict and by
    grade, every check's domain-level statuses, and the changes since the previous scan."""
    out = {"domains": summary.domains, "compliant": summary.compliant,
           "not_compliant": summary.not_compliant, "undetermined": summary.undetermined,
           "incomplete": summary.errors, "invalid": summary.invalid,
           "grades": {g: n for g, n in sorted(summary.grades.items()) if g},
           "checks": {c: dict(sorted(summary.by_check.get(c, {}).items()))
                      for c in summary.check_ids},
           "since_previous": None}
    if diff is not None:
        out["since_previous"] = {"scan": diff.old.id, "worse_domains": diff.worse_domains,
                                 "changes": {k: diff.counts[k] for k in diff.items}}
    return out


def publish(files: FileSet, out: Path, fields: dict) -> dict:
    """Rename the finished set into place and write its manifest last (see the module
    docstring). The manifest written."""
    written = files.digests()
    manifest_path = out / NAME
    previous = _listed(manifest_path)
    manifest_path.unlink(missing_ok=True)
    files.commit()
    names = {path.name for path in written}
    for name in previous - names - {NAME}:
        (out / name).unlink(missing_ok=True)
    manifest = {**fields, "written": _now(),
                "files": {path.name: written[path] for path in sorted(written)}}
    with atomic_text(manifest_path) as fh:
        json.dump(manifest, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    return manifest


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _listed(path: Path) -> set[str]:
    """The plain file names an existing manifest lists (nothing if it is unreadable)."""
    try:
        files = json.loads(path.read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError, AttributeError):
        return set()
    return {n for n in files if _plain_name(n)} if isinstance(files, dict) else set()


def _plain_name(name: object) -> bool:
    """A file directly in the folder: no path, no parent, nothing hidden, nothing that
    would move a terminal's cursor when ``verify`` prints it."""
    return (isinstance(name, str) and name not in ("", ".", "..") and not name.startswith(".")
            and name.isprintable() and not any(c in name for c in "/\\"))


# ------------------------------------------------------------------------------ verify
def read(folder: Path) -> dict:
    """The folder's manifest, checked for shape; UsageError (exit 2) naming what is wrong."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder")
    path = folder / NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{folder}: no {NAME} (not an mxaudit output folder, or its report "
                         "set was never completed)") from None
    except (OSError, UnicodeError) as exc:
        raise UsageError(f"{path}: cannot read ({exc})") from None
    try:
        manifest = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{path}: not valid JSON ({exc})") from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not files:
        raise UsageError(f"{path}: not an mxaudit manifest (no 'files')")
    for name, entry in files.items():
        if not _plain_name(name):
            raise UsageError(f"{path}: lists {name!r}, which is not a file of this folder")
        if not isinstance(entry, dict) or not _HEX64.match(str(entry.get("sha256", ""))):
            raise UsageError(f"{path}: {name}: no SHA-256")
    return manifest


def verify(folder: Path) -> tuple[dict, list[tuple[str, str]]]:
    """(the manifest, [(file, "OK" | "CHANGED" | "MISSING")] in the manifest's order)."""
    manifest = read(folder)
    results = []
    for name, entry in manifest["files"].items():
        path = Path(folder) / name
        try:
            with open(path, "rb") as fh:
                actual = hashlib.file_digest(fh, "sha256").hexdigest()
        except FileNotFoundError:
            results.append((name, "MISSING"))
            continue
        except OSError:
            results.append((name, "UNREADABLE"))
            continue
        results.append((name, "OK" if actual == entry["sha256"] else "CHANGED"))
    return manifest, results
