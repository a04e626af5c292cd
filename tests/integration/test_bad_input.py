"""Bad input that must work: every case ends with rows and findings, never a traceback or a hang."""
from __future__ import annotations

import csv
import socket
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

P, W, F, I, E, S, N = "pass", "warn", "fail", "info", "error", "skipped", ""
MX_CHECKS = ["domain.valid", "domain.exists", "mx.present", "mx.null", "mx.resolvable", "mx.cname",
             "mx.public_address", "mx.ipv6", "mx.ptr"]


def scan(run_cli, lab, tmp: Path, lines: list[str], *, nameserver=None, timeout="1",
         proc_timeout=60) -> tuple[list[dict], list[dict]]:
    (tmp / "list.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = run_cli(["scan", tmp / "list.txt", "--nameserver", nameserver or lab.nameserver,
                    "--allow-private", "--out", tmp / "out", "--db", tmp / "db.sqlite",
                    "--timeout", timeout, "--deadline", "30", "--mta-sts-port", lab.ports["https"],
                    *lab.port_args()], timeout=proc_timeout)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    with open(tmp / "out" / "domains.csv", newline="", encoding="utf-8") as fh:
        domains = list(csv.DictReader(fh))
    with open(tmp / "out" / "findings.csv", newline="", encoding="utf-8") as fh:
        findings = list(csv.DictReader(fh))
    return domains, findings


def statuses(row: dict) -> list[str]:
    return [row[c] for c in MX_CHECKS]


def host_findings(findings, domain, check):
    return [(f["subject"], f["status"]) for f in findings if f["domain"] == domain and f["check"] == check]


def test_junk_lines(run_cli, lab, tmp_path):
    junk = ["not a domain", "http://x.example/", "user@example.com", "1.2.3.4", "[::1]", "a..b",
            "-bad-.example", "x" * 70 + ".example", "\u2603.example", "just-one-label",
            "\x00\x01binary", "example.123", "a" * 500]
    domains, findings = scan(run_cli, lab, tmp_path, junk)
    assert len(domains) == len(junk)
    assert [d["domain.valid"] for d in domains] == [F] * len(junk)
    assert all(d["domain"] == "" and d["compliant"] == "false" and d["score"] == "0" for d in domains)
    assert [f["check"] for f in findings] == ["domain.valid"] * len(junk)
    assert domains[-1]["input"] == "a" * 300                  # bounded, as given
    assert all(d["scan_error"].startswith(("not a valid", "looks like", "an IP", "a single",
                                           "the top-level", "input too long", "contains"))
               for d in domains), [d["scan_error"] for d in domains]


def test_nxdomain_and_servfail_and_refused(run_cli, lab, tmp_path, unique_zone):
    nx_zone, sf, rf = unique_zone(), unique_zone(), unique_zone()
    lab.dns.add_zone(nx_zone, "")
    lab.dns.add_zone(sf, "@ MX 10 mx.example.test.\n")
    lab.dns.set_behaviour(sf, "servfail")
    lab.dns.add_zone(rf, "@ MX 10 mx.example.test.\n")
    lab.dns.set_behaviour(rf, "refused")
    domains, findings = scan(run_cli, lab, tmp_path, [f"nx.{nx_zone}", sf, rf, "outside.invalid"])
    assert [(d["domain"], statuses(d)) for d in domains] == [
        (f"nx.{nx_zone}", [P, F] + [S] * 7),
        (sf, [P] + [E] * 8),
        (rf, [P] + [E] * 8),
        ("outside.invalid", [P] + [E] * 8),      # not served by the lab: REFUSED
    ]
    exists = {f["domain"]: f["message"] for f in findings if f["check"] == "domain.exists"}
    assert exists[sf] == f"could not be determined: MX {sf}: servfail (server failure (SERVFAIL))"
    assert exists[rf] == f"could not be determined: MX {rf}: refused (server refused the query)"


def test_nameserver_that_never_answers(run_cli, lab, tmp_path, unique_zone):
    z = unique_zone()
    lab.dns.add_zone(z, "@ MX 10 mx.example.test.\n")
    lab.dns.set_behaviour(z, "drop")
    domains, findings = scan(run_cli, lab, tmp_path, [z], timeout="0.5")
    assert [(d["domain"], statuses(d)) for d in domains] == [(z, [P] + [E] * 8)]
    exists = next(f for f in findings if f["check"] == "domain.exists")
    assert "timeout" in exists["message"]
    assert lab.dns.query_counts[(z, "MX")] >= 2     # retried before giving up


def test_nameserver_port_where_nothing_listens(run_cli, lab, tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    names = ["a.example", "b.example", "c.example"]
    domains, _ = scan(run_cli, lab, tmp_path, names, nameserver=f"127.0.0.1:{port}", timeout="0.5")
    assert [(d["domain"], d["domain.exists"], d["mx.present"]) for d in domains] == [
        (n, E, E) for n in names]


def test_mx_cname_chain_and_loop(run_cli, lab, tmp_path, unique_zone):
    chain, loop = unique_zone(), unique_zone()
    ip = lab.allocate_ip()
    lab.dns.add_zone(chain, f"@ MX 10 a.{chain}.\na CNAME b.{chain}.\nb CNAME c.{chain}.\nc A {ip}\n")
    lab.dns.add_zone(loop, f"@ MX 10 l1.{loop}.\nl1 CNAME l2.{loop}.\nl2 CNAME l1.{loop}.\n")
    domains, findings = scan(run_cli, lab, tmp_path, [chain, loop])
    assert host_findings(findings, chain, "mx.cname") == [(f"a.{chain}", W)]
    assert host_findings(findings, chain, "mx.resolvable") == [(f"a.{chain}", P)]
    assert next(f["message"] for f in findings if f["domain"] == chain and f["check"] == "mx.cname") \
        == f"the MX exchange is an alias (CNAME) for c.{chain}"
    assert host_findings(findings, loop, "mx.resolvable") == [(f"l1.{loop}", E)]
    assert host_findings(findings, loop, "mx.cname") == [(f"l1.{loop}", E)]
    assert [d["mx.present"] for d in domains] == [P, P]


def test_mx_answer_of_300_records(run_cli, lab, tmp_path, unique_zone):
    z = unique_zone()
    ip = lab.allocate_ip()
    lab.dns.add_zone(z, "".join(f"@ MX {i} mx{i:03d}.{z}.\nmx{i:03d} A {ip}\n" for i in range(300)))
    lab.dns.add_records(f"{ip.split('.')[-1]}.1.0.127.in-addr.arpa", "PTR", [f"mx000.{z}."])
    domains, findings = scan(run_cli, lab, tmp_path, [z])
    (row,) = domains
    assert statuses(row) == [P, P, P, S, P, P, I, W, P]
    present = next(f for f in findings if f["check"] == "mx.present")
    assert present["message"].startswith(f"300 MX record(s): 0 mx000.{z}, 1 mx001.{z}")
    assert present["message"].endswith("and 295 more; examined the first 10 hosts")
    assert len(host_findings(findings, z, "mx.resolvable")) == 10
    assert lab.dns.query_counts[(f"mx010.{z}", "A")] == 0      # beyond the cap: never asked
