"""A stored scan's reports, with its history sections: the header from the scan's record,
"since the previous scan" (reports/diff.py) and each domain's trend over its recent scans."""
from __future__ import annotations

from pathlib import Path

from scanner.profiles import Profile
from scanner.store import ScanRecord, Store

from .diff import DiffSummary
from .summary import Summary
from .writer import write_reports


def report_meta(rec: ScanRecord, profile: Profile) -> dict:
    """What the report header says about the scan, and what its manifest records: the
    scan's own profile, options and input fingerprints (reports/manifest.py)."""
    return {"scan_id": rec.id, "started": rec.started, "finished": rec.finished or "",
            "profile": profile.name, "version": rec.version, "scan_profile": rec.profile,
            "options": rec.options, "inputs": rec.inputs,
            "environment": rec.environment}


def since_previous(store: Store, rec: ScanRecord) -> DiffSummary | None:
    """The report's "since the previous scan" section, or None for a first scan."""
    previous = store.previous_scan(rec.id)
    return DiffSummary.between(store, previous, rec) if previous is not None else None


def trend_of(store: Store, scan_id: int):
    return lambda domain: store.trend(domain, scan_id)


def render_scan(store: Store, scan_id: int, out: Path, profile: Profile, *,
                pdf: bool = False, gzip_jsonl: bool = False) -> Summary:
    """The scan's reports as stored (graded as stored, under ``profile``)."""
    rec = store.scan(scan_id)
    return write_reports(out, store.results(scan_id), profile, report_meta(rec, profile),
                         diff=since_previous(store, rec), trend=trend_of(store, scan_id),
                         pdf=pdf, gzip_jsonl=gzip_jsonl)
