"""The page's badges made in Python (reports/badges.py) are exactly what the Jinja macros they
replaced rendered under autoescaping, hostile arguments included."""
from __future__ import annotations

import jinja2
import pytest
from markupsafe import Markup

from reports.badges import badge, grade_badge, verdict_badge
from scanner.explain import grade_class
from scanner.findings import Status

# The macros as they were in templates/_domain.html.j2 (the reference).
MACROS = """\
{% macro grade_badge(grade) %}<span class="g {{ grade_class(grade) }}">{{ grade or "—" }}</span>{% endmacro %}
{% macro badge(status) %}<span class="b s-{{ status }}">{{ status }}</span>{% endmacro %}
{% macro verdict_badge(state) %}{% if state == "compliant" %}<span class="b s-pass">compliant</span>{% elif state == "undetermined" %}<span class="b s-error">could not test</span>{% else %}<span class="b s-fail">not compliant</span>{% endif %}{% endmacro %}
"""
HOSTILE = "<script>alert('x')</script>\"&"


@pytest.fixture(scope="module")
def macros():
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.globals["grade_class"] = grade_class
    return env.from_string(MACROS).module


@pytest.mark.parametrize("status", [*(s.value for s in Status), Status.FAIL, "", HOSTILE])
def test_status_badge(macros, status):
    assert badge(status) == macros.badge(status)
    assert isinstance(badge(status), Markup)


@pytest.mark.parametrize("grade", ["A+", "A", "B", "C", "D", "E", "F", "not graded", "", HOSTILE])
def test_grade_badge(macros, grade):
    assert grade_badge(grade) == macros.grade_badge(grade)


@pytest.mark.parametrize("state", ["compliant", "undetermined", "fail", "", HOSTILE])
def test_verdict_badge(macros, state):
    assert verdict_badge(state) == macros.verdict_badge(state)


def test_hostile_text_is_escaped():
    assert badge(HOSTILE) == ('<span class="b s-&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;'
                              '&#34;&amp;">&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;'
                              '&#34;&amp;</span>')
