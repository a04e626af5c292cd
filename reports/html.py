"""report.html: one self-contained, autoescaped file rendered from templates/ with Jinja2.

Streaming with constant memory: the domain table comes before the per-domain details in the
document, but both are made from one pass over the results, so each domain's table row and
details are rendered as it streams by into two spool files, and the page is then assembled
from head + table spool + details spool. The summary (and so the charts) was computed in
the tabular pass before.

Everything from DNS or a server is hostile: it reaches the page only through Jinja2's
autoescaping (or ``html.escape`` in charts.py), and a Content-Security-Policy forbids every
fetch, so even an escaping bug could not load anything. The evidence shown per domain is read
defensively (``evidence_view``): a part of the evidence that is missing, or shaped differently
by a newer collector, renders nothing rather than breaking the report.
"""
from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

import jinja2
from markupsafe import Markup

from scanner import rating
from scanner.explain import explain, grade_class
from scanner.findings import SEVERITY, Finding, Status
from scanner.profiles import Profile
from scanner.checks import all_checks
from scanner.registry import CATEGORY_TITLES
from scanner.result import DomainResult

from . import charts
from .badges import badge, grade_badge, verdict_badge
from .files import FileSet
from .summary import Summary, domain_groups, verdict_state

COLLAPSED = (Status.PASS, Status.SKIPPED)   # shown one row per check, subjects listed
# Above this many domains the details are compact: non-pass findings in full (remediation,
# reference), passing/skipped checks one row per category, evidence without transcripts and
# certificate detail (all of it stays in results.jsonl and findings.csv). Measured by
# bench/report_size.py: full detail costs ~25 KB per domain, compact ~4 KB.
FULL_DETAIL_LIMIT = 1000
# Above this many, per-domain details are left out of the HTML altogether (a 100,000-domain
# scan made a 658 MB page): the summary and the domain table stay; every finding is in
# findings.csv and all evidence in results.jsonl.
DETAIL_LIMIT = 20_000
CLIP_RECORD, CLIP_BODY, TRANSCRIPT_LINES, CLIP_LINE = 600, 800, 14, 160
CHUNK = 1 << 16


def template_dir() -> Path:
    """Installed wheels carry the templates as reports/templates; a source tree has ./templates."""
    packaged = Path(str(resources.files("reports"))) / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "templates"


def paper_stylesheet() -> str:
    """templates/paper.css: the paged layout of report.pdf, added to the page for paper."""
    return (template_dir() / "paper.css").read_text(encoding="utf-8")


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(template_dir())),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["worst_first"] = _worst_first
    env.globals["grade_rank"] = rating.grade_rank
    env.globals["grade_class"] = grade_class
    env.globals.update(badge=badge, grade_badge=grade_badge, verdict_badge=verdict_badge)
    return env


def _worst_first(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: -SEVERITY[f.status])


