"""The badges report.html repeats on every row (status, grade, verdict), made in Python.

Why not Jinja macros: a large scan's page has tens of thousands of badges, and each macro call
costs a frame, a Markup join and an escape of its argument; a badge depends only on its one
short argument (a status, a grade, a verdict state: closed sets), so each is made once and
reused. Escaping is the same as the template's autoescaping: every argument goes through
``markupsafe.escape`` before it is put in the markup, so even an unexpected value cannot
inject anything. The caches are bounded in case an unexpected value ever arrives in bulk.
"""
from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup, escape

from scanner.explain import grade_class

_VERDICTS = {"compliant": Markup('<span class="b s-pass">compliant</span>'),
             "undetermined": Markup('<span class="b s-error">could not test</span>')}
_NOT_COMPLIANT = Markup('<span class="b s-fail">not compliant</span>')


@lru_cache(maxsize=256)
def badge(status: str) -> Markup:
    """A status badge (pass, warn, fail, info, error, skipped), coloured by its CSS class."""
    text = escape(status)
    return Markup(f'<span class="b s-{text}">{text}</span>')


@lru_cache(maxsize=256)
def grade_badge(grade: str) -> Markup:
    """A grade badge (A+ .. F, "not graded"); a dash for a verdict without a grade."""
    return Markup(f'<span class="g {escape(grade_class(grade))}">{escape(grade or "—")}</span>')


def verdict_badge(state: str) -> Markup:
    """The verdict of a domain (reports.summary.verdict_state): compliant, could not test,
    or not compliant (an observed failure, or invalid input)."""
    return _VERDICTS.get(state, _NOT_COMPLIANT)
