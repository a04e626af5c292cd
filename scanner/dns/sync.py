"""Synchronous DNS for synchronous libraries (pyspf, dkimpy), answered by the scan's DnsClient.

pyspf and dkimpy do their own DNS with a module-level resolver. They run in a worker thread
(``asyncio.to_thread``) and get a lookup function that hands each question to the scan's
event loop (``run_coroutine_threadsafe(ctx.dns.query(...))``) and waits for the answer: the
configured nameservers, the one per-scan cache and its in-flight sharing apply to them as to
every other lookup, and nothing outlives the scan (no module globals are patched).
"""
from __future__ import annotations

import asyncio
import concurrent.futures

from scanner.dns.client import DnsClient
from scanner.evidence.dns import DnsOutcome, DnsResult


class SyncDns:
    """``query(name, rdtype) -> DnsResult`` callable from a worker thread, never raising."""

    def __init__(self, dns: DnsClient, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self._dns = dns
        self._loop = loop
        self._timeout = timeout

    def query(self, name: str, rdtype: str) -> DnsResult:
        if self._loop.is_closed():
            return DnsResult(name, rdtype, DnsOutcome.ERROR, detail="scan finished")
        hit = self._dns.cached(name, rdtype)   # already answered: no hop through the loop
        if hit is not None:
            return hit
        future = asyncio.run_coroutine_threadsafe(self._dns.query(name, rdtype), self._loop)
        try:
            return future.result(timeout=self._timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            return DnsResult(name, rdtype, DnsOutcome.TIMEOUT, detail="no answer before the timeout")
        except concurrent.futures.CancelledError:
            return DnsResult(name, rdtype, DnsOutcome.ERROR, detail="lookup cancelled")
