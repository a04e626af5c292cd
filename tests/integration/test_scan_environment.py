"""The scanner's own network (issue 18), for real: the scan runs in a network namespace made
here, with the lab's servers inside on the real SMTP ports (tests/integration/netns_world.py).

- no IPv6 route: IPv6 endpoints are `skipped` (an IPv6-only MX host: `error`, nothing of it
  could be probed), never contacted; env.ipv6 warns once; a dual-stack domain scores as
  its IPv4-only twin;
- an IPv6 route (a dummy interface): the same world is probed over IPv6 and passes;
  ``--ip-version 4`` leaves IPv6 out as stated;
- outbound TCP to port 25 dropped by nftables: env.port25 warns once, port-25 subjects are
  `error` (never `fail`), and the port-25 connections attempted stop growing with the number
  of domains (counted, not timed); with ``--port25-canary`` none is attempted at all.

Needs root, ip(8) and nft(8): skipped with the reason otherwise, an error under
MXAUDIT_REQUIRE_NETNS=1 (CI).
"""
from __future__ import annotations

import csv
import json
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from scanner.collect.environment import PORT25_EVIDENCE
from scanner.evidence import DomainEvidence
from scanner.profiles import load_profile
from scanner.checks import all_checks
from scanner.result import judge
from scanner.serde import from_jsonable
from tests.conftest import REPO
from tests.netns import NetNs, netns_unavailable_reason, nft_unavailable_reason, require

pytestmark = [pytest.mark.lab, pytest.mark.netns]

DROP_25 = """
table inet mxaudit {
    chain out {
        type filter hook output priority 0; policy accept;
        tcp dport 25 drop
    }
}
"""
CONCURRENCY = 4
BASELINE = load_profile("baseline", set(all_checks()))


@pytest.fixture(scope="module")
def netns():
    require(netns_unavailable_reason())


@pytest.fixture(scope="module")
def nft(netns):
    require(nft_unavailable_reason())


@dataclass
class Scan:
    work: Path

    @property
    def rc(self) -> int:
        return int((self.work / "rc").read_text())

    @property
    def log(self) -> list[dict]:
        return [json.loads(line) for line in (self.work / "log.jsonl").read_text().splitlines()]

    @property
    def summary(self) -> dict:
        return self.log[-1]

    def note(self, note_id: str) -> dict:
        return next(n for n in self.summary["environment"] if n["id"] == note_id)

    @property
    def results(self) -> dict[str, dict]:
        lines = (self.work / "out" / "results.jsonl").read_text().splitlines()
        return {r["domain"]: r for r in map(json.loads, lines)}

    def findings(self, domain: str, check: str) -> list[tuple[str, str, str]]:
        return [(f["subject"], f["status"], f["message"]) for f in self.results[domain]["findings"]
                if f["check"] == check]

    def probes(self, domain: str) -> list[dict]:
        return self.results[domain]["evidence"]["smtp"]

    @property
    def scores(self) -> dict[str, int]:
        with open(self.work / "out" / "domains.csv", newline="") as fh:
            return {r["domain"]: int(r["score"]) for r in csv.DictReader(fh)}

    @property
    def hosts(self) -> dict[str, int]:
        return json.loads((self.work / "hosts.json").read_text())


def scan_in(ns: NetNs, work: Path, kind: str, *world_args: str, scan_args=()) -> Scan:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    ns.run([sys.executable, "-m", "tests.integration.netns_world", "--work", work, "--kind", kind,
            "--concurrency", CONCURRENCY, *world_args, "--", *scan_args], env=env, cwd=REPO)
    scan = Scan(work)
    assert scan.rc == 0, (work / "log.jsonl").read_text()[-2000:]
    return scan


# ------------------------------------------------------------------ IPv6

def test_without_an_ipv6_route_ipv6_is_skipped_and_said_once(netns, tmp_path):
    with NetNs("no-v6") as ns:
        assert "unreachable" in ns.run(["ip", "-6", "route", "get", "2001:500:2f::f"],
                                       check=False).stderr.lower()
        scan = scan_in(ns, tmp_path, "dual")
    note = scan.note("env.ipv6")
    assert (note["status"], note["domains"], note["endpoints"]) == ("warn", 2, 6)
    assert note["message"].startswith("this host has no route to global IPv6")
    assert scan.note("env.resolver")["status"] == "pass"
    reach = scan.findings("dual.test", "smtp.reachable")
    assert sorted(status for _, status, _ in reach) == ["pass"] * 3 + ["skipped"] * 3
    assert all("env.ipv6" in msg for subject, status, msg in reach if status == "skipped")
    for check in ("smtp.starttls", "smtp.tls_version", "smtp.cert_trusted"):
        assert all(status == "skipped" for subject, status, _ in scan.findings("dual.test", check)
                   if "2001:db8" in subject)
    assert [s for _, s, _ in scan.findings("v6only.test", "smtp.reachable")] == ["error"] * 3
    assert all(p["connections"] == 0 and p["environment"] == "env.ipv6"
               for d in ("dual.test", "v6only.test") for p in scan.probes(d) if ":" in p["ip"])
    # the dual-stack domain is judged on what was probed: its score is the score of its
    # evidence without the IPv6 endpoints at all
    ev = from_jsonable(DomainEvidence, scan.results["dual.test"]["evidence"])
    ipv4_only = replace(ev, smtp=tuple(p for p in ev.smtp if ":" not in p.ip))
    assert scan.scores["dual.test"] == judge(ipv4_only, BASELINE).verdict.score
    assert scan.results["dual.test"]["verdict"]["compliant"] is True
    assert all(f["status"] == "error" for f in scan.results["v6only.test"]["findings"]
               if f["check"] == "smtp.reachable")
    html = (tmp_path / "out" / "report.html").read_text()
    assert html.count("<h3 id=\"envh\">Scan environment</h3>") == 1 and "env.ipv6" in html
    assert "partly not tested: the scan's network conditions" in html


