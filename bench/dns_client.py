"""CPU per DNS query of mxaudit's own DNS client (scanner/dns/client.py + wire.py), alone.

A minimal responder in a separate process answers every query NXDOMAIN at once on a loopback
port; this process asks it N questions shaped like a scan's DKIM selectors (24 names per
domain through ``query_many``, 40 domains at a time) and prints the client's CPU and wall
time per query. The responder's CPU is not counted, so the figure is the client's own cost,
what the bench's floor accounting charges per query. Compare two checkouts with

    python3 bench/dns_client.py --repo /path/to/checkout-A
    python3 bench/dns_client.py --repo /path/to/checkout-B

(alternating runs; the figures move with the machine's load). Loopback only.
"""
from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

RESPONDER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind(("127.0.0.1", 0))
sys.stdout.write(str(s.getsockname()[1]) + "\n"); sys.stdout.flush()
while True:
    data, addr = s.recvfrom(4096)
    if len(data) < 12:
        continue
    i = 12
    while i < len(data) and data[i]:
        i += data[i] + 1
    # QR, RD copied, RA, NXDOMAIN; the question copied; no other records
    s.sendto(data[:2] + bytes([0x81 | (data[2] & 1), 0x83]) + b"\x00\x01" + b"\x00" * 6
             + data[12:i + 5], addr)
"""


async def measure(port: int, n: int) -> tuple[float, float]:
    from scanner.dns.client import DnsClient
    client = DnsClient((("127.0.0.1", port),), timeout=5.0)
    names = [f"s{i % 24}._domainkey.d{i // 24:06d}.test" for i in range(n)]
    step = 24 * 40
    cpu, wall = time.process_time(), time.perf_counter()
    for k in range(0, n, step):
        await asyncio.gather(*(client.query_many(names[j:j + 24], "TXT")
                               for j in range(k, min(n, k + step), 24)))
    return (time.process_time() - cpu) / n, (time.perf_counter() - wall) / n


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent,
                   help="the mxaudit checkout to measure (default: this one)")
    p.add_argument("--queries", type=int, default=48_000)
    args = p.parse_args()
    sys.path.insert(0, str(args.repo.resolve()))
    responder = subprocess.Popen([sys.executable, "-c", RESPONDER], stdout=subprocess.PIPE, text=True)
    try:
        port = int(responder.stdout.readline())
        cpu, wall = asyncio.run(measure(port, args.queries))
    finally:
        responder.kill()
        responder.wait()
    print(f"{args.repo}: {args.queries} queries, client CPU {cpu * 1e6:.1f} us/query, "
          f"wall {wall * 1e6:.1f} us/query")


if __name__ == "__main__":
    main()
