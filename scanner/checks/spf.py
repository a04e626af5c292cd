"""Checks: SPF (CHECKS.md, SPF table). Reads the tree the collector walked; re-parses records.

Three checks parse the records of the tree, and the includes of one provider are the same
text for thousands of domains: parses are cached by record text (``parse_spf`` is pure and
its result immutable).
"""
from __future__ import annotations

import functools

from scanner.evidence import DomainEvidence
from scanner.evidence.records import SpfEvidence, SpfNode
from scanner.findings import Status, subject_ip
from scanner.registry import Outcome, check
from scanner.parsers.spf import SpfRecord
from scanner.parsers.spf import parse_spf as _parse_spf
from scanner.parsers.tagvalue import clip
from scanner.checks._policy import listing
from scanner.derived import family, unanswered

LOOKUP_LIMIT = 10        # RFC 7208 4.6.4
VOID_LIMIT = 2
MX_LIMIT = 10            # exchanges an mx term may resolve (RFC 7208 4.6.4; pyspf's MAX_MX)
_CACHED_RECORD_MAX = 2048   # longer (hostile) records are parsed every time, not kept
_parse_cached = functools.lru_cache(maxsize=1024)(_parse_spf)


def parse_spf(record: str) -> SpfRecord:
    return _parse_cached(record) if len(record) <= _CACHED_RECORD_MAX else _parse_spf(record)


def _root(ev: DomainEvidence) -> tuple[SpfEvidence | None, Outcome | None]:
    spf, problem = family(ev, "spf")
    if problem:
        return None, problem
    return spf, unanswered(spf.root.txt)


def _single_record(ev: DomainEvidence) -> tuple[SpfEvidence | None, Outcome | None]:
    """The evidence when the domain has exactly one SPF record, else the outcome to emit."""
    spf, problem = _root(ev)
    if problem:
        return None, problem
    n = len(spf.root.records)
    if n == 0:
        return None, Outcome(Status.SKIPPED, "no SPF record")
    if n > 1:
        return None, Outcome(Status.SKIPPED, f"{n} SPF records: evaluation is a permerror")
    return spf, None


def _incomplete(spf: SpfEvidence) -> list[str]:
    """Parts of the tree the walk could not see because DNS did not answer."""
    gaps = []
    for node in spf.nodes:
        if node.txt is not None and not node.txt.outcome.answered:
            gaps.append(f"{node.via or 'record'} {node.domain}: {node.txt.outcome}")
        for term in node.terms:
            for res in term.results:
                if not res.outcome.answered:
                    gaps.append(f"{term.term}: {res.outcome}")
    return gaps


def _label(node: SpfNode) -> str:
    return f"{node.via}:{node.domain}" if node.via else node.domain


@check("spf.present", title="SPF record published", category="sender", reference="RFC 7208 4.5",
       remediation="Publish a TXT record 'v=spf1 ... -all' listing the hosts that send mail "
                   "for the domain ('v=spf1 -all' if it sends none).")
def spf_present(ev: DomainEvidence):
    spf, problem = _root(ev)
    if problem:
        return [problem]
    records = spf.root.records
    if not records:
        return [Outcome(Status.FAIL, f"no v=spf1 TXT record at {ev.domain}")]
    return [Outcome(Status.PASS, f"SPF record: {clip(records[0])}")]


@check("spf.single", title="Exactly one SPF record", category="sender", reference="RFC 7208 4.5",
       remediation="Merge the SPF records into one: several v=spf1 records are a permerror.")
def spf_single(ev: DomainEvidence):
    spf, problem = _root(ev)
    if problem:
        return [problem]
    records = spf.root.records
    if not records:
        return [Outcome(Status.SKIPPED, "no SPF record")]
    if len(records) > 1:
        shown = "; ".join(f'"{clip(r, 80)}"' for r in records[:4])
        return [Outcome(Status.FAIL, f"{len(records)} v=spf1 records (permerror): {shown}")]
    return [Outcome(Status.PASS, "one v=spf1 record")]


@check("spf.syntax", title="SPF syntax (whole tree)", category="sender", reference="RFC 7208 12",
       remediation="Fix the SPF record (and the included records you control): every term must "
                   "follow RFC 7208 section 12, includes must point at existing SPF records.")
def spf_syntax(ev: DomainEvidence):
    spf, problem = _single_record(ev)
    if problem:
        return [problem]
    problems: list[str] = []
    gaps: list[str] = []
    for i, node in enumerate(spf.nodes):
        label = _label(node)
        if node.note and node.note.endswith("loop"):
            problems.append(f"{label}: {node.note}")
            continue
        if node.txt is None:
            continue            # not followed (walk limit): see spf.lookups
        if not node.txt.outcome.answered:
            gaps.append(f"{label}: {node.txt.outcome}")
            continue
        if not node.records:
            problems.append(f"{label}: no SPF record at {node.domain} (permerror)")
            continue
        if len(node.records) > 1:
            problems.append(f"{label}: {len(node.records)} SPF records (permerror)")
            continue
        errors = parse_spf(node.records[0]).errors
        problems.extend(f"{label}: {clip(e, 120)}" for e in errors)
    if problems:
        return [Outcome(Status.FAIL, f"{len(problems)} problem(s): {listing(problems, 5)}")]
    if gaps:
        return [Outcome(Status.ERROR, f"could not check the whole tree: {listing(gaps, 5)}")]
    seen = sum(1 for n in spf.nodes if n.records)
    tail = "; the walk stopped at its limit, deeper records not examined" if spf.truncated else ""
    return [Outcome(Status.PASS, f"{seen} record(s) in the tree, no syntax errors{tail}")]


