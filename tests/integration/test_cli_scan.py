"""`mxaudit scan` end to end against the lab: the four outputs, the store, --fail-on, the DNS cache.

A test profile (`mx-only`) requires the MX-stage checks and weighs only them, so the expected
verdicts and scores do not move when other stages gain checks.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from scanner.evidence import DomainEvidence
from scanner.checks import all_checks
from scanner.serde import from_jsonable
from scanner.store import Store

pytestmark = pytest.mark.lab

MX_CHECKS = ["domain.valid", "domain.exists", "mx.present", "mx.null", "mx.resolvable", "mx.cname",
             "mx.public_address", "mx.ipv6", "mx.ptr"]
REQUIRED = ["domain.valid", "domain.exists", "mx.present", "mx.null", "mx.resolvable",
            "mx.public_address"]


def write_profile(path: Path) -> Path:
    reqs = "".join(f'[[require]]\ncheck = "{c}"\n' for c in REQUIRED)
    weights = "".join(f'"{cid}" = 0\n' for cid, spec in all_checks().items() if spec.category != "mx")
    path.write_text(f'name = "mx-only"\n{reqs}[weights]\n{weights}')
    return path


def scan_args(lab, tmp: Path, *inputs, extra=()) -> list:
    return ["scan", *inputs, "--nameserver", lab.nameserver, "--allow-private",
            "--out", tmp / "out", "--db", tmp / "db.sqlite", "--timeout", "1", "--deadline", "20",
            "--profile", write_profile(tmp / "mx-only.toml"),
            "--mta-sts-port", lab.ports["https"], *lab.port_args(), *extra]


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def world(lab, unique_zone):
    """A small world; names of the zones by role."""
    z = {role: unique_zone() for role in ("good", "good2", "null", "cname", "implicit", "fail", "nx")}
    ip = lab.allocate_ip()
    shared = f"mx1.{z['good']}"
    lab.dns.add_zone(z["good"], f'@ MX 10 mx1.{z["good"]}.\n@ TXT "v=spf1 mx -all"\n'
                                f'@ TXT "<script>alert(\'txt\')</script>"\nmx1 A {ip}\n')
    lab.dns.add_records(f"{ip.split('.')[-1]}.1.0.127.in-addr.arpa", "PTR", [f"{shared}."])
    lab.dns.add_zone(z["good2"], f"@ MX 10 {shared}.\n")
    lab.dns.add_zone(z["null"], "@ MX 0 .\n")
    lab.dns.add_zone(z["cname"], f"@ MX 5 alias.{z['cname']}.\nalias CNAME {shared}.\n")
    lab.dns.add_zone(z["implicit"], f"@ A {lab.allocate_ip()}\n")
    lab.dns.add_zone(z["fail"], "@ MX 10 mx.example.test.\n")
    lab.dns.set_behaviour(z["fail"], "servfail")
    lab.dns.add_zone(z["nx"], "")
    z["nx"] = "nope." + z["nx"]
    z["shared_mx"] = shared
    return z


@pytest.fixture(scope="module")
def scanned(lab, world, tmp_path_factory, run_cli_module):
    tmp = tmp_path_factory.mktemp("scan")
    lines = [f"# test list", world["good"], "", f"{world['null'].upper()}.", world["cname"],
             world["implicit"], world["fail"], world["nx"], "<script>alert(1)</script>",
             "=cmd|calc!A0", "+sum", "@at", world["good"].upper(), world["good2"]]
    (tmp / "list.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = run_cli_module(scan_args(lab, tmp, tmp / "list.txt"), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return tmp, proc


@pytest.fixture(scope="module")
def run_cli_module():
    from tests.conftest import run_cli_process
    return run_cli_process


def expected_rows(world):
    P, W, F, I, E, S, N = "pass", "warn", "fail", "info", "error", "skipped", ""
    return [
        # domain, input, compliant, score, statuses of MX_CHECKS
        (world["good"], world["good"], "true", "90", [P, P, P, S, P, P, I, W, P]),
        (world["null"], f"{world['null'].upper()}.", "true", "100", [P, P, P, I, S, S, S, S, S]),
        (world["cname"], world["cname"], "true", "80", [P, P, P, S, P, W, I, W, P]),
        (world["implicit"], world["implicit"], "true", "62", [P, P, W, S, P, N, I, W, W]),
        (world["fail"], world["fail"], "false", "0", [P, E, E, E, E, E, E, E, E]),
        (world["nx"], world["nx"], "false", "0", [P, F, S, S, S, S, S, S, S]),
        ("", "<script>alert(1)</script>", "false", "0", [F, N, N, N, N, N, N, N, N]),
        ("", "'=cmd|calc!A0", "false", "0", [F, N, N, N, N, N, N, N, N]),
        ("", "'+sum", "false", "0", [F, N, N, N, N, N, N, N, N]),
        ("", "'@at", "false", "0", [F, N, N, N, N, N, N, N, N]),
        (world["good2"], world["good2"], "true", "90", [P, P, P, S, P, P, I, W, P]),
    ]


def test_domains_csv(world, scanned):
    tmp, _ = scanned
    rows = read_csv(tmp / "out" / "domains.csv")
    got = [(r["domain"], r["input"], r["compliant"], r["score"], [r[c] for c in MX_CHECKS])
           for r in rows]
    assert got == expected_rows(world)
    assert {r["status"] for r in rows} == {"ok"}
    header = next(csv.reader(open(tmp / "out" / "domains.csv", encoding="utf-8")))
    assert header[:5] == ["domain", "input", "status", "compliant", "score"]
    assert header[5:5 + len(all_checks())] == list(all_checks())
    assert rows[0]["mx_hosts"] == f"10:{world['shared_mx']}"


def test_findings_csv(world, scanned):
    tmp, _ = scanned
    rows = read_csv(tmp / "out" / "findings.csv")
    assert list(rows[0]) == ["domain", "check", "subject", "status", "message", "remediation"]
    mx = world["shared_mx"]
    cname = [(r["check"], r["subject"], r["status"]) for r in rows
             if r["domain"] == world["cname"] and r["check"] in MX_CHECKS]
    alias = f"alias.{world['cname']}"
    ip = next(r["subject"] for r in rows if r["check"] == "mx.ptr" and r["domain"] == world["good"])
    ip = ip.split("[")[1].rstrip("]")
    assert cname == [
        ("domain.valid", world["cname"], "pass"), ("domain.exists", world["cname"], "pass"),
        ("mx.present", world["cname"], "pass"), ("mx.null", world["cname"], "skipped"),
        ("mx.resolvable", alias, "pass"), ("mx.cname", alias, "warn"),
        ("mx.public_address", f"{alias} [{ip}]", "info"), ("mx.ipv6", world["cname"], "warn"),
        ("mx.ptr", f"{alias} [{ip}]", "pass")]
    warn = next(r for r in rows if r["domain"] == world["cname"] and r["check"] == "mx.cname")
    assert warn["message"] == f"the MX exchange is an alias (CNAME) for {mx}"
    assert warn["remediation"].startswith("Point the MX record")
    junk = [(r["domain"], r["check"], r["subject"], r["status"]) for r in rows
            if r["domain"].startswith("<script>")]
    assert junk == [("<script>alert(1)</script>", "domain.valid", "<script>alert(1)</script>", "fail")]


def test_results_jsonl(world, scanned):
    tmp, _ = scanned
    lines = (tmp / "out" / "results.jsonl").read_text(encoding="utf-8").splitlines()
    objs = [json.loads(line) for line in lines]
    assert [o["input"] for o in objs] == [r[1].lstrip("'") for r in expected_rows(world)]
    findings = read_csv(tmp / "out" / "findings.csv")
    assert sum(len(o["findings"]) for o in objs) == len(findings)
    for o in objs:
        ev = from_jsonable(DomainEvidence, o["evidence"])
        assert isinstance(ev, DomainEvidence) and ev.domain == o["domain"]
        assert set(o) >= {"domain", "input", "status", "verdict", "findings", "evidence"}
    good = from_jsonable(DomainEvidence, objs[0]["evidence"])
    assert good.mx.hosts[0].name == world["shared_mx"]
    assert (objs[0]["verdict"]["profile"], objs[0]["verdict"]["compliant"]) == ("mx-only", True)
    assert [e["position"] for e in (o["evidence"] for o in objs)] == list(range(len(objs)))


def test_report_html_is_escaped_and_self_contained(scanned):
    tmp, _ = scanned
    html = (tmp / "out" / "report.html").read_text(encoding="utf-8")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "http://" not in html and "https://" not in html.replace("https://mta-sts", "")
    assert html.count("<details id=\"d") == 11   # one section per domain


def test_formula_cells_neutralised(scanned):
    tmp, _ = scanned
    for name in ("domains.csv", "findings.csv"):
        for row in csv.reader(open(tmp / "out" / name, newline="", encoding="utf-8")):
            assert not any(cell[:1] in ("=", "+", "-", "@", "\t", "\r") for cell in row), row


def test_dns_cache_is_shared_by_the_whole_scan(lab, world, scanned):
    counts = lab.dns.query_counts
    assert counts[(world["shared_mx"], "A")] == 1       # three domains use this host
    assert counts[(world["shared_mx"], "AAAA")] == 1
    for role in ("good", "good2", "null", "cname", "implicit"):
        assert counts[(world[role], "MX")] == 1, role


def test_scan_is_in_the_store(world, scanned):
    tmp, _ = scanned
    with Store(tmp / "db.sqlite") as store:
        (rec,) = store.scans()
        assert (rec.profile, rec.domains, rec.compliant, rec.errors) == ("mx-only", 11, 5, 0)
        assert rec.finished
        assert [r.evidence.input for r in store.results(rec.id)][:2] == [
            world["good"], f"{world['null'].upper()}."]


def test_report_files_readable_like_other_files(scanned):
    """Reports are shared with other people and services: the umask decides, not mkstemp's 0600."""
    tmp, _ = scanned
    import os
    umask = os.umask(0)
    os.umask(umask)
    for name in ("report.html", "domains.csv", "findings.csv", "results.jsonl"):
        assert (tmp / "out" / name).stat().st_mode & 0o777 == 0o666 & ~umask, name


