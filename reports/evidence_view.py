"""The evidence section of a domain's details in report.html: what was collected, as plain
values for the template (reports/html.py renders them, autoescaped).

The values are named tuples rather than dicts: the template reads each field as an attribute,
which Jinja2 resolves directly on an object but only after a failed attribute lookup (an
exception) on a dict, several hundred times per domain; and a named tuple is the cheapest
record to make (a frozen dataclass costs several times more per instance).

Read defensively: a part of the evidence that is missing, or shaped differently by a newer
collector or an older store, renders nothing rather than breaking the report. Long texts
from DNS and servers are clipped here (all of it stays in results.jsonl).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from scanner.bounded import HeldById

CLIP_RECORD, CLIP_BODY, TRANSCRIPT_LINES, CLIP_LINE = 600, 800, 14, 160


class AddressView(NamedTuple):
    ip: str
    public: bool
    probed: bool
    ptr: str                    # "PTR name (forward-confirmed)", "PTR a, b", "PTR nxdomain"; ""


class MxHostView(NamedTuple):
    pref: int
    name: str
    addresses: list[AddressView]


class CertView(NamedTuple):
    """The leaf certificate an endpoint presented, and whether its chain was trusted."""
    subject: str
    issuer: str
    names: str
    validity: str               # "not_before to not_after"
    key: str
    signature: str
    sha256: str
    trusted: str                # "yes", "unknown", "no (why)"
    chain: int


class SmtpView(NamedTuple):
    """One SMTP endpoint. Compact pages show a one-line certificate (``cert_line``) and no
    greeting or transcript; full pages show ``cert`` and the transcript's first lines."""
    endpoint: str
    role: str
    greeting: str
    failure: str
    tls: str
    legacy: str
    weak: str
    auth_before: str
    auth_after: str
    cert: CertView | None
    transcript: str
    cert_line: str = ""


class ValidationView(NamedTuple):
    """One DNSSEC-validated answer: its state and outcome, chain of trust and reason."""
    what: str
    state: str
    outcome: str
    chain: str
    detail: str
    resolver: str


class TlsaRecordView(NamedTuple):
    text: str
    kind: str
    unusable: str
    matched: list[str]          # "ip: leaf (subject)" for each presented certificate it matched


class DaneView(NamedTuple):
    """One MX host's TLSA records, what each matched, the dane.tlsa verdict, and the record to
    publish when there is none (or none that matches)."""
    host: str
    name: str
    state: str
    outcome: str
    records: list[TlsaRecordView]
    status: str
    message: str
    suggest: str


class DnssecView(NamedTuple):
    rows: list[ValidationView]
    dane: list[DaneView]
    anchors: str
    at: str


def clip(text: object, limit: int) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= limit else f"{text[:limit - 1]}… ({len(text)} characters)"


def _records(result: Any) -> list[str]:
    return [clip(t, CLIP_RECORD) for t in getattr(result, "records", ()) or ()]


def _lookup_line(result: Any) -> str:
    """The records of a lookup, or what went wrong ('nodata', 'servfail (...)')."""
    if result is None:
        return ""
    recs = _records(result)
    if recs and getattr(result, "ok", False):
        return "\n".join(recs)
    describe = getattr(result, "describe", None)
    return f"({describe()})" if describe else ""


def _mx_view(ev: Any) -> list[MxHostView]:
    mx = ev.mx
    if mx is None:
        return []
    if mx.null_mx:
        return [MxHostView(0, ". (null MX)", [])]
    hosts = []
    for h in mx.hosts:
        addrs = []
        for a in h.addresses:
            ptr = getattr(a, "ptr", None)
            ptr_text = ""
            if ptr is not None:
                ptr_text = (f"PTR {ptr.confirmed_name} (forward-confirmed)" if ptr.confirmed_name
                            else f"PTR {', '.join(ptr.lookup.records) or ptr.lookup.outcome}")
            addrs.append(AddressView(a.ip, a.public, a.probed, ptr_text))
        hosts.append(MxHostView(h.preference, h.name, addrs))
    return hosts


