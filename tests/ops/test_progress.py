"""Progress bar and structured log lines (scanner/run/progress.py)."""
from __future__ import annotations

import io
import json

from scanner.api import get_profile
from scanner.evidence import DomainEvidence
from scanner.result import judge
from scanner.run.progress import Progress, scan_inputs


def _junk(text: str):
    ev = DomainEvidence(position=0, input=text, domain="", invalid_reason="contains whitespace",
                        scanned_at="2025-01-01T00:00:00+00:00")
    return judge(ev, get_profile("baseline"))


def test_scan_inputs_counts_cheaply_and_fingerprints(tmp_path):
    txt = tmp_path / "a.txt"
    txt.write_text("# comment\na.test\n\nb.test\n  \n")
    csv = tmp_path / "b.csv"
    csv.write_text("domain,dkim_selectors\nc.test,s1\n")
    total, prints = scan_inputs([str(txt), str(csv)])
    assert total == 3 and [p["path"] for p in prints] == [str(txt.resolve()), str(csv.resolve())]
    assert all(len(p["sha256"]) == 64 for p in prints)
    assert scan_inputs([str(txt), "-"])[0] is None        # stdin: no total, no ETA


def test_text_log_lines_quote_hostile_values():
    out = io.StringIO()
    p = Progress(bar=False, log_format="text", total=2, stream=out)
    p.tick(_junk('bad "x"\nnext=1'))
    line = out.getvalue()
    assert line.count("\n") == 1 and " level=info event=domain " in line
    # the newline went through scanner.textsafe first (\x0a), then logfmt's quoting
    assert ('domain="bad \\"x\\"\\\\x0anext=1" status=ok compliant=false score=0 done=1 '
            'total=2') in line


def test_json_log_lines_and_quiet():
    out = io.StringIO()
    p = Progress(bar=False, log_format="json", stream=out)
    p.tick(_junk("junk !"))
    rec = json.loads(out.getvalue())
    assert (rec["event"], rec["domain"], rec["done"], rec["total"]) == ("domain", "junk !", 1, None)
    quiet = io.StringIO()
    q = Progress(bar=False, quiet=True, stream=quiet)
    q.tick(_junk("junk !"))
    q.event("summary", domains=1)
    q.event("interrupted", level="warning", signal="SIGTERM")
    assert quiet.getvalue().count("\n") == 1 and "event=interrupted" in quiet.getvalue()


def test_bar_shows_done_rate_and_eta_or_no_eta_without_total():
    p = Progress(bar=True, total=10, done=4, stream=io.StringIO())
    p._new, p.started = 4, 0.0
    assert p.bar_text(now=2.0) == "[########............] 4/~10  40% 2.0/s ETA 3s"
    p.total = None
    assert p.bar_text(now=2.0) == "4 domains done, 2.0/s"


def test_terminal_summary_is_a_sentence():
    out = io.StringIO()
    p = Progress(bar=True, total=1, stream=out)
    p.event("summary", scan=4, state="complete", domains=9, compliant=4, incomplete=0,
            profile="baseline", seconds=0.5, out="reports", exit=0)
    assert out.getvalue().endswith("mxaudit: scan 4 complete: 9 domains, 4 compliant under "
                                   "baseline, 0 incomplete, in 0.5s; reports in reports\n")
