"""Handing results on, end to end against the lab: ``scan --pdf`` (in the scan process and by
the report worker) and ``report --pdf`` write a readable report.pdf covered by the manifest;
``--metrics`` writes a Prometheus file whose counts are domains.csv's, with what got worse
since the previous scan and the last complete scan's time."""
from __future__ import annotations

import json
import os
import stat
from collections import Counter

import pytest

pytest.importorskip("weasyprint", reason="the test extra installs WeasyPrint (mxaudit[pdf])")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402
from pypdf import PdfReader  # noqa: E402

from scanner.run import worker as report_worker  # noqa: E402
from scanner.store import COMPLETE, INTERRUPTED, Store  # noqa: E402

from ..schema_check import problems_in  # noqa: E402
from .conftest import BAD_ZONE, GOOD_ZONE, db_rows, read_csv  # noqa: E402

pytestmark = pytest.mark.lab

SMTP_ZONE = '@ MX 10 mx\nmx A {ip}\n@ TXT "v=spf1 mx -all"\n_dmarc TXT "v=DMARC1; p=reject"\n'


def samples(path) -> dict[tuple, float]:
    """(metric name, sorted labels) -> value, read by Prometheus' own parser."""
    text = path.read_text(encoding="utf-8")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict, name: str, **labels) -> float:
    return found[(name, tuple(sorted(labels.items())))]


@pytest.fixture(scope="module")
def mail_host(lab):
    """A well-behaved lab MX host (STARTTLS, a certificate of the lab CA)."""
    from scanner.lab.smtp_servers import start_smtp_host

    ip = lab.allocate_ip()
    start_smtp_host(lab, ip, "mx.audit-pack.test")
    return ip


@pytest.fixture
def listing(lab, tmp_path, make_domains, mail_host):
    """Two good domains (null MX), one with SPF +all and no DMARC, one with a lab SMTP
    server, one NXDOMAIN name, one invalid line."""
    smtp = make_domains(1, SMTP_ZONE.format(ip=mail_host))
    names = [*make_domains(2), *make_domains(1, BAD_ZONE), *smtp]
    path = tmp_path / "list.txt"
    path.write_text("\n".join([*names, f"nx.{names[0]}", "not a domain!"]) + "\n")
    return path, names


def test_scan_with_pdf_and_metrics_then_a_second_scan_that_got_worse(lab, tmp_path, run_cli,
                                                                      listing, lab_args):
    path, names = listing
    db, prom = tmp_path / "h.sqlite", tmp_path / "prom" / "mxaudit.prom"
    prom.parent.mkdir()
    common = ["--db", db, "--metrics", prom, "--log-format", "json", *lab_args]
    first = run_cli(["scan", path, "--out", tmp_path / "one", "--pdf", *common], timeout=120)
    assert first.returncode == 0, first.stderr

    out = tmp_path / "one"
    assert run_cli(["verify", out]).returncode == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest["files"]) == ["domains.csv", "findings.csv", "report.html",
                                         "report.pdf", "results.jsonl"]
    assert problems_in(out / "results.jsonl") == [] and problems_in(out / "manifest.json") == []
    reader = PdfReader(out / "report.pdf")
    text = [" ".join(p.extract_text().split()) for p in reader.pages]
    assert "Executive summary" in text[0]
    assert all("Scan 1 · started" in t and f"page {i} of {len(text)}" in t
               for i, t in enumerate(text, 1))
    sections = [o.title.split(" ")[0] for group in reader.outline if isinstance(group, list)
                for o in group if not isinstance(o, list)]
    assert sections == [*names, f"nx.{names[0]}", "not"]      # 'not a domain!' is an invalid row
    found = samples(prom)
    assert value(found, "mxaudit_scan_complete") == 1 and value(found, "mxaudit_scan_id") == 1
    assert ("mxaudit_domains_worse", ()) not in found            # no previous scan yet

    lab.dns.add_zone(names[0], BAD_ZONE)                          # one domain gets worse
    second = run_cli(["scan", path, "--out", tmp_path / "two", *common], timeout=120)
    assert second.returncode == 0, second.stderr
    lab.dns.add_zone(names[0], GOOD_ZONE)

    rows = read_csv(tmp_path / "two" / "domains.csv")
    found = samples(prom)
    compliant = sum(r["compliant"] == "true" for r in rows)
    assert value(found, "mxaudit_domains", verdict="compliant") == compliant
    assert (value(found, "mxaudit_domains", verdict="not_compliant")
            + value(found, "mxaudit_domains", verdict="undetermined")) == len(rows) - compliant
    assert value(found, "mxaudit_domains_incomplete") == sum(r["status"] == "error" for r in rows)
    assert value(found, "mxaudit_domains_invalid") == sum(r["domain"] == "" for r in rows) == 1
    header = list(rows[0])
    checks = header[header.index("score") + 1:header.index("mx_hosts")]
    for check in checks:
        for status in ("fail", "error"):
            assert value(found, "mxaudit_check_domains", check=check, status=status) == \
                sum(r[check] == status for r in rows), (check, status)
    assert value(found, "mxaudit_check_domains", check="spf.all", status="fail") == 2
    assert value(found, "mxaudit_domains_worse") == 1
    assert value(found, "mxaudit_changes", kind="compliance") == 1
    assert value(found, "mxaudit_scan_id") == 2 and value(found, "mxaudit_scan_complete") == 1
    ((finished,),) = db_rows(db, "SELECT finished FROM scans WHERE id = 2")
    from datetime import datetime
    assert value(found, "mxaudit_last_complete_scan_timestamp_seconds") == \
        datetime.fromisoformat(finished).timestamp()
    assert value(found, "mxaudit_scan_start_timestamp_seconds") <= \
        value(found, "mxaudit_scan_end_timestamp_seconds")
    assert value(found, "mxaudit_scan_duration_seconds") > 0
    assert not any(dict(labels).get("domain") for _, labels in found)   # bounded by default
    assert not [p for p in prom.parent.iterdir() if p.name != "mxaudit.prom"]  # no temp file
    mask = os.umask(0o022)
    os.umask(mask)                                   # node_exporter can read it like any file
    assert stat.S_IMODE(prom.stat().st_mode) == 0o666 & ~mask