def _records_view(ev: Any, compact: bool = False) -> list[tuple[str, str]]:
    rec = ev.records
    if rec is None:
        return []
    out: list[tuple[str, str]] = []
    spf = getattr(rec, "spf", None)
    if spf is not None and spf.nodes:
        text = "\n".join(clip(t, CLIP_RECORD) for t in spf.root.records) or "(no v=spf1 record)"
        out.append((f"SPF ({spf.lookups} DNS lookups, {spf.void_lookups} void"
                    f"{', walk truncated' if spf.truncated else ''})", text))
    dmarc = getattr(rec, "dmarc", None)
    if dmarc is not None:
        own = _lookup_line(dmarc.lookup)
        out.append((f"DMARC _dmarc.{ev.domain}", own))
        if dmarc.org_lookup is not None and not dmarc.lookup.records:
            out.append((f"DMARC _dmarc.{dmarc.org_domain} (organisational domain)",
                        _lookup_line(dmarc.org_lookup)))
    dkim = getattr(rec, "dkim", None)
    if dkim is not None:
        found = [(p.selector, _lookup_line(p.lookup)) for p in dkim.probes if p.lookup.ok]
        tried = ", ".join(p.selector for p in dkim.probes)
        for sel, text in found:
            out.append((f"DKIM {sel}._domainkey", clip(text, 120) if compact else text))
        if not found:
            out.append(("DKIM", f"(no key record at the selectors tried: {clip(tried, 300)})"))
    sts = getattr(rec, "mta_sts", None)
    if sts is not None:
        out.append((f"MTA-STS _mta-sts.{ev.domain}", _lookup_line(sts.txt)))
        f = sts.fetch
        if f is not None:
            head = f"GET {f.url} -> " + (f"HTTP {f.status} {f.content_type}" if f.status
                                         else f"{f.error_class}: {f.error}")
            out.append(("MTA-STS policy", head + ("\n" + clip(f.body, CLIP_BODY) if f.body else "")))
    for label, res in (("TLS-RPT _smtp._tls", getattr(rec, "tls_rpt", None)),
                       ("BIMI default._bimi", getattr(rec, "bimi", None))):
        if res is not None:
            out.append((label, _lookup_line(res)))
    for family, why in (getattr(rec, "errors", None) or {}).items():
        out.append((f"{family} (not collected)", clip(why, 300)))
    return out


def _cert_view(chain: Any, trusted: Any, trust_error: str) -> CertView | None:
    if not chain:
        return None
    leaf = chain[0]
    names = ", ".join(leaf.dns_names) or leaf.common_name
    return CertView(subject=clip(leaf.subject, 300), issuer=clip(leaf.issuer, 300),
                    names=clip(names, 300), validity=f"{leaf.not_before} to {leaf.not_after}",
                    key=f"{leaf.key_type} {leaf.key_bits} bits".strip(),
                    signature=leaf.signature_algorithm, sha256=leaf.sha256,
                    trusted="yes" if trusted else ("unknown" if trusted is None else
                                                   f"no ({clip(trust_error, 200)})"),
                    chain=len(chain))


def _cert_line(cert: CertView | None) -> str:
    """The certificate in one line, for compact pages: names, key, end of validity, trust."""
    if cert is None:
        return ""
    return (f"{cert.names}, {cert.key}, until {cert.validity.split(' to ')[-1]}, "
            f"trusted: {cert.trusted}")


def _transcript(lines: Any) -> str:
    """The first TRANSCRIPT_LINES lines of a session, each clipped, and how many more."""
    shown = list(lines[:TRANSCRIPT_LINES])
    more = len(lines) - len(shown)
    return ("\n".join(clip(x, CLIP_LINE) for x in shown)
            + (f"\n… ({more} more lines)" if more > 0 else ""))


class _ProbeViews:
    """The SmtpView of a probe object, made once while remembered: domains that share an MX
    host are handed the same probe object (the scan's collector, the store's decoder), so its
    view - and report.html's rendering of it (reports/html_parts.py), keyed by the view - is
    made once (``HeldById``: by identity, the probe held; bounded)."""

    def __init__(self, limit: int = 1024) -> None:
        self._views = (HeldById(limit), HeldById(limit))    # full, compact

    def of(self, p: Any, compact: bool) -> SmtpView:
        views = self._views[compact]
        view = views.get(p)
        return view if view is not None else views.put(p, _probe_view(p, compact))


_PROBE_VIEWS = _ProbeViews()


def _smtp_view(ev: Any, compact: bool = False) -> list[SmtpView]:
    of = _PROBE_VIEWS.of
    return [of(p, compact) for p in ev.smtp or ()]


