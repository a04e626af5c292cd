"""reports/html_parts.py and the probe-view memo of reports/evidence_view.py: a shared piece of
a domain's details is the bytes its macro renders for that domain, hostile text escaped; the
memos are bounded and keyed so that different evidence never shares a piece."""
from __future__ import annotations

from dataclasses import replace

import pytest
from markupsafe import Markup

from reports import evidence_view as evv
from reports.domain_view import domain_context
from reports.evidence_view import _ProbeViews, _probe_view, evidence_view
from reports.html import HtmlSpool
from reports.html_parts import SharedParts
from scanner.api import get_profile
from scanner.explain import explain
from tests.browser.synthetic import HOSTILE, results

PROFILE = get_profile("bod-18-01")


class Unshared:
    """The parts without a memo: each piece rendered by its macro every time."""

    def __init__(self, module) -> None:
        self.smtp_row, self.smtp_table = module.smtp_row, module.smtp_table
        self.row, self.dnssec_row = module.finding_row, module.dnssec_row

    def endpoints(self, views, table):
        one = self.smtp_table if table else self.smtp_row
        return Markup("".join(one(p) for p in views))

    def dnssec_rows(self, views, compact):
        return Markup("".join(self.dnssec_row(v, compact) for v in views))

    def finding_rows(self, groups, compact):
        return [(title, Markup("".join(self.row(f, compact) for f in rows)))
                for title, rows in groups]


def details(spool: HtmlSpool, rs, parts, compact: bool) -> list[str]:
    out = []
    for r in rs:
        ctx = domain_context(r, spool.specs, PROFILE, compact=compact)
        ctx.rating = explain(r, PROFILE)
        out.append(spool.domain.details(r, ctx, None, compact, parts))
    return out


@pytest.mark.parametrize("compact", [False, True])
@pytest.mark.parametrize("hostile", [False, True])
def test_shared_pieces_are_the_bytes_rendered_in_place(compact, hostile):
    rs = list(results(12, PROFILE, hostile=hostile))
    with HtmlSpool({}, PROFILE, compact=compact) as spool:
        plain = details(spool, rs, Unshared(spool.domain), compact)
        parts = SharedParts(spool.domain, limit=3)         # emptied often on the way
        assert details(spool, rs, parts, compact) == plain
        assert details(spool, rs, parts, compact) == plain  # every piece remembered now
        assert len(parts._endpoints) <= 3 and len(parts._rows) <= 3
        assert len(parts._validations) <= 3
    page = "".join(plain)
    assert "SMTP" in page
    if hostile:
        assert HOSTILE not in page and "&lt;script&gt;alert(&#39;pwn&#39;)" in page


def test_a_piece_is_the_macro_output_keyed_by_the_whole_view():
    r = next(iter(results(1, PROFILE, hostile=True)))
    with HtmlSpool({}, PROFILE, compact=False) as spool:
        parts = SharedParts(spool.domain)
        for view in evidence_view(r.evidence)["smtp"]:
            table = parts._endpoint(True, view)
            assert isinstance(table, Markup) and table == spool.domain.smtp_table(view)
            assert parts._endpoint(True, view) is table
            assert parts.endpoints([view], True) == table
            assert parts._endpoint(False, view) == spool.domain.smtp_row(view) != table
            other = view._replace(greeting=view.greeting + "<b>")
            assert parts._endpoint(True, other) == spool.domain.smtp_table(other) != table
            assert "&lt;b&gt;" in parts._endpoint(True, other)


def test_probe_views_by_object_bounded():
    probes = [p for r in results(6, PROFILE) for p in r.evidence.smtp]
    views = _ProbeViews(limit=4)
    for p in probes + probes:
        for compact in (False, True):
            assert views.of(p, compact) == _probe_view(p, compact)
            assert all(len(by) <= 4 for by in views._views)
    p = probes[0]
    twin = replace(p)                          # equal content, another object: its own entry
    assert views.of(p, False) is views.of(p, False)
    assert views.of(twin, False) == views.of(p, False)
    assert any(held is twin for held in views._views[False].held())   # held: its id its own


def test_the_view_of_a_domain_is_made_of_its_own_probes():
    rs = list(results(5, PROFILE))
    for r in rs:
        assert evv._smtp_view(r.evidence, True) == [_probe_view(p, True) for p in r.evidence.smtp]
        assert evv._smtp_view(r.evidence) == [_probe_view(p, False) for p in r.evidence.smtp]


def test_status_text_is_each_status_word():
    from scanner.findings import TEXT, Status
    assert TEXT == {s: s.value for s in Status} and all(TEXT[s] == str(s) for s in Status)


def test_grouping_follows_the_catalogue_it_is_given():
    from reports.domain_view import group_findings
    from scanner.checks import all_checks
    from scanner.findings import Finding, Status
    specs = all_checks()
    a, b = list(specs)[:2]
    fs = [Finding(b, "x", Status.FAIL, "m"), Finding(a, "x", Status.FAIL, "m")]
    first = group_findings(fs, specs)
    assert [r.check for r in first[0][1]][:2] == [a, b]
    swapped = {b: specs[b], a: specs[a], **{k: v for k, v in specs.items() if k not in (a, b)}}
    assert [r.check for r in group_findings(fs, swapped)[0][1]][:2] == [b, a]
    assert group_findings(fs, specs) == first


def test_a_finding_row_is_keyed_by_everything_its_macro_reads():
    from reports.domain_view import FindingRow
    from scanner.checks import all_checks
    specs = all_checks()
    spec = next(iter(specs.values()))
    base = FindingRow(spec.id, spec, "fail", ["a.example"], f"m {HOSTILE}", spec.remediation,
                      True)
    with HtmlSpool({}, PROFILE, compact=False) as spool:
        parts = SharedParts(spool.domain)
        variants = [base, base._replace(subjects=["a.example", "b"]),
                    base._replace(message="other"), base._replace(remediation="r"),
                    base._replace(non_pass=False), base._replace(status="warn"),
                    base._replace(spec=None), base._replace(spec=spec._replace(title="t"))
                    if hasattr(spec, "_replace") else base._replace(spec=replace(spec, title="t")),
                    FindingRow("", None, "pass", [], "", checks=["a", "b"]),
                    FindingRow("", None, "pass", [], "", checks=["a"])]
        for compact in (False, True):
            for row in variants + variants:
                [(_, html)] = parts.finding_rows([("t", [row])], compact)
                assert html == spool.domain.finding_row(row, compact)
                assert HOSTILE not in html


def test_dnssec_rows_are_the_macro_output_per_view():
    from reports.evidence_view import ValidationView
    v = ValidationView(f"A mx.{HOSTILE}", "indeterminate", "ok", "", f"why {HOSTILE}", "")
    variants = [v, v._replace(state="secure"), v._replace(chain=". > test"),
                v._replace(resolver="validated it (AD)"), v._replace(detail="other")]
    with HtmlSpool({}, PROFILE, compact=False) as spool:
        parts = SharedParts(spool.domain, limit=2)
        for compact in (False, True):
            for views in (variants, variants[::-1], []):
                html = parts.dnssec_rows(views, compact)
                assert html == "".join(spool.domain.dnssec_row(x, compact) for x in views)
                assert HOSTILE not in html
