"""The scan environment and the throttling MX hosts said once: the summary event's
``environment`` and ``throttled`` fields (JSON and logfmt), the terminal's sentences, the
stored scan, report.html's summary, and the CLI options and config keys that state it."""
from __future__ import annotations

import io
import json

import pytest

from scanner.run.progress import Progress
from scanner.store import Store

pytestmark = pytest.mark.lab

NOTES = [{"id": "env.ipv6", "status": "warn", "message": "this host has no route to global "
          "IPv6: 6 IPv6 endpoint(s) of 2 domain(s) not probed", "domains": 2, "endpoints": 6},
         {"id": "env.port25", "status": "pass", "message": "outbound port 25 works from this host",
          "domains": 0, "endpoints": 0}]
THROTTLED = [{"ip": "192.0.2.25", "hosts": ["mx1.example", "mx2.example"], "refusals": 3,
              "waited_s": 7.5, "reply": "greeting 421 4.7.0 Too many connections"}]


def test_terminal_says_the_environment_and_the_throttling_hosts_once_after_the_summary():
    out = io.StringIO()
    Progress(bar=True, total=1, stream=out).event(
        "summary", scan=4, state="complete", domains=9, compliant=4, incomplete=0,
        profile="baseline", seconds=0.5, out="reports", exit=0, environment=NOTES,
        throttled=THROTTLED)
    assert out.getvalue().splitlines()[1:] == [
        "mxaudit: scan environment: env.ipv6 warn: this host has no route to global IPv6: 6 "
        "IPv6 endpoint(s) of 2 domain(s) not probed",
        "mxaudit: throttled the scan: mx1.example, mx2.example [192.0.2.25]: 3 transient "
        "refusal(s) (greeting 421 4.7.0 Too many connections), 7.5s spent waiting"]


def test_logfmt_carries_structured_fields_as_quoted_json():
    out = io.StringIO()
    Progress(bar=False, log_format="text", stream=out).event("summary", scan=1,
                                                             environment=NOTES, throttled=[])
    line = out.getvalue()
    head, _, rest = line.partition(" environment=")
    value, _, tail = rest.rpartition(" throttled=")
    assert json.loads(json.loads(value)) == NOTES and tail.strip() == '"[]"'


def test_a_scan_stores_and_reports_its_environment(lab, tmp_path, run_cli, make_domains,
                                                   lab_args):
    names = make_domains(2)
    db, out = tmp_path / "h.sqlite", tmp_path / "out"
    proc = run_cli(["scan", *[a for n in names for a in ("-d", n)], "--db", db, "--out", out,
                    "--log-format", "json", "--ip-version", "4", "--no-port25",
                    "--retry-pause", "0.5", *lab_args], timeout=60)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stderr.splitlines()[-1])
    notes = {n["id"]: n for n in summary["environment"]}
    assert list(notes) == ["env.ipv6", "env.port25", "env.resolver"]
    assert notes["env.ipv6"]["status"] == notes["env.port25"]["status"] == "info"
    assert "--ip-version 4" in notes["env.ipv6"]["message"]
    assert notes["env.resolver"]["status"] == "pass" and summary["throttled"] == []
    with Store(db) as store:
        rec = store.scan(1)
        assert [n.id for n in rec.environment.notes] == list(notes)
        assert (rec.options["ip_version"], rec.options["no_port25"],
                rec.options["retry_pause"]) == ("4", True, 0.5)
    html = (out / "report.html").read_text()
    assert html.index('id="envh"') < html.index("domains scanned")   # at the top of the summary
    assert "stated by --ip-version 4" in html


@pytest.mark.parametrize("argv, error", [
    (["--ip-version", "5"], "--ip-version '5': use 4, 6 or both"),
    (["--port25-canary", "mx.example"], "--port25-canary 'mx.example': not an IP address"),
    (["--retry-pause", "-1"], "--retry-pause must not be negative"),
])
def test_bad_network_options_are_usage_errors(run_cli, tmp_path, argv, error):
    proc = run_cli(["scan", "-d", "example.test", "--out", tmp_path / "o", "--db",
                    tmp_path / "h.sqlite", *argv])
    assert proc.returncode == 2 and error in proc.stderr and "Traceback" not in proc.stderr


def test_config_keys_state_the_network(tmp_path):
    from scanner.config import load_config

    cfg = tmp_path / "c.toml"
    cfg.write_text('ip_version = 4\nno_port25 = true\nport25_canary = "192.0.2.25"\n'
                   "retry_pause = 1.5\n")
    assert load_config(cfg) == {"ip_version": "4", "no_port25": True,
                                "port25_canary": "192.0.2.25", "retry_pause": 1.5}
    cfg.write_text('ip_version = "5"\n')
    with pytest.raises(Exception, match="ip_version"):
        load_config(cfg)


def test_server_text_in_the_environment_section_is_escaped(tmp_path):
    from reports.writer import write_reports
    from scanner.evidence.environment import EnvNote, ScanEnvironment, ThrottledIp
    from scanner.profiles import load_profile
    from scanner.checks import all_checks

    env = ScanEnvironment((EnvNote("env.resolver", "warn", "the resolver <b>x</b>"),),
                          (ThrottledIp("192.0.2.25", ("<img src=x>.example",), 2, 1.5,
                                       "greeting 421 <script>alert(1)</script>"),))
    meta = {"scan_id": 1, "started": "s", "finished": "f", "profile": "baseline",
            "version": "t", "environment": env}
    write_reports(tmp_path, [], load_profile("baseline", set(all_checks())), meta, count=0)
    html = (tmp_path / "report.html").read_text()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x>" not in html and "the resolver &lt;b&gt;x&lt;/b&gt;" in html
