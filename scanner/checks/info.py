"""Checks: informational records (BIMI, RFC 6186 submission SRV). Facts only, no judgement."""
from __future__ import annotations

from scanner.evidence import DomainEvidence
from scanner.findings import Status
from scanner.registry import Outcome, check
from scanner.parsers.tagvalue import clip, parse
from scanner.checks._policy import listing, versioned_records
from scanner.derived import answered_records, family, unanswered


@check("bimi.record", title="BIMI record", category="info", reference="BIMI draft")
def bimi_record(ev: DomainEvidence):
    _, records, problem = versioned_records(ev, "bimi", "BIMI1")
    if problem:
        return [problem]
    if not records:
        return [Outcome(Status.INFO, f"no BIMI record at default._bimi.{ev.domain}")]
    tags = parse(records[0])
    logo = tags.get("l") or ""
    authority = tags.get("a") or ""
    parts = [f"logo: {clip(logo, 120) or 'none'}", f"authority: {clip(authority, 120) or 'none'}"]
    if len(records) > 1:
        parts.append(f"{len(records)} records published")
    if not tags.valid:
        parts.append("malformed: " + listing(list(tags.errors) + list(tags.duplicates), 3))
    return [Outcome(Status.INFO, "; ".join(parts))]


def _srv_targets(records: tuple[str, ...]) -> list[str]:
    out = []
    for rec in records:
        fields = rec.split()
        if len(fields) == 4:
            prio, weight, port, target = fields
            target = target.rstrip(".") or "."
            out.append("service not offered (target '.')" if target == "."
                       else f"{target}:{port} (priority {prio}, weight {weight})")
        else:
            out.append(clip(rec, 80))
    return out


@check("submission.srv", title="Mail submission SRV records", category="info",
       reference="RFC 6186")
def submission_srv(ev: DomainEvidence):
    results, problem = family(ev, "submission_srv")
    if problem:
        return [problem]
    out = []
    for res in results:
        problem = unanswered(res)
        if problem:
            out.append(Outcome(Status.ERROR, problem.message, subject=res.name))
            continue
        targets = _srv_targets(answered_records(res))
        text = listing(targets) if targets else "no SRV record"
        out.append(Outcome(Status.INFO, text, subject=res.name))
    return out
