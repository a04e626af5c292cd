"""What ``mxaudit prune`` deletes from the history, and what it keeps whatever it was asked.

A scan is selected when it is outside the newest ``keep`` scans and (with ``older_than``)
started more than that many days ago; both limits must allow it. Selected scans that later
runs still need are kept unless ``force``:

- the newest complete scan: the next night's report ("since the previous scan"), its trend
  column and ``mxaudit diff previous latest`` compare with it; without it they have nothing
  to compare against;
- the newest scan that ended (an interrupted one, newer than every complete scan): the next
  scan's report compares with it.

A scan being run right now (its lock is held: a scan or ``scan --resume`` in progress) is
never deleted, ``force`` or not. Pure: the caller says what is running and what time it is.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from scanner.store import COMPLETE, ScanRecord

RUNNING_NOW = "it is being run now"
NEWEST_COMPLETE = ("the newest complete scan: the next scan's report and 'mxaudit diff' "
                   "compare with it")
NEWEST_ENDED = ("the newest finished scan: the next scan's 'since the previous scan' section "
                "compares with it")


@dataclass(frozen=True)
class Plan:
    delete: tuple[ScanRecord, ...]
    kept: tuple[tuple[ScanRecord, str], ...]      # selected but kept: (scan, why)


def plan(scans: list[ScanRecord], *, keep: int | None, older_than: float | None,
         now: datetime, running: Callable[[int], bool], force: bool = False) -> Plan:
    """``scans`` oldest first (``Store.scans()``); ``older_than`` in days."""
    newest = {s.id for s in scans[-keep:]} if keep else set()
    cutoff = None if older_than is None else now - timedelta(days=older_than)
    selected = [s for s in scans if s.id not in newest and _older(s, cutoff)]
    needed = _needed(scans)
    delete, kept = [], []
    for s in selected:
        why = RUNNING_NOW if running(s.id) else (None if force else needed.get(s.id))
        if why is None:
            delete.append(s)
        else:
            kept.append((s, why))
    return Plan(tuple(delete), tuple(kept))


def _older(s: ScanRecord, cutoff: datetime | None) -> bool:
    if cutoff is None:
        return True
    try:
        started = datetime.fromisoformat(s.started)
    except ValueError:
        return False                      # an unreadable date is never "old enough"
    if started.tzinfo is None:
        started = started.astimezone()    # local time, as written by an old version
    return started < cutoff


def _needed(scans: list[ScanRecord]) -> dict[int, str]:
    """Scan id -> why a later report or diff needs it."""
    needed: dict[int, str] = {}
    ended = [s for s in scans if s.finished is not None]
    complete = [s for s in ended if s.state == COMPLETE]
    if complete:
        needed[complete[-1].id] = NEWEST_COMPLETE
    if ended and ended[-1].id not in needed:
        needed[ended[-1].id] = NEWEST_ENDED
    return needed
