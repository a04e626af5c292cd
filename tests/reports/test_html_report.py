"""report.html without a browser: structure, self-containment, escaping of hostile text,
compact details at scale, charts, and evidence read defensively."""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

import reports.html as html_mod
from reports import write_reports
from reports.charts import histogram, horizontal_bars, stacked_bar
from reports.domain_view import group_findings
from reports.evidence_view import evidence_view
from scanner.api import get_profile
from scanner.findings import Finding, Status
from scanner.checks import all_checks
from tests.browser.synthetic import HOSTILE, results

SPECS = all_checks()


def render(tmp_path, n=30, *, profile="bod-18-01", hostile=False) -> str:
    prof = get_profile(profile)
    meta = {"scan_id": 3, "started": "2026-01-15", "finished": "2026-01-15", "profile": prof.name,
            "version": "t"}
    write_reports(tmp_path, list(results(n, prof, hostile=hostile)), prof, meta)
    return (tmp_path / "report.html").read_text(encoding="utf-8")


def test_hostile_text_from_records_and_servers_is_escaped(tmp_path):
    page = render(tmp_path, hostile=True)
    assert "<img" not in page and "alert('pwn')" not in page
    assert page.count("<script") == 1                   # the report's own, and no other
    escaped = "&lt;script&gt;alert(&#39;pwn&#39;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
    # SPF, DMARC and MTA-STS text, SMTP banners, PTR names, certificate subjects, inputs
    assert page.count(escaped) >= 30 * 5


def test_self_contained_and_fetches_forbidden(tmp_path):
    page = render(tmp_path)
    assert "default-src 'none'" in page                 # CSP: nothing may be fetched
    assert not re.search(r"""<(link|img|iframe|object|embed)\b""", page)
    assert not re.search(r"""\b(src|href)\s*=\s*(?!["']?#)""", page)   # only in-page anchors
    assert "@media print" in page


def test_structure_summary_table_details_catalogue(tmp_path):
    page = render(tmp_path, n=30)
    # verdicts, grades, scores and failing checks
    assert page.count('<svg class="chart" role="img"') == 4
    assert 'aria-label="Domains by grade: A+: ' in page and "How grades are made" in page
    assert page.count('<section class="why" aria-label="Why this grade">') == 30
    table = page[page.index('id="dtable"'):page.index("</table>", page.index('id="dtable"'))]
    assert table.count('<tr data-v="') == 30
    positions = [int(p) for p in re.findall(r'<a href="#d(\d+)">', table)]
    assert positions == list(range(30))                  # input order
    assert page.count('<details id="d') == 30
    assert page.count("<noscript>") == 30                 # lazy DOM, plain markup without JS
    assert 'id="c-dmarc.rua"' in page                     # check catalogue with remediation
    # the profile's requirements with their sources, and a match described
    assert "dmarc.rua (dmarc.rua contains mailto:reports@dmarc.cyber.dhs.gov)" in page
    assert "BOD 18-01, email actions due within 90 days: all internet-facing mail servers offer STARTTLS" in page


def test_every_non_pass_finding_has_its_reference(tmp_path):
    page = render(tmp_path, n=10, profile="baseline")
    rows = re.findall(r'<tr><td><span class="b s-(fail|warn|error)">.*?</tr>', page)
    assert rows
    for row in re.findall(r'<tr><td><span class="b s-(?:fail|warn|error)">.*?</tr>', page):
        assert "Reference: " in row or "Remediation and reference" in row


def test_large_reports_get_compact_details(tmp_path, monkeypatch):
    monkeypatch.setattr(html_mod, "FULL_DETAIL_LIMIT", 10)
    page = render(tmp_path, n=12, profile="baseline")
    assert "details are compact" in page
    assert "Transcript (excerpt)" not in page and "SMTP endpoints" in page
    assert re.search(r'<span class="b s-pass">pass</span></td><td colspan="3">\d+ checks: ', page)
    assert 'href="#c-' in page                            # remediation via the catalogue
    assert " open>" not in page                          # thousands of domains start closed


def test_full_details_show_transcript_and_certificate(tmp_path):
    page = render(tmp_path, n=5, profile="baseline")
    assert "Transcript (excerpt)" in page and "C: EHLO scanner.mxaudit.test" in page
    assert "issuer CN=Synthetic CA,O=mxaudit bench" in page


