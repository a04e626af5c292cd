"""Benchmark: mxaudit vs trustymail vs checkdmarc (--check-mx-tls) on one synthetic world.

    python3 bench/run.py --domains 2000 --delay-ms 20

1. Creates bench/.venv (git-ignored) with trustymail, checkdmarc, py-spy and this
   checkout of mxaudit, all from PyPI (once).
2. Re-runs itself as root inside a fresh network + mount namespace (``unshare --net
   --mount``): the only interface there is ``lo``, so no tool can send a packet beyond
   loopback whatever it tries; /etc/resolv.conf is bind-mounted to the bench DNS server so
   even the system resolver (trustymail's and checkdmarc's SMTP connects use it) is the lab.
3. Starts bench/world.py (DNS on 127.0.3.53:53, SMTP on 25/465/587 of every MX host, every
   reply delayed by D ms), runs each tool over the same domain list, and prints wall time,
   domains/s, peak RSS (of the tool and its helper processes together), the DNS queries / TLS sessions / SMTP
   connections the world served for it, and mxaudit's speed ratio to each tool.

Options: ``--throttle N`` makes provider A's shared MX pair answer 421 beyond N open
connections (a provider's per-client limit) and reports what it cost mxaudit: refusals, the
most simultaneous connections after the first refusal (the per-IP backoff should keep it at
N), domains failing or in error on SMTP, and the time mxaudit spent waiting;
``--tools mxaudit,checkdmarc`` to pick; ``--floor`` to measure the unit cost of a DNS
query and a TLS session and compare mxaudit's run to that floor; ``--profile`` to run mxaudit
under py-spy (collapsed stacks in profile.txt); ``--no-smtp`` for a DNS-only world (memory runs at 100,000 domains);
``--dnssec unsigned|signed`` for a world under a signed root whose domains are unsigned or
signed zones (bench/dnssec_world.py; mxaudit then trusts the world's root anchor).
``--dask N`` runs mxaudit's collection on a local Dask cluster of N one-thread worker
processes (``--dask`` of mxaudit; dask[distributed] is added to bench/.venv on first use):
mxaudit's "CPU s" is then the client alone (it judges, stores and reports) and the workers'
CPU is counted under "others", the cluster's per-worker throughput in the last lines.
``--scans N`` to run mxaudit N times into the same history database (nightly scans: the last
rows show what each further scan adds to the store); ``--out-compress`` passes that option on.

For mxaudit the table adds what the scan left on disk, per domain: ``store KB/dom``, what the
history database (SQLite file and its WAL) grew by during that run, and ``jsonl KB/dom``, the
size of results.jsonl (or results.jsonl.gz).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
VENV = BENCH / ".venv"
PY = VENV / "bin" / "python"
PACKAGES = ["trustymail", "checkdmarc", "py-spy"]
DNS_IP = "127.0.3.53"


def ensure_venv() -> None:
    if PY.exists() and (VENV / "bin" / "trustymail").exists():
        return
    print("bench: creating bench/.venv (trustymail, checkdmarc, py-spy, mxaudit)", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(PY), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([str(PY), "-m", "pip", "install", "-q", *PACKAGES, "-e", str(REPO)], check=True)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--domains", type=int, default=2000)
    p.add_argument("--delay-ms", type=float, default=20.0)
    p.add_argument("--dns-delay-ms", type=float, default=0.0,
                   help="delay every DNS answer by this much (0: the issue's stated setup)")
    p.add_argument("--own-per-10", type=int, default=2,
                   help="domains per ten with their own MX host (default 2: 20%%)")
    p.add_argument("--tools", default="mxaudit,checkdmarc,trustymail")
    p.add_argument("--trustymail-domains", type=int, default=0, metavar="N",
                   help="run trustymail on the first N domains only (it is slow); 0 = all")
    p.add_argument("--checkdmarc-domains", type=int, default=0, metavar="N",
                   help="run checkdmarc on the first N domains only (slow with --dns-delay-ms); 0 = all")
    p.add_argument("--concurrency", type=int, default=0, help="mxaudit --concurrency (0: default)")
    p.add_argument("--workers", type=int, default=0,
                   help="mxaudit --workers (0: its default, one collector per core)")
    p.add_argument("--dask", type=int, default=0, metavar="N",
                   help="collect on a local Dask cluster of N one-thread workers")
    p.add_argument("--no-smtp", dest="smtp", action="store_false")
    p.add_argument("--dnssec", choices=("off", "unsigned", "signed"), default="off",
                   help="a DNSSEC world: every domain an unsigned or a signed zone under a signed root")
    p.add_argument("--throttle", type=int, default=0, metavar="N",
                   help="provider A's MX pair answers 421 beyond N open connections")
    p.add_argument("--floor", action="store_true", help="measure DNS/TLS unit costs")
    p.add_argument("--profile", action="store_true", help="run mxaudit under py-spy (collapsed stacks in profile.txt)")
    p.add_argument("--scans", type=int, default=1, metavar="N",
                   help="run mxaudit N times into the same history database (default 1)")
    p.add_argument("--out-compress", action="store_true", help="mxaudit --out-compress")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if os.environ.get("MXAUDIT_BENCH_NETNS") != "1":
        ensure_venv()
        if args.dask and not (VENV / "bin" / "dask").exists():
            subprocess.run([str(PY), "-m", "pip", "install", "-q", "dask[distributed]>=2024.1"],
                           check=True)
        if os.geteuid() != 0 or not shutil.which("unshare"):
            sys.exit("bench: needs root and unshare(1): the other tools only speak to ports 53 "
                     "and 25, so the bench binds them inside a private network namespace")
        env = dict(os.environ, MXAUDIT_BENCH_NETNS="1")
        cmd = ["unshare", "--net", "--mount", "--propagation", "private", "--",
               str(PY), str(Path(__file__).resolve()), *(argv if argv is not None else sys.argv[1:])]
        return subprocess.run(cmd, env=env).returncode
    return inside(args)


# ---------------------------------------------------------------------------- in the namespace
def namespace_setup(prefix: str) -> Path:
    """Inside the namespace: ``lo`` up, /etc/resolv.conf pointing at the bench DNS server;
    a fresh work folder."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    work = Path(tempfile.mkdtemp(prefix=prefix))
    resolv = work / "resolv.conf"
    resolv.write_text(f"nameserver {DNS_IP}\noptions timeout:2 attempts:1\n")
    subprocess.run(["mount", "--bind", str(resolv), "/etc/resolv.conf"], check=True)
    return work


