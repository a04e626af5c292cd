"""A lab world and one scan of it, run inside a network namespace (tests/netns.py) by
tests/integration/test_scan_environment.py:

    ip netns exec NS python -m tests.integration.netns_world --work DIR --kind dual [...] \
        -- [extra scan options]

Inside the namespace the lab's MX hosts listen on the real SMTP ports (25, 465, 587: the
scanner's defaults), which is what an nftables rule on port 25 acts on. Writes DIR/out (the
reports), DIR/log.jsonl (the scan's JSON log), DIR/rc and DIR/hosts.json (connections each
lab host accepted, by port).

Kinds:
- ``dual``: dual.test (MX with an A and an AAAA record), v6only.test (AAAA only) and
  v4.test (A only), configured alike; ``--serve-v6`` also serves the IPv6 addresses (the
  namespace then needs them on an interface).
- ``port25``: ``--domains N`` domains, each with its own MX host and address; ``--canary``
  adds a listener on 127.0.1.250:25 (for ``--port25-canary``).
"""
from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
from pathlib import Path

from scanner.lab.smtp_servers import start_smtp_host
from scanner.lab.world import LabWorld

REAL_PORTS = {"smtp": 25, "submissions": 465, "submission": 587}
V6 = {"dual": "2001:db8:25::1", "v6only": "2001:db8:25::2"}
CANARY = "127.0.1.250"


def zone(mx_lines: str, name: str) -> str:
    return (f"@ MX 10 mx.{name}.\n{mx_lines}@ TXT \"v=spf1 mx -all\"\n"
            f"_dmarc TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@{name}\"\n")


HOSTS: list = []   # every lab MX host started, for hosts.json


def host(world: LabWorld, ip: str, name: str) -> None:
    HOSTS.append(start_smtp_host(world, ip, name, ports=REAL_PORTS))


def build_dual(world: LabWorld, serve_v6: bool) -> list[str]:
    v4 = {"dual": world.allocate_ip(), "v4": world.allocate_ip()}
    world.dns.add_zone("dual.test", zone(f"mx A {v4['dual']}\nmx AAAA {V6['dual']}\n", "dual.test"))
    world.dns.add_zone("v6only.test", zone(f"mx AAAA {V6['v6only']}\n", "v6only.test"))
    world.dns.add_zone("v4.test", zone(f"mx A {v4['v4']}\n", "v4.test"))
    host(world, v4["dual"], "mx.dual.test")
    host(world, v4["v4"], "mx.v4.test")
    if serve_v6:
        host(world, V6["dual"], "mx.dual.test")
        host(world, V6["v6only"], "mx.v6only.test")
    return ["dual.test", "v6only.test", "v4.test"]


def build_port25(world: LabWorld, n: int) -> list[str]:
    names = []
    for i in range(n):
        name, ip = f"d{i:03d}.test", world.allocate_ip()
        world.dns.add_zone(name, zone(f"mx A {ip}\n", name))
        host(world, ip, f"mx.{name}")
        names.append(name)
    return names


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--kind", choices=("dual", "port25"), required=True)
    p.add_argument("--domains", type=int, default=8)
    p.add_argument("--serve-v6", action="store_true")
    p.add_argument("--canary", action="store_true")
    p.add_argument("--timeout", default="1")
    p.add_argument("--concurrency", default="4")
    p.add_argument("scan_args", nargs="*")
    args = p.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    with LabWorld(args.work / "lab") as world:
        if args.kind == "dual":
            domains = build_dual(world, args.serve_v6)
        else:
            domains = build_port25(world, args.domains)
        listener = None
        if args.canary:
            listener = socket.create_server((CANARY, 25))
        cmd = [sys.executable, "-m", "scanner", "scan", *[a for d in domains for a in ("-d", d)],
               "--nameserver", world.nameserver, "--allow-private",
               "--ca-file", str(world.ca.cert_path), "--timeout", args.timeout,
               "--deadline", "60", "--concurrency", args.concurrency,
               "--out", str(args.work / "out"), "--db", str(args.work / "db.sqlite"),
               "--log-format", "json", *args.scan_args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=170,
                              stdin=subprocess.DEVNULL)
        (args.work / "log.jsonl").write_text(proc.stderr)
        (args.work / "rc").write_text(str(proc.returncode))
        counts = {f"{h.hostname} {ip} {port}": n for h in HOSTS
                  for (ip, port), n in h.connections.items()}
        (args.work / "hosts.json").write_text(json.dumps(counts, indent=1))
        if listener is not None:
            listener.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