def test_a_weighted_profile_from_a_file_is_what_the_report_rates(tmp_path):
    """The report is given the Profile it renders: a user's weighted profile file yields the
    per-category scores and the scores its verdicts were computed from (100 minus the
    weighted penalties), not those of the default weights."""
    import html as html_lib

    from scanner.rating import category_scores, observe, assess
    from scanner.registry import categories

    path = tmp_path / "weighted.toml"
    path.write_text('name = "weighted"\ntitle = "Weighted test profile"\n'
                    '[weights]\n"smtp.starttls" = 0.5\n"spf.all" = 0.5\n"dmarc.policy" = 3\n'
                    '"smtp.cert_trusted" = 0\n', encoding="utf-8")
    prof, plain_prof = get_profile(str(path)), get_profile("baseline")
    rs = list(results(30, prof))
    meta = {"scan_id": 1, "started": "s", "finished": "f", "profile": prof.name, "version": "t"}
    write_reports(tmp_path, rs, prof, meta)
    page = html_lib.unescape((tmp_path / "report.html").read_text(encoding="utf-8"))
    shown = re.findall(r"Score by category: ([^<]*)</p>", page)

    def groups(r, profile):
        obs = observe(r.findings, r.evidence)
        return category_scores(obs, assess(obs, profile, categories(), r.evidence), categories())

    scored = [r for r in rs if r.evidence.valid and groups(r, prof)]
    assert len(shown) == len(scored) > 0
    differs = False
    for r, line in zip(scored, shown):
        weighted, plain = groups(r, prof), groups(r, plain_prof)
        numbers = [int(n) for n in re.findall(r" (\d+)(?: ·|$)", line)]
        assert numbers == [round(v) for v in weighted.values()], line
        assert r.verdict.score == assess(observe(r.findings, r.evidence), prof, categories(),
                                         r.evidence).score
        differs |= [round(v) for v in weighted.values()] != [round(v) for v in plain.values()]
    assert differs          # the weights changed something, so the test can tell
    assert "Weighted test profile" in page


def test_grouping_shares_rows_for_the_same_text():
    findings = [Finding("smtp.reachable", "mx [192.0.2.1]:465", Status.FAIL, "connection refused"),
                Finding("smtp.reachable", "mx [192.0.2.1]:587", Status.FAIL, "connection refused"),
                Finding("smtp.reachable", "mx [192.0.2.1]:25", Status.PASS, "220 hello"),
                Finding("spf.present", "d.test", Status.PASS, "v=spf1 -all")]
    groups = dict(group_findings(findings, SPECS))
    transport = groups["Transport security (SMTP, TLS, certificates, AUTH)"]
    assert [(r.status, r.subjects) for r in transport] == [
        ("fail", ["mx [192.0.2.1]:465", "mx [192.0.2.1]:587"]), ("pass", ["mx [192.0.2.1]:25"])]
    assert list(groups) == ["Transport security (SMTP, TLS, certificates, AUTH)",
                            "Sender authentication (SPF, DKIM, DMARC)"]


def test_evidence_of_another_shape_renders_nothing_instead_of_failing():
    odd = SimpleNamespace(domain="d.test", mx=object(), records=None, smtp=(object(),))
    assert evidence_view(odd) == {}


@pytest.mark.parametrize("chart", [
    stacked_bar([("a<b", 3, "c-pass"), ("c&d", 1, "c-fail")], "T<x>"),
    horizontal_bars([("spf<all>", [(2, "c-fail", "fail"), (1, "c-error", "could not test")])], "T"),
    histogram([("0-9", 4), ("<x>", 0)], "Scores"),
])
def test_charts_escape_labels_and_say_their_numbers(chart):
    svg = str(chart)
    assert "<b" not in svg.replace("<svg", "") and "<x>" not in svg and "<all>" not in svg
    assert svg.startswith('<svg class="chart" role="img" aria-label="') and "<title>" in svg
    label = re.search(r'aria-label="([^"]*)"', svg).group(1)
    assert re.search(r"\d", label)


def test_hostile_marker_is_what_the_synthetic_scan_injects():
    assert "<script>" in HOSTILE and "onerror" in HOSTILE


def test_a_scan_of_invalid_inputs_only_renders(tmp_path):
    from scanner.evidence import DomainEvidence
    from scanner.result import judge

    profile = get_profile("baseline")
    junk = [judge(DomainEvidence(i, f"junk {i} <b>", "", "not a valid domain name"), profile)
            for i in range(3)]
    meta = {"scan_id": 1, "started": "s", "finished": "f", "profile": "baseline", "version": "t"}
    write_reports(tmp_path, junk, profile, meta)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    # verdicts, grades and failing checks; no score histogram (nothing valid to score)
    assert page.count('<svg class="chart"') == 3
    assert "junk 2 &lt;b&gt;" in page and page.count("invalid input") >= 3