@contextmanager
def running_world(cmd: list[str]) -> Iterator[tuple[subprocess.Popen, dict]]:
    """bench/world.py started with ``cmd``: (the process, its ready line); stopped after."""
    world = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        ready = json.loads(world.stdout.readline() or "{}")
        if not ready.get("ready"):
            sys.exit("bench: the world did not start")
        yield world, ready
    finally:
        world.send_signal(signal.SIGTERM)
        try:
            world.wait(10)
        except subprocess.TimeoutExpired:
            world.kill()


@contextmanager
def local_cluster(workers: int, env: dict, work: Path) -> Iterator[str]:
    """A Dask scheduler and ``workers`` one-thread worker processes on loopback, running this
    checkout's mxaudit; its address. Their CPU is read from /proc when they stop."""
    address = "tcp://127.0.0.1:8786"
    env = dict(env, PYTHONPATH=str(REPO))
    dask = str(VENV / "bin" / "dask")
    log = (work / "dask.log").open("w")
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "8786",
                               "--dashboard-address", ":0"], env=env, stdout=log, stderr=log)]
    time.sleep(2)
    procs.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--nworkers",
                                   str(workers), "--no-dashboard"], env=env, stdout=log,
                                  stderr=log))
    deadline = time.time() + 60
    probe = [str(PY), "-c", "import sys; from distributed import Client; "
             f"c = Client('{address}', timeout=5); c.wait_for_workers({workers}, timeout=60)"]
    subprocess.run(probe, env=env, check=True, timeout=max(deadline - time.time(), 1))
    try:
        yield address
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGINT)
        for p in reversed(procs):
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()


