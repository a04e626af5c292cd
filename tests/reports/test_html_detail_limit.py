"""Above DETAIL_LIMIT domains report.html keeps the summary and the domain table but leaves
the per-domain details out (100,000 domains made a 658 MB page); CSV/JSONL keep everything."""
from __future__ import annotations

import re

import reports.html as html
from reports import write_reports
from scanner.api import get_profile
from scanner.evidence import DomainEvidence
from scanner.result import judge
from scanner.checks import all_checks

META = {"scan_id": 1, "started": "s", "finished": "f", "profile": "baseline", "version": "v"}


class Sized(list):
    """A result stream of known length, like the store's."""


def _results(n: int):
    profile = get_profile("baseline")
    return Sized(judge(DomainEvidence(position=i, input=f"junk {i}!", domain="",
                                      invalid_reason="contains whitespace"), profile)
                 for i in range(n))


def test_details_left_out_above_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(html, "DETAIL_LIMIT", 3)
    for n, with_details in ((3, True), (4, False)):
        out = tmp_path / str(n)
        rs = _results(n)
        write_reports(out, rs, get_profile("baseline"), META)
        page = (out / "report.html").read_text()
        assert len(re.findall(r'href="#d\d+"', page)) == n      # the table lists every domain
        assert (page.count('<details id="d') == n) is with_details
        assert ("leaves the per-domain details out" in page) is not with_details
        assert len((out / "findings.csv").read_text().splitlines()) == n + 1
