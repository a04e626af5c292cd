"""Checks: DMARC (CHECKS.md, DMARC table). Records are located and parsed here (tagvalue).

The record in effect is the one at ``_dmarc.<domain>``, else the one at the organisational
domain (RFC 7489 6.6.3); messages say which. DMARCbis tags (np, psd, t) are validated and
accepted; unknown tags are ignored as RFC 7489 6.3 requires.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from scanner.evidence import DomainEvidence
from scanner.evidence.records import DmarcEvidence
from scanner.findings import Status
from scanner.parsers.psl import org_domain
from scanner.registry import Outcome, check
from scanner.parsers.tagvalue import MAILTO, TagList, clip, locate, mailto_domains, split_list
from scanner.checks._policy import listing
from scanner.derived import DmarcRecord, answered_records, effective, unanswered

POLICIES = ("none", "quarantine", "reject")
_HTTPS = re.compile(r"https://[^\s,!]+(?:!\d+[kmgtKMGT]?)?\Z", re.I)


def _one(ev: DomainEvidence) -> tuple[DmarcRecord | None, Outcome | None]:
    rec, problem = effective(ev)
    if problem:
        return None, problem
    if rec is None:
        return None, Outcome(Status.SKIPPED, "no DMARC record")
    return rec, None


# ------------------------------------------------------------------ tag table (RFC 7489 6.3)
def _enum(*allowed: str) -> Callable[[str], str]:
    def validate(value: str) -> str:
        return "" if value.lower() in allowed else f"must be one of {'/'.join(allowed)}"
    return validate


def _int_range(lo: int, hi: int) -> Callable[[str], str]:
    def validate(value: str) -> str:
        return "" if value.isdigit() and lo <= int(value) <= hi else f"must be an integer {lo}-{hi}"
    return validate


def _colon_list(allowed: tuple[str, ...] | None) -> Callable[[str], str]:
    def validate(value: str) -> str:
        items = split_list(value, ":")
        if not items:
            return "empty"
        bad = [i for i in items if (allowed is not None and i.lower() not in allowed)
               or not re.fullmatch(r"[A-Za-z0-9]+", i)]
        return f"invalid item(s) {', '.join(bad)}" if bad else ""
    return validate


def _uris(value: str) -> str:
    uris = split_list(value, ",")
    if not uris:
        return "no URI"
    bad = [u for u in uris if not (MAILTO.match(u) or _HTTPS.match(u))]
    return f"invalid URI(s) {', '.join(clip(b, 60) for b in bad)}" if bad else ""


TAGS: dict[str, Callable[[str], str]] = {
    "v": lambda v: "" if v == "DMARC1" else "must be DMARC1",
    "p": _enum(*POLICIES),
    "sp": _enum(*POLICIES),
    "np": _enum(*POLICIES),             # DMARCbis
    "adkim": _enum("r", "s"),
    "aspf": _enum("r", "s"),
    "pct": _int_range(0, 100),
    "fo": _colon_list(("0", "1", "d", "s")),
    "rf": _colon_list(None),
    "ri": _int_range(0, 2**32 - 1),
    "rua": _uris,
    "ruf": _uris,
    "psd": _enum("y", "n", "u"),        # DMARCbis
    "t": _enum("y", "n"),               # DMARCbis
}


def syntax_errors(tags: TagList) -> list[str]:
    errors = list(tags.errors) + [f"duplicate tag {d}" for d in tags.duplicates]
    if tags.first != "v":
        errors.append("the record does not start with v=DMARC1")
    if "p" not in tags:
        errors.append("missing p tag")
    for name, value in tags.tags:
        validate = TAGS.get(name)
        error = validate(value) if validate else ""
        if error:
            errors.append(f"{name}={clip(value, 60)}: {error}")
    return errors


def report_domains(tags: TagList) -> list[tuple[str, str]]:
    """(uri, domain) of every mailto: rua/ruf destination."""
    return [d for name in ("rua", "ruf") for d in mailto_domains(tags.get(name) or "")]


# ------------------------------------------------------------------------------- checks
@check("dmarc.present", title="DMARC record published", category="sender",
       reference="RFC 7489 6.6.3",
       remediation="Publish a TXT record at _dmarc.<domain>, e.g. 'v=DMARC1; p=none; "
                   "rua=mailto:dmarc-reports@<domain>', then move to quarantine/reject.")
def dmarc_present(ev: DomainEvidence):
    rec, problem = effective(ev)
    if problem:
        return [problem]
    if rec is None:
        d: DmarcEvidence = ev.records.dmarc
        where = f"_dmarc.{ev.domain}"
        if d.org_domain != ev.domain:
            where += f" nor at the organisational domain (_dmarc.{d.org_domain})"
        return [Outcome(Status.FAIL, f"no DMARC record at {where}")]
    text = clip(rec.records[0])
    if rec.inherited:
        return [Outcome(Status.PASS, f"no record at _dmarc.{ev.domain}; the organisational "
                                     f"domain {rec.source} supplies: {text}")]
    return [Outcome(Status.PASS, f"record at _dmarc.{ev.domain}: {text}")]


@check("dmarc.single", title="Exactly one DMARC record", category="sender",
       reference="RFC 7489 6.6.3",
       remediation="Keep one v=DMARC1 record: with several, receivers apply no DMARC policy.")
def dmarc_single(ev: DomainEvidence):
    rec, problem = _one(ev)
    if problem:
        return [problem]
    if len(rec.records) > 1:
        shown = "; ".join(f'"{clip(r, 80)}"' for r in rec.records[:4])
        return [Outcome(Status.FAIL, f"{len(rec.records)} DMARC records at _dmarc.{rec.source}: "
                                     f"{shown}")]
    return [Outcome(Status.PASS, f"one DMARC record at _dmarc.{rec.source}")]


@check("dmarc.syntax", title="DMARC syntax", category="sender", reference="RFC 7489 6.3",
       remediation="Fix the DMARC record: start with 'v=DMARC1;', include a valid p= tag, and "
                   "use only valid tag values.")
def dmarc_syntax(ev: DomainEvidence):
    rec, problem = _one(ev)
    if problem:
        return [problem]
    errors = syntax_errors(rec.tags)
    if errors:
        return [Outcome(Status.FAIL, f"_dmarc.{rec.source}: {listing(errors, 6)}")]
    return [Outcome(Status.PASS, f"well-formed: {listing(list(rec.tags.names), 20)}")]


@check("dmarc.policy", title="DMARC policy enforces", category="sender", reference="RFC 7489 6.3",
       remediation="Move the DMARC policy to p=quarantine or p=reject once reports show that "
                   "legitimate mail aligns.")
def dmarc_policy(ev: DomainEvidence):
    rec, problem = _one(ev)
    if problem:
        return [problem]
    tag = "p"
    if rec.inherited and rec.tags.get("sp") is not None:
        tag = "sp"   # the domain is a subdomain of the record's organisational domain
    value = (rec.tags.get(tag) or "").lower()
    where = f" (from {rec.source}'s {tag}=)" if rec.inherited else ""
    if value in ("reject", "quarantine"):
        return [Outcome(Status.PASS, f"policy {value}{where}")]
    if value == "none":
        return [Outcome(Status.WARN, f"policy none: monitoring only{where}")]
    return [Outcome(Status.FAIL, f"no valid policy ({tag}={clip(value, 40) or 'missing'}): "
                                 f"receivers apply none{where}")]


@check("dmarc.subdomain_policy", title="DMARC subdomain policy", category="sender",
       reference="RFC 7489 6.3",
       remediation="Remove sp=none (subdomains then inherit p=) or set sp= to quarantine/reject.")
def dmarc_subdomain_policy(ev: DomainEvidence):
    rec, problem = _one(ev)
    if problem:
        return [problem]
    p = (rec.tags.get("p") or "").lower()
    sp = rec.tags.get("sp")
    if sp is None:
        return [Outcome(Status.PASS, f"no sp tag: subdomains inherit p={p or '?'}")]
    if sp.lower() == "none" and p in ("quarantine", "reject"):
        return [Outcome(Status.WARN, f"sp=none while p={p}: subdomains are not protected")]
    return [Outcome(Status.PASS, f"sp={clip(sp, 40)} (p={p or '?'})")]


@check("dmarc.pct", title="DMARC pct", category="sender", reference="RFC 7489 6.3",
       remediation="Remove pct= (or set pct=100) so the policy applies to all mail.")
def dmarc_pct(ev: DomainEvidence):
    rec, problem = _one(ev)
    if problem:
        return [problem]
    pct = rec.tags.get("pct")
    if pct is None:
        return [Outcome(Status.PASS, "no pct tag (100%)")]
    if pct.isdigit() and int(pct) >= 100:
        return [Outcome(Status.PASS, f"pct={pct}")]
    if pct.isdigit():
        return [Outcome(Status.WARN, f"pct={pct}: the policy applies to {int(pct)}% of failing mail")]
    return [Outcome(Status.WARN, f"pct={clip(pct, 40)} is not a number (see dmarc.syntax)")]


@check("dmarc.rua", title="DMARC aggregate reports", category="sender", reference="RFC 7489 7.1",
       remediation="Add rua=mailto:<address> to receive aggregate reports.")
def dmarc_rua(ev: DomainEvidence):
    rec, problem = _one(ev)
    if problem:
        return [problem]
    rua = split_list(rec.tags.get("rua") or "", ",")
    if not rua:
        return [Outcome(Status.WARN, "no rua reporting URI")]
    return [Outcome(Status.PASS, f"rua: {listing([clip(u, 80) for u in rua])}")]


@check("dmarc.rua_authorized", title="External DMARC report destinations authorised",
       category="sender", reference="RFC 7489 7.1",
       remediation="Ask the report receiver to publish 'v=DMARC1' at "
                   "<domain>._report._dmarc.<their domain>, or report to your own domain.")
def dmarc_rua_authorized(ev: DomainEvidence):
    rec, problem = _one(ev)
    if problem:
        return [problem]
    dests = report_domains(rec.tags)
    if not dests:
        return [Outcome(Status.SKIPPED, "no mailto: report destinations")]
    own = org_domain(rec.source)
    external = sorted({dom for _, dom in dests if org_domain(dom) != own})
    if not external:
        return [Outcome(Status.PASS, "every report destination is within the organisational "
                                     f"domain {own}")]
    auths = {a.destination: a for a in ev.records.dmarc.authorisations}
    out = []
    for dest in external:
        auth = auths.get(dest)
        name = f"{rec.source}._report._dmarc.{dest}"
        if auth is None:
            out.append(Outcome(Status.ERROR, f"{name} was not looked up", subject=dest))
            continue
        out.append(_authorisation(auth, name, dest))
    return out


def _authorisation(auth, name: str, dest: str) -> Outcome:
    if locate(answered_records(auth.lookup), "DMARC1"):
        return Outcome(Status.PASS, f"authorised by {name}", subject=dest)
    if auth.wildcard is not None and locate(answered_records(auth.wildcard), "DMARC1"):
        return Outcome(Status.PASS, f"authorised by the wildcard {auth.wildcard.name}", subject=dest)
    for res in (auth.lookup, auth.wildcard):
        problem = unanswered(res) if res is not None else None
        if problem:
            return Outcome(Status.ERROR, problem.message, subject=dest)
    return Outcome(Status.FAIL, f"{dest} does not authorise reports: no v=DMARC1 record at {name}",
                   subject=dest)
