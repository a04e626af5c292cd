"""Micro-benchmark of the per-domain CPU outside the network (issue 6): judge(ev, profile) and
the store's three JSON columns of each result, over the results of a stored scan.

    python tests/perf/bench_judge.py SCAN.sqlite [--serde-dumps] [--check] [--profile]

Evidence is decoded once, then frozen out of the GC's way (the scanner holds ~50 domains in
flight, not thousands); judge() results are dropped as the scanner streams them. Reports the
best of 5 runs in CPU microseconds per domain. ``--serde-dumps`` times ``serde.dumps`` instead
of ``store._dumps``; ``--check`` compares the findings, verdict and evidence texts with the
stored columns; ``--profile`` prints a cProfile of one judge pass. Not a test: not collected.

Before/after: ``git archive <commit> scanner | tar -x -C /tmp/old``, copy this file to
/tmp/old/tests/perf/ and run that copy (it imports the ``scanner`` two folders up).
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import json
import pstats
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scanner import serde  # noqa: E402
from scanner.evidence import DomainEvidence  # noqa: E402
from scanner.result import judge  # noqa: E402
from scanner.profiles import load_profile  # noqa: E402
from scanner.checks import all_checks  # noqa: E402
from scanner.serde import from_jsonable  # noqa: E402
from scanner.store import _dumps  # noqa: E402


def best(fn, reps: int = 5) -> float:
    times = []
    for _ in range(reps):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return min(times)


def stored_texts(db: sqlite3.Connection, path: str) -> list[tuple[str, str, str]]:
    """The (evidence, findings, verdict) JSON texts of the newest scan's rows: as stored
    (JSON text, before schema v4), or decompressed with the shared evidence spliced back."""
    sid, = db.execute("SELECT MAX(id) FROM scans").fetchone()
    rows = db.execute("SELECT evidence, findings, verdict FROM results WHERE scan_id = ? "
                      "ORDER BY position", (sid,)).fetchall()
    if not rows or isinstance(rows[0][0], str):
        return rows
    from scanner.store import Store
    with Store(Path(path)) as store:
        shared, text = store.shared_objects(sid), store._text
        return [(shared.full(text(sid, "evidence", e)), text(sid, "findings", f),
                 text(sid, "verdict", v)) for e, f, v in rows]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--serde-dumps", action="store_true")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    db = sqlite3.connect(args.db)
    rows = stored_texts(db, args.db)
    (profile_name,) = db.execute("SELECT profile FROM scans ORDER BY id DESC LIMIT 1").fetchone()
    evs = [from_jsonable(DomainEvidence, json.loads(r[0])) for r in rows]
    profile = load_profile(profile_name, set(all_checks()))
    # (getattr: the script also runs on a checkout from before serde.dumps existed)
    encode = getattr(serde, "dumps") if args.serde_dumps else _dumps
    results = [judge(ev, profile) for ev in evs]      # warm, and kept for the encoding runs
    gc.collect()
    gc.freeze()
    n = len(evs)

    def judge_all() -> None:
        for ev in evs:
            judge(ev, profile)

    def encode_all() -> None:
        for r in results:
            encode(r.evidence), encode(r.findings), encode(r.verdict)

    tj, te = best(judge_all), best(encode_all)
    print(f"{n} domains ({profile_name}): judge {tj / n * 1e6:.0f} us/domain, "
          f"{'serde.dumps' if args.serde_dumps else 'store._dumps'} x3 {te / n * 1e6:.0f} us/domain")
    if args.check:
        bad = sum(1 for r, (e, f, v) in zip(results, rows)
                  if (encode(r.evidence), encode(r.findings), encode(r.verdict)) != (e, f, v))
        print(f"results differing from the stored columns: {bad} of {n}")
    if args.profile:
        gc.disable()
        prof = cProfile.Profile()
        prof.enable()
        judge_all()
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
