"""``--metrics FILE``: the end of a scan in Prometheus text format (exposition format 0.0.4),
for node_exporter's textfile collector, written atomically (a temporary file beside it, then
renamed: the collector reads only ``*.prom`` names and never sees half a file).

The counts are the report set's (its manifest's summary, reports/manifest.py), so they equal
what domains.csv and report.html say; the scan's times and state come from the history.
Cardinality is bounded: labels are verdicts, grades, check IDs with two statuses, kinds of
change; one series per domain only when asked (``--metrics-domains``). An alert on
``time() - mxaudit_last_complete_scan_timestamp_seconds`` fires when the nightly scan did not
run or did not complete (an interrupted scan leaves it at the last complete one).
"""
from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

from .files import atomic_text
from .manifest import NAME as MANIFEST


def _label(value: object) -> str:
    """A label value, escaped as the text format requires."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: object) -> str:
    return ("{" + ",".join(f'{k}="{_label(v)}"' for k, v in labels.items()) + "}") if labels else ""


def _timestamp(iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class _Family:
    """One metric: HELP and TYPE lines, then its samples."""

    def __init__(self, name: str, help_text: str) -> None:
        self.name, self.help, self.samples = name, help_text, []

    def add(self, value: float | int | None, **labels: object) -> None:
        if value is not None:
            self.samples.append((_labels(**labels), value))

    def lines(self) -> Iterator[str]:
        if not self.samples:
            return
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} gauge"
        for labels, value in self.samples:
            yield f"{self.name}{labels} {_number(value)}"


def _number(value: float | int | bool) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def render(manifest: dict, *, complete: bool, seconds: float, last_complete: str | None,
           domains: Iterable[tuple[str, bool, int | None, str]] | None = None) -> str:
    """The metrics text. ``domains``: (domain, compliant, score, grade) of every valid
    domain, for the per-domain series."""
    scan, summary = manifest.get("scan") or {}, manifest["summary"]
    families: list[_Family] = []

    def family(name: str, help_text: str) -> _Family:
        families.append(_Family(f"mxaudit_{name}", help_text))
        return families[-1]

    family("scan_info", "The last scan's profile and the mxaudit that ran it (always 1)").add(
        1, profile=manifest.get("profile", {}).get("name", ""),
        version=manifest.get("mxaudit_version", ""))
    family("scan_id", "ID of the last scan in the history database").add(scan.get("id"))
    family("scan_complete", "1 if the last scan completed, 0 if it was interrupted").add(complete)
    family("scan_start_timestamp_seconds", "When the last scan began").add(
        _timestamp(scan.get("started")))
    family("scan_end_timestamp_seconds", "When the last scan's last domain finished").add(
        _timestamp(scan.get("finished")))
    family("scan_duration_seconds", "Wall time of the last run of mxaudit scan, collection "
           "and reports").add(round(seconds, 3))
    family("last_complete_scan_timestamp_seconds", "When the newest complete scan of the "
           "history ended (alert when it gets old)").add(_timestamp(last_complete))

    verdicts = family("domains", "Domains of the last scan by verdict under the profile")
    for verdict in ("compliant", "not_compliant", "undetermined"):
        verdicts.add(summary[verdict], verdict=verdict)
    family("domains_incomplete", "Domains whose scan could not complete").add(
        summary["incomplete"])
    family("domains_invalid", "Input lines that are not domain names").add(summary["invalid"])
    grades = family("domains_by_grade", "Domains of the last scan by letter grade")
    for grade, n in summary.get("grades", {}).items():
        grades.add(n, grade=grade)
    checks = family("check_domains", "Domains whose check ended in fail or error (could not "
                    "test), by check")
    for check, statuses in summary["checks"].items():
        for status in ("fail", "error"):
            checks.add(statuses.get(status, 0), check=check, status=status)

    since = summary.get("since_previous")
    if since is not None:
        family("domains_worse", "Domains with a check worse or compliance lost since the "
               "previous scan").add(since["worse_domains"])
        changes = family("changes", "Changes since the previous scan, by kind")
        for kind, n in since["changes"].items():
            changes.add(n, kind=kind)

    if domains is not None:
        ok = family("domain_compliant", "1 if the domain is compliant under the profile")
        score = family("domain_score", "The domain's score, 0-100")
        graded = family("domain_grade", "The domain's letter grade (always 1)")
        for name, compliant, points, grade in domains:
            ok.add(compliant, domain=name)
            score.add(points, domain=name)
            if grade:
                graded.add(1, domain=name, grade=grade)

    return "".join(line + "\n" for f in families for line in f.lines())


def write_scan_metrics(path: Path, out: Path, *, complete: bool, seconds: float,
                       last_complete: str | None, per_domain: bool = False) -> None:
    """The metrics of the report set in ``out`` (just written) to ``path``, atomically."""
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    rows = _domain_rows(out / "domains.csv") if per_domain else None
    text = render(manifest, complete=complete, seconds=seconds, last_complete=last_complete,
                  domains=rows)
    with atomic_text(Path(path)) as fh:
        fh.write(text)


def _domain_rows(path: Path) -> list[tuple[str, bool, int | None, str]]:
    """(domain, compliant, score, grade) of each valid domain of domains.csv."""
    with open(path, newline="", encoding="utf-8") as fh:
        return [(row["domain"], row["compliant"] == "true",
                 int(row["score"]) if row["score"].isdigit() else None, row.get("grade") or "")
                for row in csv.DictReader(fh) if row["domain"]]