class HtmlSpool:
    """report.html built from results added one at a time: each domain's table row and
    details go to two spool files as it streams by (``write_reports`` feeds it from the same
    pass as the tabular files, so each stored result is decoded once)."""

    def __init__(self, meta: dict, profile: Profile, trend: object = None, *, compact: bool,
                 details: bool = True, paper: bool = False) -> None:
        self.env = environment()
        self.specs = all_checks()
        self.meta, self.trend, self.compact = meta, trend, compact
        self.with_details = details
        self.profile = profile
        self.domain = self.env.get_template("_domain.html.j2").module
        self.rows = tempfile.TemporaryFile("w+", encoding="utf-8")
        self.details = tempfile.TemporaryFile("w+", encoding="utf-8")
        # report.pdf's per-domain sections, compact whatever the page's layout (reports/pdf.py)
        self.paper = tempfile.TemporaryFile("w+", encoding="utf-8") if paper else None

    def __enter__(self) -> "HtmlSpool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.rows.close()
        self.details.close()
        if self.paper is not None:
            self.paper.close()

    def add(self, r: DomainResult) -> None:
        ctx = domain_context(r, self.specs, self.profile, compact=self.compact)
        self.rows.write(self.domain.row(r, ctx))
        if self.with_details or self.paper is not None:
            ctx["rating"] = explain(r, self.profile)
        if self.with_details:
            self.details.write(self.domain.details(r, ctx, self.trend, self.compact))
        if self.paper is not None:
            on_paper = ctx if self.compact else dict(
                domain_context(r, self.specs, self.profile, compact=True), rating=ctx["rating"])
            self.paper.write(self.domain.details(r, on_paper, self.trend, True))

    def finish(self, files: FileSet, out: Path, summary: Summary, diff: object = None) -> None:
        """report.html, whole, into ``files`` (committed with the rest of the set)."""
        with files.text(out / "report.html") as fh:
            for chunk in self._generate(summary, diff, compact=self.compact,
                                        with_details=self.with_details, details=self.details):
                fh.write(chunk)

    def print_pdf(self, files: FileSet, out: Path, summary: Summary, diff: object = None) -> None:
        """report.pdf into ``files``: the same page for paper (reports/pdf.py's limits)."""
        from . import pdf

        with tempfile.TemporaryFile("w+", encoding="utf-8") as page:
            for chunk in self._generate(
                    summary, diff, compact=True, paper=True, details=self.paper,
                    with_details=self.paper is not None and summary.domains <= pdf.DETAIL_LIMIT,
                    with_table=summary.domains <= pdf.TABLE_LIMIT):
                page.write(chunk)
            with files.binary(out / "report.pdf") as fh:
                pdf.write_pdf(page, fh)

    def _generate(self, summary: Summary, diff: object, *, compact: bool, with_details: bool,
                  details: TextIO | None, paper: bool = False,
                  with_table: bool = True) -> Iterator[str]:
        page = self.env.get_template("report.html.j2")
        drawn = summary_charts(summary, self.specs)
        if paper:
            drawn = {name: charts.for_paper(chart) for name, chart in drawn.items()}
        return page.generate(
            summary=summary, meta=self.meta, diff=diff, trend=self.trend, profile=self.profile,
            charts=drawn, specs=self.specs,
            group_titles=_group_titles(), compact=compact, with_details=with_details,
            rating=rating, paper=paper, with_table=with_table,
            paper_css=Markup(paper_stylesheet()) if paper else "",
            table_rows=_spool(self.rows) if with_table else iter(()),
            domain_details=_spool(details) if with_details and details is not None else iter(()))


def _spool(fh: TextIO) -> Iterator[Markup]:
    """Already-escaped HTML back from a spool file, in chunks."""
    fh.seek(0)
    while chunk := fh.read(CHUNK):
        yield Markup(chunk)


def _group_titles() -> dict[str, str]:
    from scanner.verdict import GROUP_TITLES

    return GROUP_TITLES


# ------------------------------------------------------------------------ summary charts
def summary_charts(summary: Summary, specs: dict) -> dict[str, Markup]:
    out = {"verdicts": charts.stacked_bar(
        [("compliant", summary.compliant, "c-pass"),
         ("not compliant", summary.not_compliant, "c-fail"),
         ("could not test", summary.undetermined, "c-error")], "Domains by verdict")}
    failing = summary.failing_checks()[:15]
    if failing:
        rows = [(c, [(fails, "c-fail", "fail"), (errors, "c-error", "could not test")])
                for c, fails, errors in failing]
        out["failing"] = charts.horizontal_bars(rows, "Domains failing each check (top 15)",
                                                scale=max(summary.domains, 1))
    if summary.domains - summary.invalid:
        out["scores"] = charts.histogram(summary.score_buckets(), "Domains by score")
    if summary.domains:
        out["grades"] = charts.histogram(summary.grade_buckets(), "Domains by grade", what="grade")
    return out