def inside(args: argparse.Namespace) -> int:
    work = namespace_setup("mxaudit-bench-")
    domains = [f"d{i:06d}.test" for i in range(args.domains)]
    listing = work / "domains.txt"
    listing.write_text("\n".join(domains) + "\n")
    stats_file = work / "stats.json"
    world_cmd = [str(PY), str(BENCH / "world.py"), "--domains", str(args.domains),
                 "--delay-ms", str(args.delay_ms), "--dns-delay-ms", str(args.dns_delay_ms),
                 "--own-per-10", str(args.own_per_10), "--dir", str(work), "--stats", str(stats_file)]
    if not args.smtp:
        world_cmd.append("--no-smtp")
    world_cmd += ["--dnssec", args.dnssec]
    if args.throttle:
        world_cmd += ["--throttle", str(args.throttle)]
    with running_world(world_cmd) as (world, ready), ExitStack() as cluster:
        env = dict(os.environ, SSL_CERT_FILE=ready["ca"], PYTHONWARNINGS="ignore")
        if args.dask:
            args.dask_address = cluster.enter_context(local_cluster(args.dask, env, work))
        rows = []
        tools = [t.strip() for t in args.tools.split(",") if t.strip()]
        tools = [f"{t}#{i}" if t == "mxaudit" and i > 1 else t for t in tools
                 for i in range(1, (args.scans if t == "mxaudit" else 1) + 1)]
        for tool in tools:
            cmd, n = tool_command(tool.split("#")[0], args, work, listing, domains, ready["ca"])
            if tool.split("#")[0] == "mxaudit" and ready.get("anchor"):
                cmd += ["--trust-anchor", ready["anchor"]]
            print(f"bench: running {tool} on {n} domains ...", file=sys.stderr, flush=True)
            before = world_stats(world, stats_file)
            store0 = store_bytes(work)
            busy0 = machine_busy_s()
            wall, rss, rc = measure(cmd, env, work / f"{tool.replace('#', '-')}.log")
            busy = machine_busy_s() - busy0
            after = world_stats(world, stats_file)
            served = {k: after.get(k, 0) - before.get(k, 0) for k in after}
            # CPU that neither the tool nor the world used: other processes on the machine
            # (a shared box skews the figures; the report says by how much)
            served["others_cpu_s"] = max(busy - measure.cpu - served.get("world_cpu_s", 0), 0.0)
            shapes = {k[2:]: v for k, v in served.items() if k.startswith("q ") and v}
            if tool.startswith("mxaudit"):
                served["store_kb_per_domain"] = (store_bytes(work) - store0) / n / 1024
                served["jsonl_kb_per_domain"] = jsonl_bytes(work) / n / 1024
            (work / f"{tool.replace('#', '-')}.queries.json").write_text(json.dumps(
                dict(sorted(shapes.items(), key=lambda kv: -kv[1])), indent=1))
            served = {k: v for k, v in served.items() if not k.startswith("q ")}
            rows.append({"tool": tool, "domains": n, "wall_s": wall, "domains_per_s": n / wall,
                         "peak_rss_mb": rss / 1024, "cpu_s": measure.cpu,
                         "main_cpu_s": measure.main_cpu, "exit": rc, **served})
        floor = measure_floor(world, stats_file, work, env) if args.floor else None
        report(args, rows, floor, ready)
        if args.throttle and any(r["tool"] == "mxaudit" for r in rows):
            report_throttle(args, next(r for r in rows if r["tool"] == "mxaudit"), work)
        print(f"\nlogs, outputs{' and profile.txt' if args.profile else ''}: {work}")
    return 0