def test_with_an_ipv6_route_ipv6_is_probed_and_ip_version_4_leaves_it_out(netns, tmp_path):
    with NetNs("v6") as ns:
        # a veth pair inside the namespace: an interface with the MX hosts' IPv6 addresses
        # and the default route; its peer has no address, so nothing goes anywhere
        ns.sh("ip link add v6a type veth peer name v6b")
        ns.sh("ip link set v6a up")
        ns.sh("ip link set v6b up")
        for addr in ("2001:db8:25::1/64", "2001:db8:25::2/64"):
            ns.sh(f"ip -6 addr add {addr} dev v6a nodad")
        ns.sh("ip -6 route add default dev v6a")
        probed = scan_in(ns, tmp_path / "both", "dual", "--serve-v6")
        stated = scan_in(ns, tmp_path / "v4", "dual", "--serve-v6", scan_args=["--ip-version", "4"])
    assert probed.note("env.ipv6")["status"] == "pass"
    assert {s for _, s, _ in probed.findings("dual.test", "smtp.reachable")} == {"pass"}
    assert {s for _, s, _ in probed.findings("v6only.test", "smtp.tls_version")} == {"pass"}
    assert probed.hosts["mx.v6only.test 2001:db8:25::2 25"] >= 1
    note = stated.note("env.ipv6")
    assert note["status"] == "info" and "--ip-version 4" in note["message"]
    assert all(p["connections"] == 0 for p in stated.probes("dual.test") if ":" in p["ip"])
    assert stated.hosts.get("mx.v6only.test 2001:db8:25::2 25", 0) == 0


# ------------------------------------------------------------------ port 25

def _port25_attempts(scan: Scan) -> int:
    return sum(p["connections"] for r in scan.results.values() for p in r["evidence"]["smtp"]
               if p["port"] == 25)


def test_filtered_port25_is_said_once_is_never_a_fail_and_stops_being_tried(nft, tmp_path):
    scans = {}
    with NetNs("port25") as ns:
        ns.nft(DROP_25)
        for n in (8, 24):
            scans[n] = scan_in(ns, tmp_path / str(n), "port25", "--domains", str(n))
    bound = PORT25_EVIDENCE + CONCURRENCY       # the evidence, plus what was already in flight
    for n, scan in scans.items():
        note = scan.note("env.port25")
        assert note["status"] == "warn" and note["domains"] == n
        assert "timed out while their other ports answered" in note["message"]
        assert f"{_port25_attempts(scan)} connection(s) attempted" in note["message"]
        for domain in scan.results:
            (subject, status, message), = [f for f in scan.findings(domain, "smtp.reachable")
                                           if f[0].endswith(":25")]
            assert status == "error"                                  # never fail
            others = [status for subj, status, _ in scan.findings(domain, "smtp.reachable")
                      if not subj.endswith(":25")]
            assert others == ["pass", "pass"]
            assert scan.results[domain]["verdict"]["failed"] == []
        assert sum(n for key, n in scan.hosts.items() if key.endswith(" 25")) == 0   # all dropped
    attempts = {n: _port25_attempts(scan) for n, scan in scans.items()}
    assert PORT25_EVIDENCE <= attempts[8] <= bound and PORT25_EVIDENCE <= attempts[24] <= bound
    late = [m for d in sorted(scans[24].results)[-8:] for subj, _, m in
            scans[24].findings(d, "smtp.reachable") if subj.endswith(":25")]
    assert all("not probed: outbound port 25 looks filtered" in m and "env.port25" in m
               for m in late)


def test_a_canary_that_does_not_answer_on_port25_means_no_port25_attempt(nft, tmp_path):
    with NetNs("canary") as ns:
        ns.nft(DROP_25)
        scan = scan_in(ns, tmp_path, "port25", "--domains", "6", "--canary",
                       scan_args=["--port25-canary", "127.0.1.250"])
    note = scan.note("env.port25")
    assert note["status"] == "warn" and "the canary 127.0.1.250 did not answer" in note["message"]
    assert _port25_attempts(scan) == 0 and note["domains"] == note["endpoints"] == 6


def test_port25_that_works_is_a_pass(netns, tmp_path):
    with NetNs("open25") as ns:
        scan = scan_in(ns, tmp_path, "port25", "--domains", "3", "--canary",
                       scan_args=["--port25-canary", "127.0.1.250"])
    assert scan.note("env.port25")["status"] == "pass"
    assert all(s == "pass" for d in scan.results for _, s, _ in scan.findings(d, "smtp.reachable"))