# ----------------------------------------------------------------------- per-domain view
def domain_context(r: DomainResult, specs: dict, profile: Profile, *,
                   compact: bool = False) -> dict[str, Any]:
    """What the _domain template shows for one result, precomputed in Python."""
    from scanner.findings import domain_statuses
    from scanner.verdict import not_tested, unmet

    statuses = domain_statuses(r.findings)
    counts = {s.value: 0 for s in Status}
    for s in statuses.values():
        counts[s.value] += 1
    return {
        "state": verdict_state(r),
        "counts": counts,                         # checks (domain level) per status
        "not_tested": not_tested(r.findings),
        "unmet": unmet(r.verdict, profile),
        "scores": ({g: round(v) for g, v in domain_groups(r, profile).items()}
                   if r.evidence.valid else {}),
        "groups": group_findings(r.findings, specs, compact=compact),
        "evidence": evidence_view(r.evidence, compact=compact),
        "network": network_notes(r.evidence),
    }


def network_notes(ev: Any) -> list[str]:
    """What the scanning host's own network (env.* notes) or a throttling MX host kept from
    being tested for this domain, said next to it: those endpoints are `skipped` or `error`,
    never scored. Read defensively, like the evidence view."""
    try:
        probes = tuple(ev.smtp or ())
        held: dict[str, list] = {}
        explained: dict[str, int] = {}
        lines = []
        for p in probes:
            note = getattr(p, "environment", "")
            if note and not p.connections:
                held.setdefault(note, []).append(p)
            elif note:
                explained[note] = explained.get(note, 0) + 1
        for note, ps in held.items():
            lines.append(f"{len(ps)} endpoint(s) not probed because of the scanning host's "
                         f"network ({note}: {_clip(ps[0].error, 160)}); not scored, the verdict "
                         "rests on what was probed and the grade says what that leaves open")
        for note, n in explained.items():
            lines.append(f"{n} port-25 connection timeout(s) put down to the scanning host's "
                         f"network ({note}); could not be tested, not scored")
        for p in probes:
            if getattr(p, "transient", ""):
                how = (f"redone after {p.retried_after:g}s" if p.retried_after is not None
                       else "not redone (no time left)")
                lines.append(f"{p.host} [{p.ip}]:{p.port} refused transiently "
                             f"({_clip(p.transient, 160)}); the probe was {how}")
        return lines
    except Exception:   # evidence of another shape
        return []


def group_findings(findings: Iterable[Finding], specs: dict, *,
                   compact: bool = False) -> list[tuple[str, list[dict]]]:
    """[(category title, rows)], categories in catalogue order, checks in catalogue order,
    worst first within a check. Subjects of a check with the same status and text share one
    row (passing ones whatever their text); when ``compact``, all passing (skipped) checks of
    a category share one row."""
    by_check: dict[str, list[Finding]] = {}
    for f in findings:
        by_check.setdefault(f.check, []).append(f)
    order = {cid: i for i, cid in enumerate(specs)}
    cats: dict[str, list[dict]] = {}
    for cid in sorted(by_check, key=lambda c: order.get(c, len(order))):
        spec = specs.get(cid)
        cat = spec.category if spec else "info"
        rows = cats.setdefault(cat, [])
        items = _worst_first(by_check[cid])
        same_text: dict[tuple, list[str]] = {}   # one row per (status, message, remediation)
        for f in (f for f in items if f.status not in COLLAPSED):
            same_text.setdefault((f.status.value, f.message, f.remediation), []).append(f.subject)
        for (status, message, remediation), subjects in same_text.items():
            rows.append({"check": cid, "spec": spec, "status": status, "subjects": subjects,
                         "message": message, "remediation": remediation, "non_pass": True})
        for status in COLLAPSED:
            same = [f for f in items if f.status is status]
            if same:
                messages = list(dict.fromkeys(f.message for f in same))
                rows.append({"check": cid, "spec": spec, "status": status.value,
                             "subjects": [f.subject for f in same],
                             "message": " · ".join(messages) if len(messages) <= 3 else
                             f"{len(messages)} different messages (each in findings.csv)",
                             "remediation": "", "non_pass": status is not Status.PASS})
    if compact:
        cats = {c: _compact(rows) for c, rows in cats.items()}
    known = [c for c in CATEGORY_TITLES if c in cats] + [c for c in cats if c not in CATEGORY_TITLES]
    return [(CATEGORY_TITLES.get(c, c), cats[c]) for c in known]