@check("spf.lookups", title="SPF DNS lookup limit", category="sender", reference="RFC 7208 4.6.4",
       remediation="Reduce the DNS-querying terms (include, a, mx, ptr, exists, redirect) to at "
                   "most 10 across the whole tree, e.g. by replacing includes with ip4/ip6 ranges.")
def spf_lookups(ev: DomainEvidence):
    spf, problem = _single_record(ev)
    if problem:
        return [problem]
    gaps = _incomplete(spf)
    at_least = "at least " if spf.truncated or gaps else ""
    message = f"{at_least}{spf.lookups} DNS-querying terms (limit {LOOKUP_LIMIT})"
    wide = [f"{_label(n)}: {t.term} ({len(r.records)} exchanges)" for n in spf.nodes
            for t in n.terms for r in t.results
            if r.rdtype == "MX" and r.ok and len(r.records) > MX_LIMIT]
    if wide:
        message += (f"; an mx term with more than {MX_LIMIT} exchanges to resolve is a "
                    f"permerror: {listing(wide, 3)}")
    if spf.lookups > LOOKUP_LIMIT or wide:
        return [Outcome(Status.FAIL, message)]
    if gaps:
        return [Outcome(Status.ERROR, f"{message}; incomplete: {listing(gaps, 4)}")]
    return [Outcome(Status.PASS, message)]


@check("spf.void_lookups", title="SPF void lookup limit", category="sender",
       reference="RFC 7208 4.6.4",
       remediation="Remove SPF terms that point at names without records (void lookups); "
                   "at most 2 are allowed.")
def spf_void_lookups(ev: DomainEvidence):
    spf, problem = _single_record(ev)
    if problem:
        return [problem]
    voids = [t.term for n in spf.nodes for t in n.terms if t.void]
    voids += [f"{n.via}:{n.domain}" for n in spf.nodes
              if n.via and n.txt is not None and n.txt.outcome.answered and not n.txt.ok]
    detail = f": {listing(voids, 5)}" if voids else ""
    message = f"{spf.void_lookups} void lookup(s) (limit {VOID_LIMIT}){detail}"
    if spf.void_lookups > VOID_LIMIT:
        return [Outcome(Status.FAIL, message)]
    gaps = _incomplete(spf)
    if gaps:
        return [Outcome(Status.ERROR, f"{message}; incomplete: {listing(gaps, 4)}")]
    return [Outcome(Status.PASS, message)]


def _effective_all(spf: SpfEvidence, index: int, depth: int = 0) -> tuple[str | None, str]:
    """(qualifier of the 'all' that ends evaluation, where it came from); None: none/permerror."""
    node = spf.nodes[index]
    if depth > 10 or len(node.records) != 1:
        return None, f"redirect target {node.domain} has no single SPF record"
    record = parse_spf(node.records[0])
    term = record.all_term
    if term is not None:
        return term.qualifier, node.domain
    if record.redirect is None:
        return "", node.domain
    for j, child in enumerate(spf.nodes):
        if child.parent == index and child.via == "redirect":
            if child.txt is None or not child.txt.outcome.answered:
                return None, f"redirect to {child.domain} could not be followed"
            return _effective_all(spf, j, depth + 1)
    return None, f"redirect to {record.redirect} was not followed"


@check("spf.all", title="SPF default result", category="sender", reference="RFC 7208 5.1",
       remediation="End the SPF record with '-all' (or '~all' while you are still monitoring).")
def spf_all(ev: DomainEvidence):
    spf, problem = _single_record(ev)
    if problem:
        return [problem]
    qualifier, where = _effective_all(spf, 0)
    via = "" if where == ev.domain else f" (via redirect to {where})"
    if qualifier is None:
        status = Status.ERROR if "could not" in where else Status.FAIL
        return [Outcome(status, f"no effective 'all': {where}")]
    if qualifier == "":
        return [Outcome(Status.FAIL, "no 'all' mechanism and no redirect: the default result "
                                     f"is neutral for everyone{via}")]
    text = f"{qualifier}all" if qualifier != "+" else "+all (or a bare 'all')"
    if qualifier == "-":
        return [Outcome(Status.PASS, f"ends with -all{via}")]
    if qualifier == "~":
        return [Outcome(Status.WARN, f"ends with ~all (softfail){via}")]
    return [Outcome(Status.FAIL, f"ends with {text}: anyone may send as the domain{via}")]


@check("spf.ptr", title="SPF ptr mechanism", category="sender", reference="RFC 7208 5.5",
       remediation="Replace the 'ptr' mechanism with ip4/ip6/a terms: it is slow, unreliable "
                   "and RFC 7208 says it SHOULD NOT be used.")
def spf_ptr(ev: DomainEvidence):
    spf, problem = _single_record(ev)
    if problem:
        return [problem]
    users = [_label(n) for n in spf.nodes
             if len(n.records) == 1 and parse_spf(n.records[0]).mechanisms("ptr")]
    if users:
        return [Outcome(Status.WARN, f"the ptr mechanism is used in: {listing(users)}")]
    return [Outcome(Status.PASS, "no ptr mechanism")]


@check("spf.mx_authorized", title="SPF authorises the domain's own MX addresses",
       category="sender", reference="RFC 7208")
def spf_mx_authorized(ev: DomainEvidence):
    spf, problem = _root(ev)
    if problem:
        return [problem]
    if spf.mx_error:
        return [Outcome(Status.ERROR, f"not evaluated: {spf.mx_error}")]
    if not spf.mx_results:
        return [Outcome(Status.SKIPPED, "no MX addresses to evaluate")]
    return [Outcome(Status.INFO,
                    f"SPF result for MAIL FROM postmaster@{ev.domain} from this address: "
                    f"{r.result}" + (f" ({clip(r.explanation, 120)})" if r.explanation else ""),
                    subject=subject_ip(r.host, r.ip))
            for r in spf.mx_results]
