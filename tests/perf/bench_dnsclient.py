"""Client CPU per DNS query (not a test: run it by hand).

    /tmp/venv/bin/python tests/perf/bench_dnsclient.py [--n 20000] [--repeat 3]

A canned UDP responder runs in a subprocess on 127.0.0.1 (its CPU is not counted): names
starting with ``s0`` get a 400-byte DKIM-like TXT answer (split into 255-byte strings, as
servers do), every other name NXDOMAIN with an SOA in the authority section and an OPT record,
like a real authoritative server. The client asks N distinct TXT questions through
``DnsClient.query`` (200 at a time, a steady flow) and prints ``time.process_time`` per query.
Run it with PYTHONPATH pointing at another checkout to measure that one; ``--floor`` measures
a bare datagram endpoint doing the same exchanges (the event loop and sockets alone).
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
    from scanner.dns.client import DnsClient

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


async def floor(port: int, n: int, tag: str) -> float:
    """The same traffic through a bare datagram endpoint (replies matched by ID, not parsed,
    no cache, no task per query): what the event loop and the sockets cost by themselves."""
    loop = asyncio.get_running_loop()
    pending: dict[int, asyncio.Future] = {}

    class Protocol(asyncio.DatagramProtocol):
        def datagram_received(self, data, addr):
            fut = pending.pop(int.from_bytes(data[:2], "big"), None)
            if fut is not None and not fut.done():
                fut.set_result(data)

    transport, _ = await loop.create_datagram_endpoint(Protocol, remote_addr=("127.0.0.1", port))
    names = iter([f"{'s0' if i % 10 == 0 else 'sel'}{i}._domainkey.{tag}.test" for i in range(n)])
    ids = iter(range(1, n + 1))

    async def worker():
        for name in names:
            qid = next(ids)
            wire = b"".join(len(x).to_bytes(1, "big") + x for x in name.encode().split(b"."))
            fut = pending[qid] = loop.create_future()
            timer = loop.call_later(5, lambda f=fut: f.done() or f.set_result(None))
            transport.sendto(qid.to_bytes(2, "big") + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                             + wire + b"\x00\x00\x10\x00\x01")
            await fut
            timer.cancel()

    start = time.process_time()
    await asyncio.gather(*(worker() for _ in range(200)))
    cpu = time.process_time() - start
    transport.close()
    return cpu / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--floor", action="store_true", help="measure the bare endpoint instead")
    args = ap.parse_args()
    proc = subprocess.Popen([sys.executable, "-c", RESPONDER], stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        fn = floor if args.floor else run
        figures = [asyncio.run(fn(port, args.n, f"r{i}")) for i in range(args.repeat)]
    finally:
        proc.kill()
        proc.wait()
    import scanner
    print("measuring", scanner.__file__, file=sys.stderr)
    print("us/query:", " ".join(f"{f:.1f}" for f in figures), f"(best {min(figures):.1f})")


if __name__ == "__main__":
    main()
