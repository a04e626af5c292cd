"""Micro-benchmark of the evidence's trip from the scan process to the history store and back
(issue 17), over the results of a stored scan, without the network and without judging:

1. ``send``: what ``ReportWorker.send`` does per domain: ``Splitter.split`` and the P/E
   lines (the scan process's probes are one object per endpoint, so the evidences are
   rebuilt with one object per shared text, as the collect stage shares them);
2. ``take``: what the report worker does with those lines (``_Worker._take``: digests
   checked, evidence decoded, rows compressed and stored in batches of 256 lines), with
   ``judge`` replaced by the stored findings and verdict;
3. ``read``: ``Store.results`` of that scan (what ``mxaudit report`` decodes);
4. ``jsonl``: ``serde.dumps`` of each evidence read (results.jsonl's evidence).

    python tests/perf/bench_codec.py SCAN.sqlite [--scan N] [--runs 5] [--profile PHASE]

Prints the best of ``--runs`` runs in CPU microseconds per domain, and a digest of the rows
the ``take`` phase stored (evidence, findings, verdict, shared and dictionaries tables) and of
the ``read`` phase's texts: two checkouts that store and read the same bytes print the same
digests. Not a test: not collected.

Before/after: ``git archive <commit> scanner reports templates | tar -x -C /tmp/old``, copy
this file to /tmp/old/tests/perf/ and run that copy (it imports the ``scanner`` two folders
up).
"""
from __future__ import annotations

import argparse
import cProfile
import dataclasses
import gc
import hashlib
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scanner import serde  # noqa: E402
from scanner.evidence import DomainEvidence  # noqa: E402
from scanner.result import DomainResult  # noqa: E402
from scanner.run import worker as worker_mod  # noqa: E402
from scanner.store import Store  # noqa: E402
from scanner.store_codec import SHARED_TYPES, Splitter  # noqa: E402

BATCH = 256


def interned(ev: DomainEvidence, seen: dict[str, object]) -> DomainEvidence:
    """``ev`` with each shared object replaced by the first one of equal text (the scan
    process holds one probe object per endpoint)."""
    def one(obj):
        text = serde.dumps(obj)
        return seen.setdefault(text, obj)
    smtp = tuple(one(p) if type(p) in SHARED_TYPES else p for p in ev.smtp)
    mx = ev.mx
    if mx is not None:
        mx = dataclasses.replace(mx, hosts=tuple(one(h) for h in mx.hosts))
    return dataclasses.replace(ev, smtp=smtp, mx=mx)


class _NoMessages:
    eof = False


def best(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        gc.collect()
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--scan", type=int, default=None, help="the scan (default: the newest)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--profile", choices=("send", "take", "read", "jsonl"))
    args = ap.parse_args()
    with Store(Path(args.db)) as src:
        sid = args.scan or src.scans()[-1].id
        rec = src.scan(sid)
        stored = list(src.results(sid))
    seen: dict[str, object] = {}
    evs = [interned(r.evidence, seen) for r in stored]
    judged = {r.evidence.position: r for r in stored}
    n = len(evs)
    tmp = tempfile.TemporaryDirectory()
    lines: list[bytes] = []
    state: dict[str, object] = {}

    def send() -> None:
        """ReportWorker.send without the pipe: the lines it would write."""
        out = bytearray()
        splitter = Splitter()
        for ev in evs:
            skeleton, shared = splitter.split(ev)
            for d, text in shared:
                out += b"P %s %s\n" % (d.encode("ascii"), text.encode("utf-8", "surrogatepass"))
            out += b"E " + skeleton.encode("utf-8", "surrogatepass") + b"\n"
        lines[:] = bytes(out).split(b"\n")[:-1]

    def fake_judge(ev, profile):
        r = judged[ev.position]
        return DomainResult(ev, r.findings, r.verdict)

    def take() -> None:
        """_Worker._take over the lines, in batches, into a fresh store."""
        path = Path(tmp.name) / f"take{len(state)}.sqlite"
        with Store(path) as store:
            scan_id = store.begin_scan(rec.started, rec.profile, rec.options, rec.version)
            w = worker_mod._Worker(store, scan_id, Path(tmp.name), n, None, None,
                                   _NoMessages(), lambda data: None)
            for i in range(0, len(lines), BATCH):
                w._take(lines[i:i + BATCH])
                w.held.clear()
        state["db"], state["scan_id"] = path, scan_id

    def read() -> None:
        with Store(state["db"]) as store:
            for _ in store.results(state["scan_id"]):    # streamed, as the reports read
                pass

    def jsonl() -> None:
        for r in stored:
            serde.dumps(r.evidence)

    gc.collect()
    gc.freeze()       # the inputs held here are not what a scan's collections walk
    worker_mod.judge = fake_judge
    worker_mod.fail_on_matches = lambda r, profile, fail_on: False
    phases = {"send": send, "take": take, "read": read, "jsonl": jsonl}
    figures = {}
    for name, fn in phases.items():
        fn()                                           # warm (and the input of the next one)
        figures[name] = best(fn, args.runs)
    print(f"{n} domains, {len(seen)} shared objects: " + ", ".join(
        f"{k} {v / n * 1e6:.0f}" for k, v in figures.items())
        + f", total {sum(figures.values()) / n * 1e6:.0f} us/domain (CPU, best of {args.runs})")

    with Store(state["db"]) as store:
        db = store._db
        h = hashlib.sha256()
        for table, order in (("results", "position"), ("shared", "digest"),
                             ("dictionaries", "kind")):
            for row in db.execute(f"SELECT * FROM {table} ORDER BY {order}"):
                h.update(repr(row[1:]).encode())
        stored_digest = h.hexdigest()[:16]
    with Store(state["db"]) as store:
        read_back = list(store.results(state["scan_id"]))
    h = hashlib.sha256()
    for r in read_back:
        h.update(serde.dumps(r.evidence).encode("utf-8", "surrogatepass"))
        h.update(serde.dumps(r.findings).encode())
        h.update(serde.dumps(r.verdict).encode())
    same = all(serde.dumps(a.evidence) == serde.dumps(b.evidence)
               for a, b in zip(read_back, stored))
    print(f"stored rows {stored_digest}, read texts {h.hexdigest()[:16]}, "
          f"evidence texts as in the source scan: {same}")
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        phases[args.profile]()
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    tmp.cleanup()


if __name__ == "__main__":
    main()
