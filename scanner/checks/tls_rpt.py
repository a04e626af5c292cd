"""Checks: SMTP TLS Reporting (RFC 8460 3): one ``v=TLSRPTv1; rua=...`` record at _smtp._tls."""
from __future__ import annotations

import re

from scanner.evidence import DomainEvidence
from scanner.registry import check
from scanner.parsers.tagvalue import clip, parse, split_list
from scanner.checks._policy import listing, single_record, versioned_records

_URI = re.compile(r"(mailto:[^@\s,]+@[A-Za-z0-9.\-_]+|https://[^\s,]+)\Z", re.I)


def record_errors(record: str) -> list[str]:
    tags = parse(record)
    errors = list(tags.errors) + [f"duplicate tag {d}" for d in tags.duplicates]
    if tags.first != "v" or tags.get("v") != "TLSRPTv1":
        errors.append("must start with v=TLSRPTv1")
    rua = tags.get("rua")
    if rua is None:
        errors.append("missing rua")
        return errors
    uris = split_list(rua, ",")
    if not uris:
        errors.append("empty rua")
    bad = [u for u in uris if not _URI.match(u)]
    if bad:
        errors.append(f"rua URI(s) not mailto:/https: {listing([clip(b, 60) for b in bad], 4)}")
    return errors


@check("tls_rpt.record", title="SMTP TLS reporting record", category="policy",
       reference="RFC 8460 3",
       remediation="Publish a TXT record at _smtp._tls.<domain>: "
                   "'v=TLSRPTv1; rua=mailto:tls-reports@<domain>'.")
def tls_rpt_record(ev: DomainEvidence):
    _, records, problem = versioned_records(ev, "tls_rpt", "TLSRPTv1")
    return [problem or single_record(records, "TLSRPTv1", f"_smtp._tls.{ev.domain}",
                                     record_errors)]
