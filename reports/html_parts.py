"""Pieces of a domain's details in report.html that many domains share, rendered once and
reused: the SMTP endpoints of its evidence.

Why: most domains of a list share a few providers' MX hosts, so the same endpoints come back
domain after domain (a bench scan: 10,800 endpoint views, 1,224 distinct), each rendered
through Jinja2 again, every value escaped; with reports/evidence_view.py making one view per
probe object, each is now rendered once.

Each piece is a macro of templates/_domain.html.j2 that reads nothing but its argument, the
endpoint's view (evidence_view.SmtpView, a named tuple of text and numbers), so its HTML is a
function of that view: the view itself is the key, and equal views give the same bytes. What
is reused is the macro's own output, so hostile text still reaches the page only through
autoescaping. The memo is bounded (emptied when full): a piece forgotten is rendered again.

Rows of the findings table were tried too and left out: outside the shared smtp.* rows they
name the domain (its subject, its record names), so most were rendered once anyway and the
memo's own cost ate the gain.
"""
from __future__ import annotations

from typing import Any

from markupsafe import Markup

from .evidence_view import SmtpView


class SharedParts:
    """The memoised endpoint macros of one template module (``details`` is handed one)."""

    def __init__(self, module: Any, limit: int = 2048) -> None:
        self.limit = limit
        self._smtp_row, self._smtp_table = module.smtp_row, module.smtp_table
        self._endpoints: dict[tuple[bool, SmtpView], Markup] = {}

    def smtp_row(self, p: SmtpView) -> Markup:
        return self._endpoint(False, p)

    def smtp_table(self, p: SmtpView) -> Markup:
        return self._endpoint(True, p)

    def _endpoint(self, table: bool, p: SmtpView) -> Markup:
        key = (table, p)
        html = self._endpoints.get(key)
        if html is None:
            html = (self._smtp_table if table else self._smtp_row)(p)
            if len(self._endpoints) >= self.limit:
                self._endpoints.clear()
            self._endpoints[key] = html
        return html
