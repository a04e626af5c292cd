"""Collection in several processes (issue 17, ``--workers N``), against the lab: the same
evidence, findings and positions as a one-process scan; a shared MX host probed once across
processes; a collector that dies or a stop signal ends the scan cleanly."""
from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

import scanner
from scanner.evidence import PortSpec
from scanner.lab.smtp_servers import start_smtp_host
from scanner.serde import dumps, to_jsonable
from scanner.run.processes import default_workers

pytestmark = pytest.mark.lab

ROLES = ("smtp", "submissions", "submission")


def _zone(lab, zone: str, mx: str) -> str:
    lab.dns.add_zone(zone, f"""
@ MX 10 {mx}.
@ TXT "v=spf1 -all"
_dmarc TXT "v=DMARC1; p=reject; rua=mailto:d@{zone}"
""")
    return zone


@pytest.fixture(scope="module")
def world(lab):
    """A list like a real one: providers shared by many domains (one of them under two
    names), domains with their own MX host of several behaviours, null MX, a missing
    domain and an invalid input."""
    from tests.conftest import new_zone_name as name
    hosts = {}
    for tag, behaviour in (("prov-a", "good"), ("prov-b", "no_starttls"), ("own-1", "good"),
                           ("own-2", "tls10_only"), ("own-3", "weak_cipher"),
                           ("own-4", "greet_554")):
        ip = lab.allocate_ip()
        mx = f"mx.{name(tag)}"
        lab.dns.add_records(mx, "A", [ip])
        hosts[tag] = (mx, ip, start_smtp_host(lab, ip, mx, behaviour=behaviour))
    # a second name for prov-a's address (one address per name: the lab's DNS server, like
    # real ones, shuffles an RRset of several, so two scans would record different orders)
    alias = f"mx.{name('prov-c')}"
    lab.dns.add_records(alias, "A", [hosts["prov-a"][1]])
    hosts["prov-c"] = (alias, hosts["prov-a"][1], hosts["prov-a"][2])
    domains = []
    for i in range(36):
        tag = ("prov-a", "prov-b", "prov-c")[i % 3]
        domains.append(_zone(lab, name(f"d{i}"), hosts[tag][0]))
        if i % 6 == 5:
            own = ("own-1", "own-2", "own-3", "own-4")[(i // 6) % 4]
            domains.append(_zone(lab, name(own), hosts[own][0]))
    null = name("nullmx")
    lab.dns.add_zone(null, '@ MX 0 .\n@ TXT "v=spf1 -all"\n')
    domains[5:5] = [null, f"missing-{name('nx')}", "not a domain"]
    return domains, hosts


def _scan(lab, domains, **kw):
    host, port = lab.nameserver.split(":")
    return scanner.scan(domains, nameservers=[(host, int(port))], allow_private=True,
                        ca_file=lab.ca.cert_path, mta_sts_port=lab.ports["https"],
                        ports=[PortSpec(lab.ports[r], r) for r in ROLES], timeout=10.0,
                        **kw)


def _first_difference(a, b, path="") -> str:
    """Where two JSON values first differ (a readable assertion message)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                return _first_difference(a.get(k), b.get(k), f"{path}.{k}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
    return f"{path}: {a!r} != {b!r}"


# A server that drops a raw ClientHello (the weak-cipher probe) closes with a reset or an
# orderly close depending on timing on its side: the same in any scan, not the scan's doing.
_CLOSE_RACE = re.compile(r"\((ConnectionResetError|IncompleteReadError)\)")


def _untimed(ev):
    """The evidence without the clock readings of its scan (scan time, DNSSEC validation time)."""
    ev = replace(ev, scanned_at="")
    return replace(ev, dnssec=replace(ev.dnssec, validated_at="")) if ev.dnssec else ev


def _comparable(results):
    """Each result as a whole: evidence (bar the scan time) and findings, by position."""
    return [(r.evidence.position,
             json.loads(_CLOSE_RACE.sub("(closed)", dumps(_untimed(r.evidence)))),
             [(f.check, f.subject, f.status.value, _CLOSE_RACE.sub("(closed)", f.message))
              for f in r.findings])
            for r in results]


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_same_results_as_one_process(lab, world, workers):
    domains, _ = world
    one = _comparable(_scan(lab, domains, workers=1))
    many = _comparable(_scan(lab, domains, workers=workers))
    assert [p for p, _, _ in many] == list(range(len(domains)))
    assert len(one) == len(many)
    for a, b in zip(one, many):
        assert to_jsonable(a) == to_jsonable(b), _first_difference(to_jsonable(a), to_jsonable(b))
    statuses = Counter(s for _, _, fs in many for _, _, s, _ in fs)
    assert statuses["pass"] and statuses["fail"]      # a varied world, not all errors


def test_shared_mx_probed_once_across_processes(lab, world):
    """36 domains over three providers, dealt to three processes: every MX host gets the
    connections of a one-process scan, and a provider's as many as for one of its domains
    (each endpoint probed once, by the process that owns its address)."""
    domains, hosts = world

    def connections(workers: int, listing: list[str]) -> dict[str, Counter]:
        before = {tag: Counter(h.connections) for tag, (_, _, h) in hosts.items()}
        _scan(lab, listing, workers=workers)
        return {tag: Counter(h.connections) - before[tag] for tag, (_, _, h) in hosts.items()}

    alone = connections(1, [domains[1]])               # one prov-b domain
    one_process = connections(1, domains)
    three = connections(3, domains)
    assert alone["prov-b"] and three["prov-b"] == alone["prov-b"]
    assert three == one_process
    assert all(three[tag] for tag in hosts)


def _environment(lab, domains, workers):
    import asyncio

    from scanner.api import get_profile, make_options, run_scan
    from scanner.inputs import targets_from_strings
    host, port = lab.nameserver.split(":")
    opts = make_options(nameservers=[(host, int(port))], allow_private=True,
                        ca_file=lab.ca.cert_path, mta_sts_port=lab.ports["https"],
                        ports=[PortSpec(lab.ports[r], r) for r in ROLES], timeout=3.0)
    stats = asyncio.run(run_scan(list(targets_from_strings(domains)), opts,
                                 get_profile("baseline"), lambda r: None, workers=workers))
    return [(n.id, n.status, n.domains, n.endpoints, n.message) for n in stats.environment.notes]


def test_environment_notes_add_up(lab, world):
    """The scan's environment notes (with their counts) are the same whether one process
    or three collected."""
    domains, _ = world
    assert _environment(lab, domains, 1) == _environment(lab, domains, 3)


def test_default_workers():
    assert default_workers(None) >= 1
    assert default_workers(10) == 1                 # a short list: no process to start
    assert default_workers(10_000) == len(os.sched_getaffinity(0))


# ------------------------------------------------------------------ through the command line
def _cli_scan(lab, tmp_path: Path, domains, tag: str, *extra: str) -> subprocess.Popen:
    listing = tmp_path / f"{tag}.txt"
    listing.write_text("\n".join(domains) + "\n")
    cmd = [sys.executable, "-m", "scanner", "scan", str(listing), "--out", str(tmp_path / tag),
           "--db", str(tmp_path / f"{tag}.sqlite"), "--nameserver", lab.nameserver,
           "--allow-private", "--ca-file", str(lab.ca.cert_path), "--timeout", "10", "-q",
           *lab.port_args(), *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [{k: v for k, v in row.items() if k != "scanned_at"} for row in csv.DictReader(fh)]


def test_cli_reports_identical(lab, world, tmp_path):
    domains, _ = world
    runs = {}
    for n in ("1", "3"):
        proc = _cli_scan(lab, tmp_path, domains, f"w{n}", "--workers", n)
        out, err = proc.communicate(timeout=300)
        assert proc.returncode in (0, 1), err
        runs[n] = _rows(tmp_path / f"w{n}" / "domains.csv")
    for one, three in zip(runs["1"], runs["3"]):
        assert one == three, {k: (v, three.get(k)) for k, v in one.items() if three.get(k) != v}
    assert len(runs["3"]) == len(domains)


def _collectors(pid: int) -> list[int]:
    """The collector processes among ``pid``'s children."""
    out = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"scanner.run.collector" in cmdline:
            out.append(int(child))
    return out


def _slow_world(lab, n: int) -> list[str]:
    """Domains whose MX hosts say nothing (tarpits): a scan that lasts a while."""
    from tests.conftest import new_zone_name as name
    domains = []
    for i in range(n):
        ip = lab.allocate_ip()
        mx = f"mx.{name('tarpit')}"
        lab.dns.add_records(mx, "A", [ip])
        start_smtp_host(lab, ip, mx, behaviour="tarpit")
        domains.append(_zone(lab, name(f"slow{i}"), mx))
    return domains


def _wait_for_collectors(proc: subprocess.Popen, n: int) -> list[int]:
    for _ in range(600):
        found = _collectors(proc.pid)
        if len(found) == n:
            return found
        time.sleep(0.05)
    pytest.fail("the collectors never started")


def test_collector_crash_is_an_internal_error(lab, tmp_path):
    proc = _cli_scan(lab, tmp_path, _slow_world(lab, 8), "crash", "--workers", "2")
    victims = _wait_for_collectors(proc, 2)
    time.sleep(0.5)
    os.kill(victims[1], signal.SIGKILL)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 70, err
    assert b"collector process" in err and err.count(b"\n") <= 3     # one line, no traceback
    assert all(not Path(f"/proc/{v}").exists() for v in victims)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_stop_signal_ends_collectors(lab, tmp_path, sig):
    proc = _cli_scan(lab, tmp_path, _slow_world(lab, 8), f"stop{sig}", "--workers", "2")
    victims = _wait_for_collectors(proc, 2)
    time.sleep(0.5)
    os.killpg(proc.pid, sig)             # a terminal's Ctrl-C reaches the whole group
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert (tmp_path / f"stop{sig}" / "domains.csv").exists()
    for v in victims:
        for _ in range(100):
            if not Path(f"/proc/{v}").exists():
                break
            time.sleep(0.05)
        assert not Path(f"/proc/{v}").exists()
