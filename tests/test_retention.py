"""Which scans ``mxaudit prune`` deletes, and which it keeps whatever the options say."""
from __future__ import annotations

from datetime import datetime, timezone

from scanner.retention import NEWEST_COMPLETE, NEWEST_ENDED, RUNNING_NOW, plan
from scanner.store import COMPLETE, INTERRUPTED, RUNNING, ScanRecord

NOW = datetime(2026, 6, 30, 3, 0, tzinfo=timezone.utc)


def scan(i: int, day: int, state: str = COMPLETE) -> ScanRecord:
    started = f"2026-06-{day:02d}T02:15:00+00:00"
    finished = None if state == RUNNING else f"2026-06-{day:02d}T02:45:00+00:00"
    return ScanRecord(i, started, finished, "baseline", {}, "0.1.0", 10, 5, 0, state)


def ids(recs) -> list[int]:
    return [r.id for r in recs]


def kept(p) -> list[tuple[int, str]]:
    return [(r.id, why) for r, why in p.kept]


def idle(_: int) -> bool:
    return False


NIGHTLY = [scan(i, i) for i in range(1, 11)]          # ten complete nights, June 1-10


def test_keep_the_newest_n():
    p = plan(NIGHTLY, keep=3, older_than=None, now=NOW, running=idle)
    assert ids(p.delete) == [1, 2, 3, 4, 5, 6, 7] and p.kept == ()


def test_older_than_days():
    p = plan(NIGHTLY, keep=None, older_than=25, now=NOW, running=idle)   # before June 5, 03:00
    assert ids(p.delete) == [1, 2, 3, 4, 5]
    assert ids(plan(NIGHTLY, keep=None, older_than=25.1, now=NOW, running=idle).delete) == \
           [1, 2, 3, 4]


def test_both_limits_must_allow_a_deletion():
    assert ids(plan(NIGHTLY, keep=8, older_than=25, now=NOW, running=idle).delete) == [1, 2]
    assert ids(plan(NIGHTLY, keep=2, older_than=25, now=NOW, running=idle).delete) == \
           [1, 2, 3, 4, 5]


def test_the_newest_complete_scan_survives_unless_forced():
    scans = [*NIGHTLY[:5], scan(6, 6, INTERRUPTED), scan(7, 7, RUNNING), scan(8, 8, RUNNING)]
    p = plan(scans, keep=2, older_than=None, now=NOW, running=idle)
    assert ids(p.delete) == [1, 2, 3, 4]
    assert kept(p) == [(5, NEWEST_COMPLETE), (6, NEWEST_ENDED)]
    forced = plan(scans, keep=2, older_than=None, now=NOW, running=idle, force=True)
    assert ids(forced.delete) == [1, 2, 3, 4, 5, 6] and forced.kept == ()


def test_everything_selected_still_leaves_the_newest_complete_scan():
    p = plan(NIGHTLY, keep=None, older_than=0, now=NOW, running=idle)
    assert ids(p.delete) == list(range(1, 10)) and kept(p) == [(10, NEWEST_COMPLETE)]


def test_a_scan_being_run_is_never_deleted():
    scans = [*NIGHTLY[:3], scan(4, 4, RUNNING)]
    p = plan(scans, keep=None, older_than=0, now=NOW, running=lambda i: i == 4, force=True)
    assert ids(p.delete) == [1, 2, 3] and kept(p) == [(4, RUNNING_NOW)]


def test_a_killed_scan_that_is_not_running_goes_like_any_other():
    scans = [scan(1, 1, RUNNING), *NIGHTLY[1:4]]
    assert ids(plan(scans, keep=2, older_than=None, now=NOW, running=idle).delete) == [1, 2]


def test_unreadable_or_naive_start_times():
    odd = ScanRecord(1, "yesterday", "x", "baseline", {}, "0.1.0", 0, 0, 0, COMPLETE)
    naive = ScanRecord(2, "2026-06-01T02:00:00", "x", "baseline", {}, "0.1.0", 0, 0, 0, COMPLETE)
    p = plan([odd, naive, *NIGHTLY[5:]], keep=None, older_than=25, now=NOW, running=idle)
    assert ids(p.delete) == [2]