def _compact(rows: list[dict]) -> list[dict]:
    """Non-pass rows as they are; pass, info and skipped checks one row per status (the
    facts of info findings - AUTH mechanisms, BIMI - are in the evidence section)."""
    out = [r for r in rows if r["status"] not in ("pass", "info", "skipped")]
    for status in ("pass", "info", "skipped"):
        checks = [r["check"] for r in rows if r["status"] == status]
        if checks:
            out.append({"check": "", "checks": checks, "spec": None, "status": status,
                        "subjects": [], "message": "", "remediation": "", "non_pass": False})
    return out


def _clip(text: object, limit: int) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= limit else f"{text[:limit - 1]}… ({len(text)} characters)"


def _records(result: Any) -> list[str]:
    return [_clip(t, CLIP_RECORD) for t in getattr(result, "records", ()) or ()]


def _lookup_line(result: Any) -> str:
    """The records of a lookup, or what went wrong ('nodata', 'servfail (...)')."""
    if result is None:
        return ""
    recs = _records(result)
    if recs and getattr(result, "ok", False):
        return "\n".join(recs)
    describe = getattr(result, "describe", None)
    return f"({describe()})" if describe else ""


def _mx_view(ev: Any) -> list[dict]:
    mx = ev.mx
    if mx is None:
        return []
    if mx.null_mx:
        return [{"pref": 0, "name": ". (null MX)", "addresses": []}]
    hosts = []
    for h in mx.hosts:
        addrs = []
        for a in h.addresses:
            ptr = getattr(a, "ptr", None)
            ptr_text = ""
            if ptr is not None:
                ptr_text = (f"PTR {ptr.confirmed_name} (forward-confirmed)" if ptr.confirmed_name
                            else f"PTR {', '.join(ptr.lookup.records) or ptr.lookup.outcome}")
            addrs.append({"ip": a.ip, "public": a.public, "probed": a.probed, "ptr": ptr_text})
        hosts.append({"pref": h.preference, "name": h.name, "addresses": addrs})
    return hosts


def _records_view(ev: Any, compact: bool = False) -> list[tuple[str, str]]:
    rec = ev.records
    if rec is None:
        return []
    out: list[tuple[str, str]] = []
    spf = getattr(rec, "spf", None)
    if spf is not None and spf.nodes:
        text = "\n".join(_clip(t, CLIP_RECORD) for t in spf.root.records) or "(no v=spf1 record)"
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
            out.append((f"DKIM {sel}._domainkey", _clip(text, 120) if compact else text))
        if not found:
            out.append(("DKIM", f"(no key record at the selectors tried: {_clip(tried, 300)})"))
    sts = getattr(rec, "mta_sts", None)
    if sts is not None:
        out.append((f"MTA-STS _mta-sts.{ev.domain}", _lookup_line(sts.txt)))
        f = sts.fetch
        if f is not None:
            head = f"GET {f.url} -> " + (f"HTTP {f.status} {f.content_type}" if f.status
                                         else f"{f.error_class}: {f.error}")
            out.append(("MTA-STS policy", head + ("\n" + _clip(f.body, CLIP_BODY) if f.body else "")))
    for label, res in (("TLS-RPT _smtp._tls", getattr(rec, "tls_rpt", None)),
                       ("BIMI default._bimi", getattr(rec, "bimi", None))):
        if res is not None:
            out.append((label, _lookup_line(res)))
    for family, why in (getattr(rec, "errors", None) or {}).items():
        out.append((f"{family} (not collected)", _clip(why, 300)))
    return out


