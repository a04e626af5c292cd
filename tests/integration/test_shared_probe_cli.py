"""Through the real command line: 200 domains sharing one MX host cost the same SMTP
connections as one domain (each host+IP+port is probed once per scan)."""
from __future__ import annotations

import csv
from collections import Counter

import pytest

from scanner.lab.smtp_servers import start_smtp_host

pytestmark = pytest.mark.lab


def _zones(lab, unique_zone, mx_name: str, n: int) -> list[str]:
    names = [unique_zone("shared") for _ in range(n)]
    for z in names:
        lab.dns.add_zone(z, f"@ MX 10 {mx_name}.\n@ TXT \"v=spf1 -all\"\n")
    return names


def _scan(lab, run_cli, tmp_path, domains: list[str], tag: str):
    listing = tmp_path / f"{tag}.txt"
    listing.write_text("\n".join(domains) + "\n")
    proc = run_cli(["scan", listing, "--out", tmp_path / tag, "--db", tmp_path / "db.sqlite",
                    "--nameserver", lab.nameserver, "--allow-private", "--ca-file",
                    lab.ca.cert_path, "--timeout", "3", "-q", *lab.port_args()], timeout=120)
    assert proc.returncode == 0, proc.stderr
    with (tmp_path / tag / "domains.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_two_hundred_domains_one_probe_per_endpoint(lab, run_cli, unique_zone, tmp_path):
    ip = lab.allocate_ip()
    mx_name = f"mx.{unique_zone('provider')}"
    lab.dns.add_records(mx_name, "A", [ip])
    host = start_smtp_host(lab, ip, mx_name)

    one = _scan(lab, run_cli, tmp_path, _zones(lab, unique_zone, mx_name, 1), "one")
    after_one = Counter(host.connections)
    many = _scan(lab, run_cli, tmp_path, _zones(lab, unique_zone, mx_name, 200), "many")
    per_scan_of_200 = Counter(host.connections) - after_one

    assert one[0]["smtp.starttls"] == "pass"
    assert len(many) == 200 and {r["smtp.starttls"] for r in many} == {"pass"}
    assert per_scan_of_200 == after_one          # the same connections as for one domain
    assert set(after_one) == {(ip, p) for p in lab.ports.values() if p != lab.ports["https"]}
