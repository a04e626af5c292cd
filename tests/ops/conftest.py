"""Fixtures of the nightly-operations tests: small fast lab domains, scan arguments, an
isolated per-user config folder, and helpers to read the history database directly."""
from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest

# A domain that needs DNS only (null MX: no SMTP probes), compliant under baseline.
GOOD_ZONE = '@ MX 0 .\n@ TXT "v=spf1 -all"\n_dmarc TXT "v=DMARC1; p=reject"\n'
# The same domain gone bad: SPF +all, no DMARC.
BAD_ZONE = '@ MX 0 .\n@ TXT "v=spf1 +all"\n'


@pytest.fixture(autouse=True)
def no_user_config(tmp_path, monkeypatch):
    """No test reads the developer's ~/.config/mxaudit/config.toml."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))


@pytest.fixture
def make_domains(lab, unique_zone):
    """``make_domains(n, zone_text=GOOD_ZONE) -> [names]``: n fresh lab domains."""
    def make(n: int, zone_text: str = GOOD_ZONE) -> list[str]:
        names = []
        for _ in range(n):
            name = unique_zone("ops")
            lab.dns.add_zone(name, zone_text)
            names.append(name)
        return names
    return make


@pytest.fixture
def lab_args(lab) -> list[str]:
    """Scan options pointing at the lab (every lookup to its DNS server, loopback only)."""
    return ["--nameserver", lab.nameserver, "--allow-private", "--timeout", "2",
            "--mta-sts-port", str(lab.ports["https"]), *lab.port_args()]


def db_rows(db: Path, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute(sql, params).fetchall()


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