def _cert_view(chain: Any, trusted: Any, trust_error: str) -> dict | None:
    if not chain:
        return None
    leaf = chain[0]
    names = ", ".join(leaf.dns_names) or leaf.common_name
    return {"subject": _clip(leaf.subject, 300), "issuer": _clip(leaf.issuer, 300),
            "names": _clip(names, 300), "validity": f"{leaf.not_before} to {leaf.not_after}",
            "key": f"{leaf.key_type} {leaf.key_bits} bits".strip(),
            "signature": leaf.signature_algorithm, "sha256": leaf.sha256,
            "trusted": "yes" if trusted else ("unknown" if trusted is None else
                                              f"no ({_clip(trust_error, 200)})"),
            "chain": len(chain)}


def _smtp_view(ev: Any, compact: bool = False) -> list[dict]:
    out = []
    for p in ev.smtp or ():
        tls = p.tls
        legacy, weak = p.legacy, p.weak_cipher
        chain = tls.chain if tls is not None and tls.chain else (legacy.chain if legacy else ())
        trusted = tls.trusted if tls is not None and tls.chain else (legacy.trusted if legacy else None)
        trust_error = (tls.trust_error if tls is not None and tls.chain
                       else legacy.trust_error if legacy else "")
        lines = list(p.transcript[:TRANSCRIPT_LINES])
        more = len(p.transcript) - len(lines)
        out.append({
            "endpoint": f"{p.host} [{p.ip}]:{p.port}", "role": p.role,
            "greeting": _clip(p.greeting, CLIP_LINE),
            "failure": f"{p.failure}: {_clip(p.error, 200)}" if p.failure else "",
            "tls": (f"{tls.version} {tls.cipher}" if tls is not None and tls.completed
                    else f"handshake failed: {_clip(tls.error, 200)}" if tls is not None else ""),
            "legacy": _attempt(legacy), "weak": _attempt(weak),
            "auth_before": " ".join(p.auth_before_tls), "auth_after": " ".join(p.auth_after_tls),
            "cert": _cert_view(chain, trusted, trust_error),
            "transcript": "\n".join(_clip(x, CLIP_LINE) for x in lines)
                          + (f"\n… ({more} more lines)" if more > 0 else ""),
        })
        if compact:
            cert = out[-1]["cert"]
            out[-1].update(transcript="", cert=None, greeting="", cert_line=(
                f"{cert['names']}, {cert['key']}, until {cert['validity'].split(' to ')[-1]}, "
                f"trusted: {cert['trusted']}" if cert else ""))
    return out


def _attempt(a: Any) -> str:
    if a is None:
        return ""
    got = f" {a.version} {a.cipher}".rstrip() if str(a.outcome) == "accepted" else ""
    detail = f" ({_clip(a.detail, 160)})" if a.detail else ""
    return f"{a.outcome}{got}{detail}"


def _validation_row(what: str, v: Any) -> dict:
    return {"what": what, "state": str(v.state), "outcome": str(v.outcome),
            "chain": " > ".join(v.chain), "detail": _clip(v.detail, 400),
            "resolver": ("rejected it (SERVFAIL without CD)" if v.resolver_rejected
                         else "validated it (AD)" if v.resolver_ad else "")}


def _dnssec_view(ev: Any, compact: bool = False) -> dict | None:
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
                                     f"({_clip(cert.subject, 120)})")
            records.append({"text": _clip(rec.text(), 200 if compact else 400),
                            "kind": record_text(rec), "unusable": unusable(rec),
                            "matched": where})
        suggest = ""
        if verdict is not None and verdict.status.value in ("fail", "info") and h.state.value == "secure":
            suggest = suggested_record(h.tlsa.name, probes[0] if probes else None)
        dane.append({"host": h.host, "name": h.tlsa.name, "state": str(h.tlsa.validation.state),
                     "outcome": str(h.tlsa.validation.outcome), "records": records,
                     "status": verdict.status.value if verdict else "",
                     "message": _clip(verdict.message, 400) if verdict else "",
                     "suggest": suggest})
    return {"rows": rows, "dane": dane, "anchors": ", ".join(d.anchors),
            "at": d.validated_at}


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