def tool_command(tool: str, args, work: Path, listing: Path, domains: list[str], ca: str):
    if tool == "mxaudit":
        # this checkout's mxaudit, whatever the venv's own install points at
        cmd = ["env", f"PYTHONPATH={REPO}", str(PY), "-m", "scanner", "scan", str(listing),
               "--out", str(work / "mxaudit-out"),
               "--db", str(work / "mxaudit.sqlite"), "-q", "--nameserver", DNS_IP,
               "--allow-private", "--ca-file", ca, "--dkim-selector", "sel1"]
        if args.concurrency:
            cmd += ["--concurrency", str(args.concurrency)]
        if args.out_compress:
            cmd.append("--out-compress")
        if args.workers:
            cmd += ["--workers", str(args.workers)]
        if args.dask:
            cmd += ["--dask", args.dask_address]
        if args.profile:
            cmd = [str(VENV / "bin" / "py-spy"), "record", "--subprocesses", "-f", "raw", "-r", "200", "-o",
                   str(work / "profile.txt"), "--"] + cmd
        return cmd, len(domains)
    if tool == "checkdmarc":
        subset = domains[:args.checkdmarc_domains] if args.checkdmarc_domains else domains
        if len(subset) < len(domains):
            listing = work / "domains-checkdmarc.txt"
            listing.write_text("\n".join(subset) + "\n")
        return [str(VENV / "bin" / "checkdmarc"), str(listing), "--check-mx-tls", "-n", DNS_IP,
                "-o", str(work / "checkdmarc.json")], len(subset)
    if tool == "trustymail":
        subset = domains[:args.trustymail_domains] if args.trustymail_domains else domains
        # trustymail's --psl-filename/--psl-read-only are read before they are set (its
        # domain.py binds the defaults at import), so it would download the PSL: give it a
        # fresh copy in its working directory, where its default looks (cwd = work).
        # (the list mxaudit uses: the publicsuffixlist package's, scanner/parsers/psl.py)
        import publicsuffixlist
        shutil.copyfile(Path(publicsuffixlist.__file__).with_name("public_suffix_list.dat"),
                        work / "public_suffix_list.dat")
        return [str(VENV / "bin" / "trustymail"), "--dns", DNS_IP, "--smtp-localhost", "bench.test",
                "--json", "-o", str(work / "trustymail"), *subset], len(subset)
    raise SystemExit(f"bench: unknown tool {tool!r}")


def measure(cmd: list[str], env: dict, log: Path) -> tuple[float, int, int]:
    """(wall seconds, peak RSS in KiB, exit status). CPU (``measure.cpu``) is the tool's and
    its children's (wait4). Peak RSS is the larger of the process's own peak and the peak
    *sum* over its process group, sampled every 0.25 s: mxaudit runs a report worker beside
    the scan, and the two processes' memory counts together."""
    with open(log, "w") as out:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=log.parent, start_new_session=True)
        tree_peak = 0
        while not os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT):
            tree_peak = max(tree_peak, group_rss_kib(proc.pid))
            time.sleep(0.05)
        wall = time.monotonic() - start
        measure.main_cpu = own_cpu_s(proc.pid)   # the exited process, before it is reaped
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    measure.cpu = usage.ru_utime + usage.ru_stime
    return wall, max(usage.ru_maxrss, tree_peak), proc.returncode


def store_bytes(work: Path) -> int:
    """The size of mxaudit's history database: the SQLite file and its write-ahead log."""
    return sum(p.stat().st_size for p in (work / "mxaudit.sqlite", work / "mxaudit.sqlite-wal")
               if p.exists())


def jsonl_bytes(work: Path) -> int:
    out = work / "mxaudit-out"
    return sum(p.stat().st_size for p in (out / "results.jsonl", out / "results.jsonl.gz")
               if p.exists())


def own_cpu_s(pid: int) -> float:
    """CPU seconds of process ``pid`` itself, children excluded (mxaudit: the scan process,
    whose event loop is the critical path, without its report worker)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def group_rss_kib(pgid: int) -> int:
    """Resident memory of every process in process group ``pgid``, in KiB."""
    total = 0
    page_kib = os.sysconf("SC_PAGE_SIZE") // 1024
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            with open(f"/proc/{entry.name}/statm") as fh:
                total += int(fh.read().split()[1]) * page_kib
        except (OSError, ValueError, IndexError):
            continue
    return total


def machine_busy_s() -> float:
    """CPU seconds the whole machine has been busy (all processes), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def world_stats(world: subprocess.Popen, stats_file: Path) -> dict:
    stats_file.unlink(missing_ok=True)
    world.send_signal(signal.SIGUSR1)
    for _ in range(200):
        if stats_file.exists() and stats_file.stat().st_size:
            return json.loads(stats_file.read_text())
        time.sleep(0.01)
    return {}


def measure_floor(world, stats_file: Path, work: Path, env: dict) -> dict:
    """Unit costs measured against the same world, by the same client code mxaudit uses."""
    out = subprocess.run([str(PY), str(BENCH / "floor.py")], env=env, capture_output=True,
                         text=True, timeout=300)
    if out.returncode:
        print(out.stderr, file=sys.stderr)
        return {}
    return json.loads(out.stdout)


