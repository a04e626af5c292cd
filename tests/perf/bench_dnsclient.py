"""Client CPU per DNS query (not a test: run it by hand).

    /tmp/venv/bin/python tests/perf/bench_dnsclient.py [--n 20000] [--repeat 3]

A canned UDP responder runs in a subprocess on 127.0.0.1 (its CPU is not counted): names
starting with ``s0`` get a 400-byte DKIM-like TXT answer (split into 255-byte strings, as
servers do), every other name NXDOMAIN with an SOA in the authority section and an OPT record,
like a real authoritative server. The client asks N distinct TXT questions through
``DnsClient.query`` (200 at a time, a steady flow) and prints ``time.process_time`` per query.
Run it with PYTHONPATH pointing at another checkout to measure that one.
"""
from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time

RESPONDER = r'''
import socket, sys
import dns.message, dns.rcode, dns.rrset
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
key = "v=DKIM1; k=rsa; p=" + "A" * 382
soa = dns.rrset.from_text("test.", 300, "IN", "SOA", "ns.test. hostmaster.test. 1 3600 600 86400 300")
while True:
    data, addr = sock.recvfrom(4096)
    q = dns.message.from_wire(data)
    r = dns.message.make_response(q)
    qname = q.question[0].name
    if qname.labels[0].startswith(b"s0"):
        r.answer.append(dns.rrset.from_text(qname, 300, "IN", "TXT",
                                            '"%s" "%s"' % (key[:255], key[255:])))
    else:
        r.set_rcode(dns.rcode.NXDOMAIN)
        r.authority.append(soa)
    sock.sendto(r.to_wire(), addr)
'''


async def run(port: int, n: int, tag: str) -> float:
    """CPU seconds per query * 1e6, for ``n`` distinct questions asked by 200 workers (a
    steady flow, as in a scan: the client's socket stays open)."""
    from scanner.dnsclient import DnsClient

    client = DnsClient([("127.0.0.1", port)], timeout=5)
    names = iter([f"{'s0' if i % 10 == 0 else 'sel'}{i}._domainkey.{tag}.test" for i in range(n)])
    outcomes = []

    async def worker():
        for name in names:
            outcomes.append((await client.query(name, "TXT")).outcome)

    start = time.process_time()
    await asyncio.gather(*(worker() for _ in range(200)))
    cpu = time.process_time() - start
    assert len(outcomes) == n and all(o.answered for o in outcomes), set(outcomes)
    return cpu / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    proc = subprocess.Popen([sys.executable, "-c", RESPONDER], stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        figures = [asyncio.run(run(port, args.n, f"r{i}")) for i in range(args.repeat)]
    finally:
        proc.kill()
        proc.wait()
    import scanner
    print("measuring", scanner.__file__, file=sys.stderr)
    print("us/query:", " ".join(f"{f:.1f}" for f in figures), f"(best {min(figures):.1f})")


if __name__ == "__main__":
    main()