# ---- inputs through the CLI --------------------------------------------------------------
def test_stdin_csv_and_d(lab, world, tmp_path, run_cli):
    csv_text = f"domain,dkim_selectors\n{world['good']},s1;s2\n{world['null']},k1 k2\n"
    proc = run_cli(scan_args(lab, tmp_path, "-", extra=["-d", world["cname"], "-d", world["good"],
                                                        "--dkim-selector", "op"]),
                   input=csv_text, timeout=60)
    assert proc.returncode == 0, proc.stderr
    objs = [json.loads(x) for x in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert [(o["domain"], o["evidence"]["dkim_selectors"]) for o in objs] == [
        (world["cname"], ["op"]), (world["good"], ["op"]), (world["null"], ["k1", "k2", "op"])]


# ---- --fail-on -----------------------------------------------------------------------------
@pytest.mark.parametrize("domains, level, code", [
    (["good"], None, 0),
    (["good"], "fail", 0),
    (["good"], "warn", 0),          # the warnings of good (mx.ipv6) are not required checks
    (["implicit"], "fail", 0),
    (["implicit"], "warn", 1),      # mx.present warn is required
    (["nx"], None, 0),              # a scan that ran exits 0 whatever it found
    (["nx"], "fail", 1),
    (["fail"], "fail", 0),          # SERVFAIL: `error`, not `fail`
    (["fail"], "error", 1),
    (["good", "nx"], "fail", 1),
])
def test_fail_on(lab, world, tmp_path, run_cli, domains, level, code):
    extra = [x for d in domains for x in ("-d", world[d])]
    extra += ["--fail-on", level] if level else []
    proc = run_cli(scan_args(lab, tmp_path, extra=extra), timeout=60)
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