def _probe_view(p: Any, compact: bool) -> SmtpView:
    """One probe's view (a pure function of the probe)."""
    tls = p.tls
    legacy, weak = p.legacy, p.weak_cipher
    chain = tls.chain if tls is not None and tls.chain else (legacy.chain if legacy else ())
    trusted = tls.trusted if tls is not None and tls.chain else (legacy.trusted if legacy else None)
    trust_error = (tls.trust_error if tls is not None and tls.chain
                   else legacy.trust_error if legacy else "")
    cert = _cert_view(chain, trusted, trust_error)
    return SmtpView(
        endpoint=f"{p.host} [{p.ip}]:{p.port}", role=p.role,
        greeting="" if compact else clip(p.greeting, CLIP_LINE),
        failure=f"{p.failure}: {clip(p.error, 200)}" if p.failure else "",
        tls=(f"{tls.version} {tls.cipher}" if tls is not None and tls.completed
             else f"handshake failed: {clip(tls.error, 200)}" if tls is not None else ""),
        legacy=_attempt(legacy), weak=_attempt(weak),
        auth_before=" ".join(p.auth_before_tls), auth_after=" ".join(p.auth_after_tls),
        cert=None if compact else cert,
        transcript="" if compact else _transcript(p.transcript),
        cert_line=_cert_line(cert) if compact else "")


def _attempt(a: Any) -> str:
    if a is None:
        return ""
    got = f" {a.version} {a.cipher}".rstrip() if str(a.outcome) == "accepted" else ""
    detail = f" ({clip(a.detail, 160)})" if a.detail else ""
    return f"{a.outcome}{got}{detail}"


def _validation_row(what: str, v: Any) -> ValidationView:
    return ValidationView(what=what, state=str(v.state), outcome=str(v.outcome),
                          chain=" > ".join(v.chain), detail=clip(v.detail, 400),
                          resolver=("rejected it (SERVFAIL without CD)" if v.resolver_rejected
                                    else "validated it (AD)" if v.resolver_ad else ""))


def _dnssec_view(ev: Any, compact: bool = False) -> DnssecView | None:
    """The DNSSEC state of the domain and of each MX host (chain, reason), and the DANE
    view: each TLSA record and which certificate it matched at which address."""
    from scanner.checks._dane import dane_hosts, presented_chain, record_matches, record_text, \
        suggested_record, unusable
    d = ev.dnssec
    if d is None:
        return None
    rows = [_validation_row(f"MX {ev.domain}", d.domain)]
    for h in d.hosts:
        rows += [_validation_row(f"{v.rdtype} {h.host}", v) for v in h.validations]
    verdicts = dane_hosts(ev)
    dane = []
    for h in d.hosts:
        if h.tlsa is None:
            continue
        verdict = verdicts.get(h.host)
        probes = [p for p in ev.smtp or () if p.host == h.host and p.role == "smtp"]
        records = []
        for rec in h.tlsa.records:
            where = []
            for p in probes:
                for depth, cert in enumerate(presented_chain(p)):
                    if record_matches(rec, cert):
                        where.append(f"{p.ip}: {'leaf' if depth == 0 else f'certificate {depth}'} "
                                     f"({clip(cert.subject, 120)})")
            records.append(TlsaRecordView(text=clip(rec.text(), 200 if compact else 400),
                                          kind=record_text(rec), unusable=unusable(rec),
                                          matched=where))
        suggest = ""
        if verdict is not None and verdict.status.value in ("fail", "info") and h.state.value == "secure":
            suggest = suggested_record(h.tlsa.name, probes[0] if probes else None)
        dane.append(DaneView(host=h.host, name=h.tlsa.name, state=str(h.tlsa.validation.state),
                             outcome=str(h.tlsa.validation.outcome), records=records,
                             status=verdict.status.value if verdict else "",
                             message=clip(verdict.message, 400) if verdict else "",
                             suggest=suggest))
    return DnssecView(rows=rows, dane=dane, anchors=", ".join(d.anchors), at=d.validated_at)


_SECTIONS: dict[str, Callable[[Any, bool], Any]] = {
    "mx": lambda ev, compact: _mx_view(ev), "records": _records_view,
    "dnssec": _dnssec_view, "smtp": _smtp_view,
}


def evidence_view(ev: Any, *, compact: bool = False) -> dict[str, Any]:
    """Section -> plain values for the template; a section that cannot be read is left out."""
    out = {}
    for name, fn in _SECTIONS.items():
        try:
            value = fn(ev, compact)
        except Exception:   # evidence of another shape (older store, newer collector)
            continue
        if value:
            out[name] = value
    return out
