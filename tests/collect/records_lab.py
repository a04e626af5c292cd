"""Helpers for the record collectors' lab tests: a ScanContext on the lab DNS, run bounded."""
from __future__ import annotations

import asyncio

from scanner.collect.context import ScanContext
from scanner.options import ScanOptions


def options(lab, **kw) -> ScanOptions:
    host, port = lab.nameserver.split(":")
    kw.setdefault("allow_private", True)
    kw.setdefault("timeout", 2.0)
    kw.setdefault("dns_retries", 1)
    return ScanOptions(nameservers=((host, int(port)),), ca_file=lab.ca.cert_path,
                       mta_sts_port=lab.ports["https"], **kw)


def run(lab, make, *, deadline=20, **kw):
    """``make(ctx)`` -> coroutine; runs it in a fresh loop with a fresh scan context."""
    async def main():
        ctx = ScanContext.create(options(lab, **kw))
        return await asyncio.wait_for(make(ctx), deadline)
    return asyncio.run(main())


def txt_strings(text: str) -> str:
    """Zone-file rdata for a long TXT record: 255-byte quoted character-strings."""
    chunks = [text[i:i + 255] for i in range(0, len(text), 255)] or [""]
    return " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)
