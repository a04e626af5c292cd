"""--dask: a scan sharded over a two-worker LocalCluster finds exactly what a local scan finds,
and lands as one scan in the store with one set of reports."""
from __future__ import annotations

import asyncio
import csv
import json
import sqlite3

import pytest

from scanner.api import get_profile, run_scan
from scanner.cli import main
from scanner.run.cluster import Shard, collect_on_cluster, decode_evidence, failed_shard, \
    make_shards, scan_shard
from scanner.run.stream import judging
from scanner.serde import dumps
from scanner.inputs import targets_from_strings
from scanner.options import ScanOptions
from scanner.result import DomainResult
from scanner.evidence.smtp import PortSpec

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def cluster():
    """Two in-process workers, one thread each, on loopback TCP, no dashboard."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  protocol="tcp", host="127.0.0.1", dashboard_address=None,
                                  silence_logs=40) as c:
        with distributed.Client(c, timeout=20) as client:
            yield c, client


def _world(lab, unique_zone, n: int = 9) -> list[str]:
    """n domains: MX on loopback hosts with no listener (connection refused: deterministic),
    SPF, DMARC and a DKIM key; a third share one MX host, like hosted mail."""
    shared_ip = lab.allocate_ip()
    domains = []
    for i in range(n):
        zone = unique_zone("dask")
        ip = shared_ip if i % 3 == 0 else lab.allocate_ip()
        lab.dns.add_zone(zone, f"""
@ MX 10 mx.{zone}.
mx A {ip}
@ TXT "v=spf1 mx -all"
_dmarc TXT "v=DMARC1; p={'reject' if i % 2 else 'none'}; rua=mailto:d@{zone}"
""")
        domains.append(zone)
    return domains + ["not a domain"]


def _options(lab) -> ScanOptions:
    host, port = lab.nameserver.split(":")
    ports = tuple(PortSpec(lab.ports[r], r) for r in ("smtp", "submissions", "submission"))
    return ScanOptions(nameservers=((host, int(port)),), allow_private=True, ports=ports,
                       ca_file=lab.ca.cert_path, timeout=2.0, domain_deadline=20.0,
                       concurrency=4)


def _facts(results: list[DomainResult]) -> list[tuple]:
    """Everything a finding says, per domain, in input order."""
    out = []
    for r in sorted(results, key=lambda r: r.evidence.position):
        out.append((r.evidence.position, r.evidence.domain, r.status, r.verdict.score,
                    tuple(sorted((f.check, f.subject, f.status.value, f.message) for f in r.findings))))
    return out


def _local(options, profile, domains) -> list[DomainResult]:
    got: list[DomainResult] = []
    asyncio.run(asyncio.wait_for(
        run_scan(list(targets_from_strings(domains)), options, profile, got.append), 60))
    return got


def test_dask_scan_gives_the_same_findings_as_a_local_scan(lab, unique_zone, cluster):
    _, client = cluster
    domains = _world(lab, unique_zone)
    options, profile = _options(lab), get_profile("baseline")
    local = _local(options, profile, domains)

    got: list[DomainResult] = []
    stats = collect_on_cluster(targets_from_strings(domains), options,
                               judging(profile, got.append), client, shard_size=3)
    assert (stats.domains, stats.completed) == (10, 10)
    assert _facts(got) == _facts(local)
    assert [r.evidence.position for r in sorted(got, key=lambda r: r.evidence.position)] == list(range(10))
    # the work really was spread: both workers ran shards
    assert all(n > 0 for n in _tasks_per_worker(client).values())
    checks = {(f.check, f.status.value) for r in got if r.evidence.domain == domains[1]
              for f in r.findings}
    assert {("mx.present", "pass"), ("mx.resolvable", "pass"), ("smtp.reachable", "fail")} <= checks


def _tasks_per_worker(client) -> dict[str, int]:
    def count(dask_worker):
        return sum(1 for key in dask_worker.state.log if "scan_shard" in str(key))
    return client.run(count)


@pytest.mark.parametrize("report_worker", ["0", "1"], ids=["reports-in-process", "report-worker"])
def test_cli_dask_writes_one_scan_and_one_set_of_reports(lab, unique_zone, cluster, tmp_path,
                                                          monkeypatch, report_worker, capsys):
    """With the report worker forced on, the evidence the shards collect goes to it as a local
    scan's does: it judges, stores and writes the same reports."""
    monkeypatch.setenv("MXAUDIT_REPORT_WORKER", report_worker)
    c, _ = cluster
    domains = _world(lab, unique_zone, n=4)
    listing = tmp_path / "domains.txt"
    listing.write_text("\n".join(domains) + "\n")
    db, out = tmp_path / "h.sqlite", tmp_path / "out"
    argv = ["scan", str(listing), "--out", str(out), "--db", str(db), "--log-format", "json",
            "--nameserver", lab.nameserver, "--allow-private", "--ca-file", str(lab.ca.cert_path),
            "--timeout", "2", "--dask", c.scheduler_address, *lab.port_args()]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().err.splitlines()[-1])
    assert summary["reports_by"] == ("worker" if report_worker == "1" else "scan")
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT COUNT(*) FROM scans").fetchone() == (1,)
        assert con.execute("SELECT COUNT(*) FROM results").fetchone() == (5,)
    with open(out / "domains.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["input"] for r in rows] == domains
    assert [r["status"] for r in rows] == ["ok"] * 4 + ["ok"]


def test_unreachable_scheduler_is_a_usage_error(tmp_path, capsys, monkeypatch):
    import scanner.run.cluster as d
    monkeypatch.setattr(d, "CONNECT_TIMEOUT", 0.5)
    rc = main(["scan", "-d", "example.test", "--out", str(tmp_path / "o"), "--db",
               str(tmp_path / "h.sqlite"), "-q", "--nameserver", "127.0.0.1:9",
               "--dask", "tcp://127.0.0.1:9"])
    assert rc == 2
    assert "--dask tcp://127.0.0.1:9: cannot reach the scheduler" in capsys.readouterr().err


def test_shards_are_contiguous_and_keep_input_positions():
    targets = list(targets_from_strings(f"d{i}.test" for i in range(7)))
    shards = list(make_shards(targets, ScanOptions(), size=3))
    assert [(s.first_position, [t.domain for t in s.targets]) for s in shards] == [
        (0, ["d0.test", "d1.test", "d2.test"]), (3, ["d3.test", "d4.test", "d5.test"]),
        (6, ["d6.test"])]


def test_a_failed_shard_becomes_error_rows_not_lost_domains():
    targets = tuple(targets_from_strings(["a.test", "b..test"]))
    shard = Shard(5, targets, ScanOptions())
    rows: list[DomainResult] = []
    for ev in failed_shard(shard, "KilledWorker: boom"):
        judging(get_profile("baseline"), rows.append)(ev)
    assert [(r.evidence.position, r.status) for r in rows] == [(5, "error"), (6, "ok")]
    assert rows[0].evidence.error == "distributed shard failed: KilledWorker: boom"
    assert ("domain.valid", "fail") in {(f.check, f.status.value) for f in rows[1].findings}


def test_evidence_round_trips_through_the_wire_format():
    shard = Shard(0, tuple(targets_from_strings(["x..test"])), ScanOptions())
    outcome = scan_shard(shard)          # an invalid name: no network at all
    (text,) = outcome.evidence
    ev = decode_evidence(text)
    assert dumps(ev) == text
    assert (ev.position, ev.input) == (0, "x..test")
