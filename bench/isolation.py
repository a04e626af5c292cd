"""Isolation bench (issue 14): a world with 2% hostile domains beside a clean run.

    python3 bench/isolation.py --domains 2000 --hostile-per-100 2

Runs inside the same private network namespace as bench/run.py (as root), with the
interpreter it is started with (mxaudit installed there: no bench/.venv). The world is
bench/world.py with ``--hostile-per-100``: tarpits, fan-out to 60 tarpit endpoints, slow
(silent) DNS behind SPF macros, ~60 KB TXT answers (bench/hostile.py). mxaudit scans it
twice: once the innocent domains alone (clean), once the whole list (hostile). Printed:
wall time and peak RSS of both runs, the hostile domains' outcome, and whether every
innocent domain's findings (check, subject, status, message) are identical in both runs.
The promise: identical findings, and the hostile run's wall time within the clean run's
plus the hostile domains' deadline.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import hostile  # noqa: E402
import run as bench  # noqa: E402


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--domains", type=int, default=2000)
    p.add_argument("--hostile-per-100", type=int, default=2)
    p.add_argument("--delay-ms", type=float, default=20.0)
    p.add_argument("--timeout", type=float, default=3.0, help="mxaudit --timeout")
    p.add_argument("--deadline", type=float, default=30.0, help="mxaudit --deadline")
    p.add_argument("--cluster", action="store_true",
                   help="the hostile domains first, in a row, instead of spread out")
    p.add_argument("--concurrency", type=int, default=0, help="mxaudit --concurrency")
    p.add_argument("--json", metavar="FILE")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse(argv)
    if os.environ.get("MXAUDIT_BENCH_NETNS") != "1":
        if os.geteuid() != 0 or not shutil.which("unshare"):
            sys.exit("bench: needs root and unshare(1) (see bench/run.py)")
        env = dict(os.environ, MXAUDIT_BENCH_NETNS="1")
        cmd = ["unshare", "--net", "--mount", "--propagation", "private", "--",
               sys.executable, str(Path(__file__).resolve()),
               *(argv if argv is not None else sys.argv[1:])]
        return subprocess.run(cmd, env=env).returncode
    return inside(args)


def inside(args) -> int:
    work = bench.namespace_setup("mxaudit-isolation-")
    hostile.PER_100 = args.hostile_per_100
    hostile.CLUSTER_OF = args.domains if args.cluster else 0
    domains = [f"d{i:06d}.test" for i in range(args.domains)]
    kinds = {d: hostile.kind(i) for i, d in enumerate(domains) if hostile.kind(i)}
    innocent = [d for d in domains if d not in kinds]
    (work / "clean.txt").write_text("\n".join(innocent) + "\n")
    (work / "hostile.txt").write_text("\n".join(domains) + "\n")
    stats_file = work / "stats.json"
    world_cmd = [sys.executable, str(BENCH / "world.py"), "--domains", str(args.domains),
                 "--delay-ms", str(args.delay_ms), "--hostile-per-100", str(args.hostile_per_100),
                 "--dir", str(work), "--stats", str(stats_file)] + (["--cluster"] if args.cluster else [])
    with bench.running_world(world_cmd) as (world, ready):
        env = dict(os.environ, SSL_CERT_FILE=ready["ca"], PYTHONWARNINGS="ignore",
                   PYTHONPATH=str(BENCH.parent))
        runs = {}
        for name in ("clean", "hostile"):
            out = work / f"{name}-out"
            cmd = [sys.executable, "-m", "scanner", "scan", str(work / f"{name}.txt"),
                   "--out", str(out), "--db", str(work / f"{name}.sqlite"), "-q",
                   "--nameserver", bench.DNS_IP, "--allow-private", "--ca-file", ready["ca"],
                   "--dkim-selector", "sel1", "--timeout", str(args.timeout),
                   "--deadline", str(args.deadline)]
            if args.concurrency:
                cmd += ["--concurrency", str(args.concurrency)]
            print(f"bench: {name} run ({len(innocent) if name == 'clean' else len(domains)} "
                  "domains) ...", file=sys.stderr, flush=True)
            before = bench.world_stats(world, stats_file)
            wall, rss, rc = bench.measure(cmd, env, work / f"{name}.log")
            after = bench.world_stats(world, stats_file)
            runs[name] = {"wall_s": wall, "peak_rss_mb": rss / 1024, "exit": rc,
                          "cpu_s": bench.measure.cpu,
                          "dns_queries": after.get("dns_queries", 0) - before.get("dns_queries", 0),
                          "dns_dropped": after.get("dns_dropped", 0) - before.get("dns_dropped", 0),
                          "findings": findings(out / "findings.csv"),
                          "rows": rows(out / "domains.csv")}
        report(args, runs, innocent, kinds, work)
    return 0


def findings(path: Path) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = defaultdict(list)
    with open(path, newline="", encoding="utf-8") as fh:
        for f in csv.DictReader(fh):
            out[f["domain"]].append((f["check"], f["subject"], f["status"], f["message"]))
    return out


def rows(path: Path) -> dict[str, dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["domain"]: r for r in csv.DictReader(fh)}


def report(args, runs: dict, innocent: list[str], kinds: dict, work: Path) -> None:
    clean, hostile_run = runs["clean"], runs["hostile"]
    differing = [d for d in innocent if clean["findings"][d] != hostile_run["findings"][d]]
    outcome = Counter()
    for d, k in kinds.items():
        row = hostile_run["rows"].get(d, {})
        outcome[(k, row.get("status", "?"))] += 1
    print(f"\nworld: {args.domains} domains, {len(kinds)} hostile "
          f"({', '.join(f'{k} {n}' for k, n in sorted(Counter(kinds.values()).items()))}); "
          f"SMTP delay {args.delay_ms:g} ms; mxaudit --timeout {args.timeout:g} "
          f"--deadline {args.deadline:g}")
    print(f"{'run':<9}{'domains':>8}{'wall s':>9}{'peak RSS MB':>13}{'CPU s':>8}"
          f"{'DNS q':>9}{'dropped':>9}{'exit':>6}")
    for name, r in runs.items():
        n = len(innocent) if name == "clean" else args.domains
        print(f"{name:<9}{n:>8}{r['wall_s']:>9.1f}{r['peak_rss_mb']:>13.0f}{r['cpu_s']:>8.1f}"
              f"{r['dns_queries']:>9}{r['dns_dropped']:>9}{r['exit']:>6}")
    print("hostile domains: " + ", ".join(f"{k} {s}: {n}" for (k, s), n in sorted(outcome.items())))
    extra = hostile_run["wall_s"] - clean["wall_s"]
    print(f"innocent domains with different findings: {len(differing)} of {len(innocent)}"
          + (f" (e.g. {differing[:3]})" if differing else ""))
    print(f"hostile run took {extra:+.1f} s over the clean run (the hostile domains' deadline: "
          f"{args.deadline:g} s): {'within' if extra <= args.deadline else 'NOT within'}")
    print(f"outputs and logs: {work}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "args": vars(args), "differing": differing, "extra_s": extra,
            "runs": {k: {f: v for f, v in r.items() if f not in ("findings", "rows")}
                     for k, r in runs.items()}}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
