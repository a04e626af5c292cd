"""DKIM collection: the key records at <selector>._domainkey.<domain>.

Selectors: the operator's (input CSV column, then --dkim-selector) followed by the built-in
list of common provider selectors (``scanner/data/dkim_selectors.txt``, sources in
docs/dkim-selectors.md). All selectors are asked concurrently (``DnsClient.query_many``: one
batch, no Task per selector); answers come from the scan's DNS cache, so a selector CNAMEd to
a provider's shared key is fetched once per scan.
"""
from __future__ import annotations

import functools
import re
from importlib import resources

from scanner.collect.context import ScanContext
from scanner.evidence.records import DkimEvidence, DkimProbe

_SELECTOR = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
                       r"(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\Z")


@functools.cache
def builtin_selectors() -> tuple[str, ...]:
    """The shipped list: one selector per line, '#' starts a comment (the source)."""
    text = resources.files("scanner").joinpath("data/dkim_selectors.txt").read_text("utf-8")
    out: list[str] = []
    for line in text.splitlines():
        sel = line.split("#", 1)[0].strip().lower()
        if sel and sel not in out:
            out.append(sel)
    return tuple(out)


def plan(selectors: tuple[str, ...]) -> tuple[list[tuple[str, str]], tuple[str, ...]]:
    """([(selector, source)] in probe order, rejected operator selectors)."""
    probes: list[tuple[str, str]] = []
    rejected: list[str] = []
    seen: set[str] = set()
    for raw in selectors:
        sel = raw.strip().rstrip(".").lower()
        if not sel:
            continue
        if not _SELECTOR.match(sel) or len(sel) > 200:
            rejected.append(raw[:80])
            continue
        if sel not in seen:
            seen.add(sel)
            probes.append((sel, "operator"))
    for sel in builtin_selectors():
        if sel not in seen:
            seen.add(sel)
            probes.append((sel, "builtin"))
    return probes, tuple(rejected)


async def collect_dkim(ctx: ScanContext, domain: str, selectors: tuple[str, ...]) -> DkimEvidence:
    probes, rejected = plan(selectors)
    lookups = await ctx.dns.query_many([f"{sel}._domainkey.{domain}" for sel, _ in probes], "TXT")
    return DkimEvidence(tuple(DkimProbe(sel, source, lookup)
                              for (sel, source), lookup in zip(probes, lookups)), rejected)