def report(args, rows: list[dict], floor: dict | None, ready: dict) -> None:
    own = args.own_per_10
    print(f"\nworld: {args.domains} domains ({10 * own}% with their own MX host, the rest on "
          f"provider A's / B's MX pairs: {ready['smtp_hosts']} SMTP hosts x 3 ports), SMTP reply delay "
          f"{args.delay_ms:g} ms, DNS answer delay {args.dns_delay_ms:g} ms, DNS {ready['dns']}; "
          f"{os.cpu_count()} CPUs")
    head = f"{'tool':<11}{'domains':>8}{'wall s':>9}{'dom/s':>9}{'peak RSS MB':>13}" \
           f"{'CPU s':>7}{'main CPU s':>11}{'world CPU s':>12}{'others CPU s':>13}{'DNS q':>9}{'TLS':>7}{'SMTP conn':>10}{'exit':>5}{'store KB/dom':>13}{'jsonl KB/dom':>13}   mxaudit is"
    print(head)
    mx = next((r for r in rows if r["tool"] == "mxaudit"), None)
    for r in rows:
        ratio = "" if mx is None or r["tool"].startswith("mxaudit") else f"{mx['domains_per_s'] / r['domains_per_s']:.1f}x faster"
        print(f"{r['tool']:<11}{r['domains']:>8}{r['wall_s']:>9.1f}{r['domains_per_s']:>9.1f}"
              f"{r['peak_rss_mb']:>13.0f}{r['cpu_s']:>7.1f}{r['main_cpu_s']:>11.1f}{r.get('world_cpu_s', 0):>12.1f}{r.get('others_cpu_s', 0):>13.1f}{r.get('dns_queries', 0):>9}{r.get('tls_sessions', 0):>7}"
              f"{r.get('smtp_connections', 0):>10}{r['exit']:>5}"
              f"{_kb(r.get('store_kb_per_domain')):>13}{_kb(r.get('jsonl_kb_per_domain')):>13}   {ratio}")
    if floor and mx:
        dns_s = mx.get("dns_queries", 0) * floor["dns_query_s"]
        tls_s = mx.get("tls_sessions", 0) * floor["tls_session_s"]
        print(f"\nfloor: a DNS query costs {floor['dns_query_s'] * 1e6:.0f} us, a TLS session "
              f"{floor['tls_session_s'] * 1e3:.2f} ms (throughput, client+server on this machine); "
              f"mxaudit's {mx.get('dns_queries', 0)} queries + {mx.get('tls_sessions', 0)} TLS "
              f"sessions = {dns_s + tls_s:.1f} s; the run took {mx['wall_s']:.1f} s "
              f"({mx['wall_s'] / max(dns_s + tls_s, 1e-9):.1f}x the floor)")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows, "floor": floor},
                                              indent=2))


def report_throttle(args, row: dict, work: Path) -> None:
    """What provider A's connection limit cost mxaudit, from the world's counts and
    mxaudit's own outputs (domains.csv, the stored scan's throttled hosts)."""
    import csv

    from scanner.store import Store

    print(f"\nthrottle: provider A's MX pair allows {args.throttle} open connection(s) per host")
    for key in sorted(k for k in row if k.startswith("throttle ") and k.endswith(" connections")):
        host = key[len("throttle "):-len(" connections")]
        print(f"  {host}: {row[key]} connections, {row.get(f'throttle {host} refused', 0)} "
              f"refused (421), at most {row.get(f'throttle {host} peak after first refusal', 0)} "
              "open at once after the first refusal")
    with open(work / "mxaudit-out" / "domains.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["domain"] and int(r["domain"][1:7]) % 10 <= 5]
    smtp_cols = [c for c in rows[0] if c.startswith("smtp.")] if rows else []
    failing = sum(any(r[c] == "fail" for c in smtp_cols) for r in rows)
    in_error = sum(any(r[c] == "error" for c in smtp_cols) for r in rows)
    with Store(work / "mxaudit.sqlite") as store:
        env = store.scans()[-1].environment
    print(f"  provider A's {len(rows)} domains: {failing} with an smtp.* check failing, "
          f"{in_error} with one in error; mxaudit took {row['wall_s']:.1f} s")
    for t in env.throttled if env else ():
        print(f"  mxaudit's report: {', '.join(t.hosts)} [{t.ip}] throttled the scan: "
              f"{t.refusals} refusal(s), {t.waited:.1f} s spent waiting")


def _kb(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    sys.exit(main())