def test_per_domain_series_when_asked(lab, tmp_path, run_cli, listing, lab_args):
    path, names = listing
    prom = tmp_path / "m.prom"
    proc = run_cli(["scan", path, "--out", tmp_path / "out", "--db", tmp_path / "h.sqlite",
                    "--metrics", prom, "--metrics-domains", "-q", *lab_args], timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(tmp_path / "out" / "domains.csv")
    found = samples(prom)
    for row in rows:
        if row["domain"]:
            assert value(found, "mxaudit_domain_compliant", domain=row["domain"]) == \
                (row["compliant"] == "true")
            assert value(found, "mxaudit_domain_score", domain=row["domain"]) == int(row["score"])
    per_domain = Counter(name for name, labels in found if dict(labels).get("domain"))
    assert per_domain == {"mxaudit_domain_compliant": len(rows) - 1,
                          "mxaudit_domain_score": len(rows) - 1}


def test_report_worker_writes_the_pdf_too(lab, tmp_path, run_cli, listing, lab_args,
                                          monkeypatch):
    path, _ = listing
    monkeypatch.setenv(report_worker.ENV, "1")
    proc = run_cli(["scan", path, "--out", tmp_path / "out", "--db", tmp_path / "h.sqlite",
                    "--pdf", "--log-format", "json", *lab_args], timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert '"reports_by":"worker"' in proc.stderr
    assert run_cli(["verify", tmp_path / "out"]).returncode == 0
    assert "report.pdf" in json.loads((tmp_path / "out" / "manifest.json").read_text())["files"]
    assert len(PdfReader(tmp_path / "out" / "report.pdf").pages) >= 7
    again = run_cli(["report", "latest", "--db", tmp_path / "h.sqlite", "--out",
                     tmp_path / "again", "--pdf"], timeout=120)
    assert again.returncode in (0, 1), again.stderr
    assert len(PdfReader(tmp_path / "again" / "report.pdf").pages) == \
        len(PdfReader(tmp_path / "out" / "report.pdf").pages)
    assert run_cli(["verify", tmp_path / "again"]).returncode == 0


def test_a_later_set_without_pdf_removes_the_old_pdf(lab, tmp_path, run_cli, make_domains,
                                                     lab_args):
    listing = tmp_path / "l.txt"
    listing.write_text("\n".join(make_domains(1)) + "\n")
    common = ["scan", listing, "--out", tmp_path / "out", "--db", tmp_path / "h.sqlite", "-q",
              *lab_args]
    assert run_cli([*common, "--pdf"]).returncode == 0
    assert (tmp_path / "out" / "report.pdf").exists()
    assert run_cli(common).returncode == 0
    assert not (tmp_path / "out" / "report.pdf").exists()
    assert run_cli(["verify", tmp_path / "out"]).returncode == 0


def test_metrics_and_pdf_from_the_config_file(lab, tmp_path, run_cli, make_domains, lab_args):
    listing = tmp_path / "l.txt"
    listing.write_text("\n".join(make_domains(1)) + "\n")
    config = tmp_path / "mxaudit.toml"
    config.write_text('pdf = true\nmetrics = "prom/mxaudit.prom"\nmetrics_domains = true\n')
    (tmp_path / "prom").mkdir()
    proc = run_cli(["scan", listing, "--config", config, "--out", tmp_path / "out", "--db",
                    tmp_path / "h.sqlite", "-q", *lab_args], timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "report.pdf").exists()
    found = samples(tmp_path / "prom" / "mxaudit.prom")
    assert any(name == "mxaudit_domain_score" for name, _ in found)


@pytest.mark.parametrize("where, message", [
    ("missing/m.prom", "folder {tmp}/missing is missing or not writable"),
    (".", "is a folder; name the file to write"),
])
def test_an_unusable_metrics_path_is_refused_before_scanning(tmp_path, run_cli, where, message):
    proc = run_cli(["scan", "-d", "example.com", "--out", tmp_path / "out", "--db",
                    tmp_path / "h.sqlite", "--metrics", tmp_path / where])
    assert proc.returncode == 2
    assert message.format(tmp=tmp_path) in proc.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "h.sqlite").exists()


def test_last_complete_scan_is_the_newest_complete_one(tmp_path):
    """An interrupted scan leaves the metrics' last complete scan where it was."""
    with Store(tmp_path / "h.sqlite") as store:
        assert store.latest_complete() is None
        first = store.begin_scan("2026-01-01T02:00:00+00:00", "baseline", {}, "t")
        store.finish_scan(first, "2026-01-01T02:10:00+00:00", COMPLETE)
        second = store.begin_scan("2026-01-02T02:00:00+00:00", "baseline", {}, "t")
        store.finish_scan(second, "2026-01-02T02:03:00+00:00", INTERRUPTED)
        store.begin_scan("2026-01-03T02:00:00+00:00", "baseline", {}, "t")   # still running
        assert store.latest_complete().id == first