def test_a_domain_with_only_some_evidence_renders(tmp_path):
    from scanner.evidence import DnsOutcome, DnsResult, DomainEvidence, MxEvidence
    from scanner.result import judge

    profile = get_profile("baseline")
    mx = MxEvidence(DnsResult("a.test", "MX", DnsOutcome.NODATA))
    only_mx = judge(DomainEvidence(0, "a.test", "a.test", mx=mx), profile)
    meta = {"scan_id": 1, "started": "s", "finished": "f", "profile": "baseline", "version": "t"}
    write_reports(tmp_path, [only_mx], profile, meta)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'id="d0"' in page and "<caption>SMTP" not in page and "DNS records" not in page


def test_dnssec_and_dane_in_the_evidence_view_and_the_page(tmp_path):
    """The domain's and each MX host's DNSSEC state with its chain and reason, each TLSA record
    with what it matched where, the record to publish; hostile text escaped."""
    from dataclasses import replace

    from scanner.evidence.dnssec import Security
    from scanner.result import judge
    from tests.checks.dnssec_ev import HOST, chain_ders, evidence, host_dnssec, probe, tlsa

    leaf, ca = chain_ders()
    ev = evidence(host_dnssec(records=(tlsa(3, 1, 1, leaf), tlsa(1, 0, 1, ca))), probes=(probe(),))
    hostile = "RRSIG expired <script>alert(1)</script>"
    ev = replace(ev, dnssec=replace(ev.dnssec, domain=replace(ev.dnssec.domain, state=Security.BOGUS,
                                                              detail=hostile)))
    view = evidence_view(ev)["dnssec"]
    assert [r.what for r in view.rows] == ["MX example.test", f"A {HOST}", f"AAAA {HOST}"]
    assert view.rows[1].chain == ". 20326/8 > test. 1234/13 > example.test. 5678/13"
    (dane,) = view.dane
    assert dane.name == f"_25._tcp.{HOST}" and dane.status == "pass"
    assert dane.records[0].matched == [f"192.0.2.1: leaf (CN={HOST})"]
    assert "unusable for SMTP" in dane.records[1].unusable
    # no TLSA at a secure host: the record to publish for the presented key
    bare = evidence(host_dnssec(), probes=(probe(),))
    (none,) = evidence_view(bare)["dnssec"].dane
    assert none.suggest == f"_25._tcp.{HOST}. IN TLSA 3 1 1 {tlsa(3, 1, 1, leaf).data}"
    prof = get_profile("baseline")
    write_reports(tmp_path, [judge(ev, prof), judge(replace(bare, position=1), prof)], prof,
                  {"scan_id": 1, "started": "s", "finished": "f", "profile": "baseline", "version": "t"})
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in page and "RRSIG expired &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "DANE: TLSA _25._tcp." in page and "To publish" in page


def test_a_standards_profile_shows_what_it_does_not_assess(tmp_path):
    """tr-03108: the report lists the TR's requirements this version cannot see - its
    [[not_assessed]] entries and, in a build without the DANE checks, the pending DANE and
    DNSSEC lines - beside the profile, and each compliant domain points at them."""
    from scanner.checks import all_checks

    page = render(tmp_path, n=40, profile="tr-03108")
    section = page[page.index('<table class="not-assessed">'):]
    section = section[:section.index("</table>")]
    assert "Not assessed by this version of mxaudit" in section
    assert "TR-03108 v2.0 4.1.1 (TR-03108-01-M)" in section and "IMAPS" in section
    pending = [c for c in ("dnssec.signed", "dnssec.mx_signed", "dane.tlsa") if c not in all_checks()]
    for check in pending:
        assert f"needs the check {check}, which this version does not have" in section
    missing = len(get_profile("tr-03108").unassessed())
    assert f"Not assessed by this version of mxaudit ({missing})" in section
    assert section.count("<tr>") == missing + 1          # the header row and one per entry
    if "Compliant with every requirement" in page:   # a compliant domain points at the list
        assert f"this version of mxaudit assesses; {missing} are not assessed" in page


def test_a_domain_whose_port25_the_scanners_network_held_back_says_why_it_is_not_graded(tmp_path):
    """Rule 11 in the report: the grade badge says not graded, the why section gives the
    range and names the note, no fixes are offered, and main's network note stays."""
    from scanner.result import judge
    from tests.calibration import load_evidence

    profile = get_profile("baseline")
    r = judge(load_evidence()["port25-filtered.test"], profile)
    meta = {"scan_id": 1, "started": "s", "finished": "f", "profile": "baseline", "version": "t"}
    write_reports(tmp_path, [r], profile, meta)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    why = page[page.index('<section class="why"'):]
    why = why[:why.index("</section>")]
    assert "Once tested, the grade would be between F and A." in why
    assert "not tested because of the scanning host&#39;s own network" in why
    assert "<code>env.port25</code>" in why and "What would raise it" not in why
    assert "partly not tested: the scan's network conditions" in page
