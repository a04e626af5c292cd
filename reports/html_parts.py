"""Pieces of a domain's details in report.html that many domains share, rendered once and
reused: the SMTP endpoints and DNSSEC answers of its evidence and the rows of its findings
table.

Why: most domains of a list share a few providers' MX hosts, so the same endpoints come back
domain after domain (a bench scan: 10,800 endpoint views, 1,224 distinct), and so do those
hosts' DNSSEC answers, the rows of their smtp.* findings and, on compact pages, the folded
"N checks: ..." rows (32,000 rows, about 9,000 distinct); each was rendered through Jinja2
again, every value escaped. With reports/evidence_view.py making one view per probe object,
each is now rendered once. The pieces of one kind are joined here, so the page template makes
one call per domain for them, not one per piece. (Finding rows that name the domain - most of
a full page's - are rendered once anyway: that layout gains little from their memo.)

Each piece is a macro of templates/_domain.html.j2 that reads nothing but its arguments, so
its HTML is a function of them, and the key is every value the macro reads: for an endpoint
its view (evidence_view.SmtpView, a named tuple of text and numbers); for a DNSSEC answer its
view (ValidationView, text) and ``compact``; for a finding row its fields as a tuple, its
catalogue entry by identity (held as long as the rows, so that identity cannot be reused) and
the page's ``compact``. Equal keys give the same bytes. What is reused is the macro's own
output, so hostile text still reaches the page only through autoescaping.
Each memo is bounded (scanner/bounded.py): a piece forgotten is rendered again. Finding rows
and DNSSEC answers are remembered when met a second time (``SecondSight``).
"""
from __future__ import annotations

from typing import Any

from markupsafe import Markup

from scanner.bounded import Bounded, HeldById, SecondSight

from .domain_view import FindingRow
from .evidence_view import SmtpView, ValidationView


class SharedParts:
    """The memoised piece macros of one template module (``details`` is handed one)."""

    def __init__(self, module: Any, limit: int = 2048) -> None:
        self._smtp_row, self._smtp_table = module.smtp_row, module.smtp_table
        self._finding_row, self._dnssec_row = module.finding_row, module.dnssec_row
        self._validations: Bounded = Bounded(limit)
        self._endpoints: Bounded = Bounded(limit)
        self._rows: Bounded = Bounded(limit)
        # the catalogue entries the row keys name by id, held so those ids stay their own
        self._specs = HeldById(limit)
        self._met = SecondSight(limit)    # hashes of row and DNSSEC keys met once

    def finding_rows(self, groups: list[tuple[str, list[FindingRow]]],
                     compact: bool) -> list[tuple[str, Markup]]:
        """(category title, the HTML of its rows) of a domain's findings table."""
        row = self._row
        return [(title, Markup("".join([row(f, compact) for f in rows])))
                for title, rows in groups]

    def _row(self, f: FindingRow, compact: bool) -> Markup:
        key = (f.check, id(f.spec), f.status, tuple(f.subjects), f.message, f.remediation,
               f.non_pass, tuple(f.checks), compact)
        html = self._rows.get(key)
        if html is not None and self._specs.get(f.spec) is not None:
            return html
        html = self._finding_row(f, compact)
        if not self._met.seen(hash(key)):
            return html
        self._specs.put(f.spec, True)
        return self._rows.keep(key, html)

    def endpoints(self, views: list[SmtpView], table: bool) -> Markup:
        """The domain's endpoints, joined: a compact page's rows, or (``table``) a full
        page's tables."""
        one = self._endpoint
        return Markup("".join([one(table, p) for p in views]))

    def dnssec_rows(self, views: list[ValidationView], compact: bool) -> Markup:
        """The rows of the domain's DNSSEC table, joined: the MX hosts' answers are the same
        for every domain they serve."""
        memo, out = self._validations, []
        for v in views:
            key = (v, compact)
            html = memo.get(key)
            if html is None:
                html = self._dnssec_row(v, compact)
                if self._met.seen(hash(key)):
                    memo.keep(key, html)
            out.append(html)
        return Markup("".join(out))

    def _endpoint(self, table: bool, p: SmtpView) -> Markup:
        key = (table, p)
        html = self._endpoints.get(key)
        if html is None:
            html = self._endpoints.keep(key, (self._smtp_table if table else self._smtp_row)(p))
        return html
