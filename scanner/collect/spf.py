"""SPF collection: the include/redirect tree walk (async, through ctx.dns) and pyspf's verdict
for the domain's own MX addresses.

Why our own walk instead of checkdmarc's ``parse_spf_record`` (measured and read, see the
final report of issue 4): checkdmarc raises at the 11th lookup and loses the tree (evidence
must keep it), keeps module-global DNS caches and nameserver-failure state across scans,
and looks up ``exp=`` targets with the system resolver even when given a resolver object.
The walk below is ~150 lines, concurrent per record, bounded, and every query it makes is a
``ctx.dns`` query (one cache: a provider include shared by many domains is asked once).
checkdmarc stays the reference the differential test compares our counts with.

pyspf does its own DNS; a ``spf.query`` subclass overrides its one lookup method so it
reads the scan's DNS cache, and ``evaluate_mx`` asks what is missing through ``ctx.dns``, on
the event loop: no thread (see there why).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import spf as pyspf

from scanner.collect.context import ScanContext
from scanner.evidence import DnsOutcome, DnsResult, MxEvidence
from scanner.evidence.records import SpfEvidence, SpfMxResult, SpfNode, SpfTermLookup
from scanner.parsers.spf import SpfTerm, parse_spf
from scanner.parsers.tagvalue import locate

MAX_RECORDS = 64          # SPF records fetched per domain (RFC limit is 10 lookups; hostile
                          # trees of 1,000 includes stop here, counts become lower bounds)
MAX_TERM_QUERIES = 128    # a/mx/exists queries per domain
MAX_MX_ADDRESSES = 10     # addresses evaluated with pyspf


@dataclass
class _Node:
    domain: str
    via: str
    txt: DnsResult | None = None
    records: tuple[str, ...] = ()
    lookups: int = 0
    voids: int = 0
    terms: list[SpfTermLookup] = field(default_factory=list)
    note: str = ""
    children: list["_Node"] = field(default_factory=list)


class _Walk:
    def __init__(self, ctx: ScanContext) -> None:
        self.ctx = ctx
        self.records_left = MAX_RECORDS
        self.queries_left = MAX_TERM_QUERIES
        self.truncated = False

    async def node(self, domain: str, via: str, ancestors: tuple[str, ...]) -> _Node | None:
        domain = domain.rstrip(".").lower()
        if domain in ancestors:
            return _Node(domain, via, note=f"{via} loop")
        if self.records_left <= 0:
            self.truncated = True
            return None
        self.records_left -= 1
        txt = await self.ctx.dns.query(domain, "TXT")
        node = _Node(domain, via, txt, locate(txt.records if txt.ok else (), "spf1", spf=True))
        if via and txt.outcome in (DnsOutcome.NODATA, DnsOutcome.NXDOMAIN):
            node.voids += 1     # the include/redirect target's TXT query came back empty
        if len(node.records) != 1:
            return node
        record = parse_spf(node.records[0])
        terms = record.lookup_terms
        node.lookups = len(terms)
        path = ancestors + (domain,)
        results = await asyncio.gather(*(self.term(domain, t, path) for t in terms))
        for lookup, child in results:
            if lookup is not None:
                node.terms.append(lookup)
                node.voids += lookup.void
            if child is not None:
                node.children.append(child)
        return node

    async def term(self, domain: str, term: SpfTerm, path: tuple[str, ...]):
        """(what the term's own lookup saw, the child node for include/redirect)."""
        if term.error:
            return SpfTermLookup(term.text, note=f"not looked up: {term.error}"), None
        if term.has_macro:
            return SpfTermLookup(term.text, note="macro: depends on the sender, not looked up"), None
        if term.name in ("include", "redirect"):
            child = await self.node(term.value, term.name, path)
            if child is None:
                return SpfTermLookup(term.text, term.value, note="not followed: walk limit"), None
            return None, child
        if term.name == "ptr":
            return SpfTermLookup(term.text, note="depends on the connecting address"), None
        target = term.value or domain
        rdtypes = {"a": ("A", "AAAA"), "mx": ("MX",), "exists": ("A",)}[term.name]
        if self.queries_left < len(rdtypes):
            self.truncated = True
            return SpfTermLookup(term.text, target, note="not looked up: walk limit"), None
        self.queries_left -= len(rdtypes)
        results = await asyncio.gather(*(self.ctx.dns.query(target, t) for t in rdtypes))
        void = all(r.outcome in (DnsOutcome.NODATA, DnsOutcome.NXDOMAIN) for r in results)
        return SpfTermLookup(term.text, target, tuple(results), void), None


def _flatten(root: _Node) -> list[SpfNode]:
    out: list[SpfNode] = []

    def visit(node: _Node, parent: int) -> None:
        index = len(out)
        out.append(SpfNode(node.domain, node.via, parent, node.txt, node.records, node.lookups,
                           node.voids, tuple(node.terms), node.note))
        for child in node.children:
            visit(child, index)

    visit(root, -1)
    return out


async def walk_spf(ctx: ScanContext, domain: str) -> tuple[tuple[SpfNode, ...], bool]:
    walk = _Walk(ctx)
    root = await walk.node(domain, "", ())
    assert root is not None
    return tuple(_flatten(root)), walk.truncated


async def collect_spf(ctx: ScanContext, domain: str, mx: MxEvidence | None) -> SpfEvidence:
    nodes, truncated = await walk_spf(ctx, domain)
    mx_results: tuple[SpfMxResult, ...] = ()
    mx_error = ""
    if len(nodes[0].records) == 1 and mx is not None:
        mx_results, mx_error = await evaluate_mx(ctx, domain, mx)
    return SpfEvidence(nodes, sum(n.lookups for n in nodes), sum(n.void_lookups for n in nodes),
                       truncated, mx_results, mx_error)


# ----------------------------------------------------------------------- pyspf evaluation
MAX_EVAL_QUERIES = 256   # DNS questions pyspf may ask for one domain's MX addresses: more
                         # than its own limits allow an honest tree (10 terms x 10 exchanges
                         # per family, a few TXT), far fewer than a hostile one would make
MAX_EVAL_ROUNDS = 12     # rounds of lookups (each round asks every question found missing)


class _ScanQuery(pyspf.query):
    """pyspf's query with its DNS answered from the scan's cache (``answers.query``, which
    returns None for a question not answered yet: pyspf then sees an empty answer that is
    not counted as a void lookup, and goes on, revealing the next questions)."""

    def __init__(self, *args, answers: "_CacheOnly", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._answers = answers

    def dns(self, name, qtype, cnames=None, ignore_void=False):
        if not name:
            raise pyspf.PermError("invalid query: empty name")
        name = str(name).rstrip(".").lower()
        if not all(0 < len(label) < 64 for label in name.split(".")):
            return []
        res = self._answers.query(name, qtype)
        if res is None:
            return []
        if not res.outcome.answered:
            raise pyspf.TempError(f"DNS {res.describe()}")
        result = [_pyspf_value(qtype, r) for r in res.records] if res.ok else []
        if not result and not ignore_void:
            self.void_lookups += 1
            if self.void_lookups > pyspf.MAX_VOID_LOOKUPS:
                raise pyspf.PermError(f"Void lookup limit of {pyspf.MAX_VOID_LOOKUPS} exceeded")
        return result


def _pyspf_value(qtype: str, text: str):
    if qtype in ("TXT", "SPF"):
        return (text.encode("utf-8", "backslashreplace"),)
    if qtype == "MX":
        pref, _, exchange = text.partition(" ")
        return (int(pref) if pref.isdigit() else 0, exchange)
    return text


def _mx_addresses(mx: MxEvidence) -> list[tuple[str, str]]:
    pairs = [(h.name, a.ip) for h in mx.hosts for a in h.addresses]
    return pairs[:MAX_MX_ADDRESSES]


class _CacheOnly:
    """pyspf's DNS from the scan cache only; a question not answered yet is noted in
    ``missing`` (and answered None)."""

    def __init__(self, dns) -> None:
        self._dns = dns
        self.missing: dict[tuple[str, str], None] = {}

    def query(self, name: str, rdtype: str) -> DnsResult | None:
        hit = self._dns.cached(name, rdtype)
        if hit is None:
            self.missing[(name, rdtype)] = None
        return hit


async def evaluate_mx(ctx: ScanContext, domain: str,
                      mx: MxEvidence) -> tuple[tuple[SpfMxResult, ...], str]:
    """pyspf's verdict per MX address, computed on the event loop from the scan's DNS
    cache, never in a thread: pyspf runs on what is cached; the questions it found missing
    are asked through ``ctx.dns`` (all at once, concurrently, under the domain's deadline
    and budgets like every other lookup), and it runs again, until nothing is missing.
    pyspf is deterministic given the same answers, and a result is kept only from a run
    that missed nothing, so the answers are the ones a live pyspf would give.

    Why not a thread (before issue 14): pyspf's own time budget was lost with its DNS
    function, a blocked thread could not be cancelled at the domain's deadline, a handful
    of hostile domains held every pool thread (every innocent domain's evaluation then
    waited or failed), and the threads outlived the scan. Here the cost is bounded by
    ``MAX_EVAL_QUERIES`` questions and ``MAX_EVAL_ROUNDS`` rounds, and a deadline cancels it."""
    pairs = _mx_addresses(mx)
    if not pairs:
        return (), ""
    asked = 0
    for _ in range(MAX_EVAL_ROUNDS):
        answers = _CacheOnly(ctx.dns)
        try:
            results = _evaluate_pairs(ctx, domain, pairs, answers)
        except Exception as exc:
            return (), f"{type(exc).__name__}: {exc}"
        if not answers.missing:
            return results, ""
        wanted = list(answers.missing)
        if asked + len(wanted) > MAX_EVAL_QUERIES:
            return (), (f"not evaluated: the SPF evaluation needs more than {MAX_EVAL_QUERIES} "
                        "DNS questions")
        asked += len(wanted)
        await asyncio.gather(*(ctx.dns.query(name, rdtype) for name, rdtype in wanted))
    return (), f"not evaluated: the SPF evaluation needs more than {MAX_EVAL_ROUNDS} rounds of lookups"


def _evaluate_pairs(ctx: ScanContext, domain: str, pairs: list[tuple[str, str]],
                    answers: _CacheOnly) -> tuple[SpfMxResult, ...]:
    out = []
    for host, ip in pairs:
        q = _ScanQuery(i=ip, s=f"postmaster@{domain}", h=domain, timeout=ctx.options.timeout,
                       answers=answers)
        try:
            result, _code, explanation = q.check()
        except Exception as exc:   # pyspf bugs on hostile records: a result, not a crash
            result, explanation = "temperror", f"pyspf: {type(exc).__name__}: {exc}"
        out.append(SpfMxResult(host, ip, str(result), str(explanation or "")[:300]))
    return tuple(out)
