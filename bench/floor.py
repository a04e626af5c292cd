"""Unit costs for the floor: one DNS query and one TLS session, against the bench world.

Measured as throughput at high concurrency (what a run pays per unit when it overlaps
everything), with the client code mxaudit itself uses: its DnsClient, and asyncio + ssl.
Prints JSON: {"dns_query_s": ..., "tls_session_s": ...}. Run inside the bench namespace.
"""
from __future__ import annotations

import asyncio
import json
import os
import ssl
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scanner.dns.client import DnsClient  # noqa: E402
from world import DNS_IP, own_ip  # noqa: E402

DNS_N, TLS_N = 4000, 400


async def dns_cost() -> float:
    client = DnsClient(((DNS_IP, 53),), timeout=2.0)
    names = [f"_dmarc.d{i:06d}.test" for i in range(DNS_N)]   # distinct: no cache hits
    start = time.perf_counter()
    await asyncio.gather(*(client.query(n, "TXT") for n in names))
    return (time.perf_counter() - start) / DNS_N


async def tls_cost() -> float:
    ctx = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    ctx.check_hostname = False
    sem = asyncio.Semaphore(50)

    async def one(k: int) -> None:
        async with sem:
            _, w = await asyncio.open_connection(own_ip(8 + 10 * (k % 20)), 465, ssl=ctx)
            w.transport.abort()

    start = time.perf_counter()
    await asyncio.gather(*(one(k) for k in range(TLS_N)))
    return (time.perf_counter() - start) / TLS_N


async def main() -> None:
    print(json.dumps({"dns_query_s": await dns_cost(), "tls_session_s": await tls_cost()}))


if __name__ == "__main__":
    asyncio.run(main())
