"""`mxaudit check`'s terminal view and stdout formats, on hand-made results: the layout line by
line, the grouping and ordering rules, hostile text, the machine formats' encodings.
(The same views against the lab, through the real command line: tests/integration/test_check.py.)
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass

from reports.machine import CsvView, JsonlView, JsonView
from scanner.textsafe import for_terminal as terminal_safe
from reports.tabular import result_line
from reports.terminal import TerminalView, categories, grade_text
from scanner.evidence import DomainEvidence
from scanner.findings import Finding, Status
from scanner.result import DomainResult
from scanner.run.ordered import InputOrder
from scanner.verdict import Verdict

P, W, F, I, E, S = (Status.PASS, Status.WARN, Status.FAIL, Status.INFO, Status.ERROR,
                    Status.SKIPPED)
HOSTILE = ("\x1b[2J\x1b[H\x1b]0;pwned\x07 \x9b31m [bold green]PASS[/bold green] "
           "[link=file:///etc/passwd]x[/link] :warning: \u202eevil\u2028")


def result(findings, *, position=0, domain="a.test", compliant=False, score=50,
           failed=(), undetermined=(), error="", input_text=None):
    ev = DomainEvidence(position, input_text or domain, domain, error=error)
    return DomainResult(ev, tuple(findings),
                        Verdict("baseline", compliant, score, tuple(failed), tuple(undetermined)))


SAMPLE = [
    Finding("mx.present", "a.test", P, "2 MX hosts"),
    Finding("mx.ipv6", "a.test", W, "no MX host has an IPv6 (AAAA) address", "Add AAAA."),
    Finding("smtp.starttls", "mx.a.test [192.0.2.1]:25", F, "STARTTLS not advertised in EHLO",
            "Advertise STARTTLS."),
    Finding("smtp.starttls", "mx.a.test [192.0.2.1]:587", F, "STARTTLS not advertised in EHLO",
            "Advertise STARTTLS."),
    Finding("smtp.starttls", "mx.a.test [192.0.2.1]:465", S, "implicit TLS port"),
    Finding("smtp.reachable", "mx.a.test [192.0.2.1]:25", P, "220 greeting: mx ESMTP"),
    Finding("smtp.auth_mechanisms", "mx.a.test [192.0.2.1]:25", I, "AUTH PLAIN LOGIN"),
    Finding("spf.all", "a.test", E, "SPF record lookup timed out", "End with -all."),
    Finding("bimi.record", "a.test", I, "no BIMI record"),
    Finding("dkim.key", "a.test", S, "no DKIM key"),
]


def render(r, **kw) -> str:
    out = io.StringIO()
    view = TerminalView(out, None, colour=False, **kw)
    view.add(r)
    view.close()
    return out.getvalue()


def test_plain_layout_line_by_line():
    r = result(SAMPLE, failed=("smtp.starttls",), undetermined=("spf.all",), score=41)
    assert render(r).splitlines() == [
        "a.test  NOT COMPLIANT  score 41/100  (profile baseline)",
        "  requirements not met: smtp.starttls",
        "  required but could not be tested: spf.all",
        "",
        "  Transport security (SMTP, TLS, certificates, AUTH)",
        "    FAIL    smtp.starttls  mx.a.test [192.0.2.1]:25,587",
        "            STARTTLS not advertised in EHLO",
        "            fix: Advertise STARTTLS.",
        "    PASS    1 check: smtp.reachable",
        "    INFO    1 check: smtp.auth_mechanisms",
        "",
        "  Sender authentication (SPF, DKIM, DMARC)",
        "    ERROR   spf.all",
        "            SPF record lookup timed out",
        "            fix: End with -all.",
        "    SKIPPED 1 check",
        "",
        "  Mail routing (MX)",
        "    WARN    mx.ipv6",
        "            no MX host has an IPv6 (AAAA) address",
        "            fix: Add AAAA.",
        "    PASS    1 check: mx.present",
        "",
        "  Informational",
        "    INFO    1 check: bimi.record",
    ]


def test_verbose_shows_every_finding_in_full():
    text = render(result(SAMPLE), verbose=True)
    assert "    PASS    smtp.reachable  mx.a.test [192.0.2.1]:25\n" \
           "            220 greeting: mx ESMTP\n" in text
    assert "    SKIPPED smtp.starttls  mx.a.test [192.0.2.1]:465\n" \
           "            implicit TLS port\n" in text
    assert "    SKIPPED dkim.key\n            no DKIM key\n" in text
    assert "fix: " not in text.split("PASS    smtp.reachable")[1].split("\n\n")[0]


def test_categories_worst_first_and_all_skipped_ones_left_out():
    findings = [Finding("bimi.record", "a.test", W, "x"), Finding("mx.present", "a.test", P, "y"),
                Finding("smtp.reachable", "h [192.0.2.1]:25", S, "null MX"),
                Finding("spf.all", "a.test", W, "z")]
    assert [t for t, _ in categories(findings, "a.test")] == [
        "Sender authentication (SPF, DKIM, DMARC)", "Informational", "Mail routing (MX)"]
    assert [t for t, _ in categories(findings, "a.test", verbose=True)][-1] == \
        "Transport security (SMTP, TLS, certificates, AUTH)"


def test_compliant_header_input_and_scan_error():
    r = result([Finding("mx.present", "xn--bcher-kva.test", P, "ok")], compliant=True,
               score=100, domain="xn--bcher-kva.test", input_text="Bücher.test",
               error="deadline reached")
    assert render(r).splitlines()[:3] == [
        "xn--bcher-kva.test  COMPLIANT  score 100/100  (profile baseline)",
        "  input: Bücher.test",
        "  scan incomplete: deadline reached"]


def test_undetermined_verdict_word():
    r = result([Finding("spf.all", "a.test", E, "timeout")], undetermined=("spf.all",))
    assert render(r).splitlines()[0] == "a.test  UNDETERMINED  score 50/100  (profile baseline)"


def test_hostile_text_reaches_the_terminal_escaped_and_unparsed():
    r = result([Finding("spf.single", "a.test", F, "2 records: " + HOSTILE, HOSTILE),
                Finding("mx.ptr", HOSTILE, W, HOSTILE)])
    for colour in (False, True):
        out = io.StringIO()
        view = TerminalView(out, None, colour=colour)
        view.add(r)
        text = out.getvalue()
        visible = re.sub(r"\x1b\[[0-9;]*m", "", text)     # rich's own colour codes
        assert all(c.isprintable() or c == "\n" for c in visible), repr(visible)
        assert colour == (visible != text)
        assert "[bold green]PASS[/bold green]" in visible     # markup shown, not applied
        assert "[link=file:///etc/passwd]x[/link] :warning:" in visible   # nor links, emoji
        assert "\\x1b[2J\\x1b[H\\x1b]0;pwned\\x07 \\x9b31m" in visible
        assert "\\u202eevil\\u2028" in visible


def test_terminal_safe():
    assert terminal_safe("mx.example.com ok") == "mx.example.com ok"
    assert terminal_safe("bücher ✓") == "bücher ✓"
    assert terminal_safe("a\x1bb\x9bc\x7fd\u202ee\U000e0001\n") == \
        "a\\x1bb\\x9bc\\x7fd\\u202ee\\U000e0001\\x0a"


def test_colour_marks_the_status_word():
    out = io.StringIO()
    TerminalView(out, None, colour=True).add(result(SAMPLE))
    assert re.search(r"\x1b\[[0-9;]*31mFAIL\x1b\[0m", out.getvalue())   # red
    assert re.search(r"\x1b\[[0-9;]*33mWARN\x1b\[0m", out.getvalue())   # yellow


@dataclass(frozen=True)
class GradedVerdict(Verdict):       # the fields issue 15 adds to Verdict
    grade: str = ""
    caps: tuple[str, ...] = ()


def test_grade_shown_when_the_verdict_has_one():
    assert grade_text(Verdict("baseline", True, 90)) == ""
    assert grade_text(GradedVerdict("baseline", True, 90, grade="A")) == "grade A"
    assert grade_text(GradedVerdict("baseline", False, 40, grade="F",
                                    caps=("critical:smtp.starttls",))) == \
        "grade F (capped by critical:smtp.starttls)"
    r = result([Finding("mx.present", "a.test", P, "ok")])
    r = DomainResult(r.evidence, r.findings, GradedVerdict("baseline", True, 90, grade="B"))
    assert render(r).splitlines()[0] == \
        "a.test  COMPLIANT  score 90/100  grade B  (profile baseline)"


def test_input_order_whatever_the_completion_order():
    seen = []
    order = InputOrder(lambda r: seen.append(r.evidence.position))
    for position in (2, 0, 3, 1, 5):
        order.add(result([], position=position))
    assert seen == [0, 1, 2, 3]     # 5 waits for 4
    order.flush()                   # 4 never came (interrupted): 5 still shown
    assert seen == [0, 1, 2, 3, 5]


def test_json_is_one_array_of_results_jsonl_objects():
    rs = [result(SAMPLE, domain="a.test"), result(SAMPLE[:2], position=1, domain="b.test")]
    out = io.StringIO()
    view = JsonView(out)
    for r in rs:
        view.add(r)
    view.close()
    assert json.loads(out.getvalue()) == [json.loads(result_line(r)) for r in rs]
    empty = io.StringIO()
    JsonView(empty).close()
    assert json.loads(empty.getvalue()) == []


def test_jsonl_is_results_jsonl():
    out = io.StringIO()
    view = JsonlView(out)
    view.add(result(SAMPLE))
    view.close()
    assert out.getvalue() == result_line(result(SAMPLE))


def test_csv_is_findings_csv_with_cells_neutralised():
    out = io.StringIO()
    view = CsvView(out)
    view.add(result([Finding("spf.all", "=cmd|' /C calc'!A0", F, "+all: anyone", "-all")]))
    view.close()
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows == [["domain", "check", "subject", "status", "message", "remediation"],
                    ["a.test", "spf.all", "'=cmd|' /C calc'!A0", "fail", "'+all: anyone",
                     "'-all"]]
