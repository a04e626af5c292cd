"""`mxaudit demo`: the newcomer's first command, end to end through the real command line.

It starts the lab (DNS, SMTP, HTTPS on loopback), scans the demo domains with the normal
pipeline and writes the normal reports; here we assert what those reports say, per domain
and check, so the demo stays a true picture of the product.
"""
from __future__ import annotations

import csv
import json

import pytest

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from tests.conftest import run_cli_process

    out = tmp_path_factory.mktemp("demo")
    proc = run_cli_process(["demo", "--out", out], timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    rows = {r["input"]: r for r in csv.DictReader((out / "domains.csv").open(encoding="utf-8"))}
    results = [json.loads(line) for line in (out / "results.jsonl").open(encoding="utf-8")]
    return out, rows, results


def test_every_input_has_a_row_in_input_order(demo):
    from scanner.lab.demo import DEMO_DOMAINS, JUNK_INPUT

    out, rows, results = demo
    assert list(rows) == [*DEMO_DOMAINS, JUNK_INPUT]
    assert [r["input"] for r in results] == [*DEMO_DOMAINS, JUNK_INPUT]
    assert (out / "report.html").stat().st_size > 1000
    assert (out / "findings.csv").exists()


@pytest.mark.parametrize("domain, check, status", [
    ("good.test", "smtp.starttls", "pass"),
    ("good.test", "smtp.cert_trusted", "pass"),
    ("good.test", "smtp.cert_hostname", "pass"),
    ("good.test", "spf.all", "pass"),
    ("good.test", "dmarc.policy", "pass"),
    ("good.test", "dkim.present", "pass"),
    ("good.test", "mta_sts.policy", "pass"),
    ("good.test", "mta_sts.mode", "pass"),
    ("good.test", "tls_rpt.record", "pass"),
    ("good.test", "mx.ptr", "pass"),
    ("partner.test", "smtp.starttls", "pass"),
    ("legacy.test", "smtp.starttls", "fail"),
    ("legacy.test", "spf.all", "fail"),
    ("legacy.test", "dmarc.policy", "warn"),
    ("authleak.test", "smtp.auth_before_tls", "fail"),
    ("authleak.test", "smtp.legacy_tls", "warn"),
    ("authleak.test", "dmarc.pct", "warn"),
    ("expired.test", "smtp.cert_expiry", "fail"),
    ("expired.test", "spf.all", "warn"),
    ("expired.test", "dmarc.present", "fail"),
    ("selfsigned.test", "smtp.cert_trusted", "fail"),
    ("selfsigned.test", "mx.cname", "warn"),
    ("nullmx.test", "mx.null", "info"),
    ("nullmx.test", "smtp.starttls", "skipped"),
    ("nullmx.test", "dkim.present", "skipped"),
    ("ghost.test", "domain.exists", "fail"),
    ("not a domain!", "domain.valid", "fail"),
])
def test_domain_check_status(demo, domain, check, status):
    _, rows, _ = demo
    assert rows[domain][check] == status


def test_compliance_column(demo):
    _, rows, _ = demo
    assert rows["good.test"]["compliant"] == "true"
    for bad in ("legacy.test", "expired.test", "ghost.test", "not a domain!"):
        assert rows[bad]["compliant"] == "false", bad


def test_shared_mx_host_probed_once(demo):
    """good.test and partner.test share mx.good.test: the evidence shows one set of sessions."""
    _, _, results = demo
    by_domain = {r["input"]: r for r in results}
    good = by_domain["good.test"]["evidence"]["smtp"]
    partner = by_domain["partner.test"]["evidence"]["smtp"]
    assert good and good == partner


@pytest.mark.parametrize("domain, column, value", [
    ("good.test", "spf_record", "v=spf1 mx -all"),
    ("good.test", "spf_lookups", "1"),
    ("good.test", "dmarc_policy", "reject"),
    ("good.test", "dkim_selectors", "mail"),
    ("good.test", "tls_versions", "TLSv1.3"),
    ("good.test", "auth_mechanisms", "LOGIN PLAIN"),
    ("good.test", "auth_before_tls", ""),
    ("partner.test", "spf_lookups", "2"),
    ("partner.test", "dmarc_policy", "quarantine"),
    ("legacy.test", "spf_record", "v=spf1 +all"),
    ("legacy.test", "dmarc_policy", "none"),
    ("authleak.test", "tls_versions", "TLSv1.3 TLSv1"),
    ("authleak.test", "auth_before_tls", "LOGIN PLAIN"),
    ("expired.test", "dmarc_policy", ""),
    ("nullmx.test", "tls_versions", ""),
    ("ghost.test", "spf_record", ""),
])
def test_detail_columns(demo, domain, column, value):
    """DESIGN.md's detail columns, appended after scan_error (never renamed or reordered)."""
    out, rows, _ = demo
    assert rows[domain][column] == value
    header = next(csv.reader((out / "domains.csv").open(encoding="utf-8")))
    assert header[header.index("scan_error") + 1:] == [
        "spf_record", "spf_lookups", "dmarc_policy", "dkim_selectors", "tls_versions",
        "auth_mechanisms", "auth_before_tls"]
