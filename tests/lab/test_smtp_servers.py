"""Lab SMTP servers: API contract (behaviours, ports, connection counters, stop)."""
from __future__ import annotations

import smtplib
import socket

import pytest

from scanner.lab.smtp_servers import BEHAVIOURS, start_smtp_host
from scanner.lab.world import LabWorld

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with LabWorld(tmp_path_factory.mktemp("smtp-servers")) as w:
        yield w


def test_unknown_behaviour_is_refused(world):
    with pytest.raises(ValueError, match="unknown behaviour"):
        start_smtp_host(world, world.allocate_ip(), "x.example.test", behaviour="nice")


def test_good_host_counts_connections_per_port(world):
    ip = world.allocate_ip()
    host = start_smtp_host(world, ip, "mx.example.test")
    assert host.ports == {r: world.ports[r] for r in ("smtp", "submissions", "submission")}
    with smtplib.SMTP(ip, host.ports["submission"], timeout=5) as s:
        assert s.ehlo()[0] == 250 and s.has_extn("starttls") and not s.has_extn("auth")
        assert s.mail("a@example.test")[0] == 530
    assert host.connections_on("submission") == 1 and host.connections_on("smtp") == 0


def test_greet_554_and_stop_closes_tarpits(world):
    ip = world.allocate_ip()
    host = start_smtp_host(world, ip, "bad.example.test", behaviour="greet_554")
    with socket.create_connection((ip, host.ports["smtp"]), timeout=5) as s:
        assert s.recv(100).startswith(b"554 ")
    ip2 = world.allocate_ip()
    tarpit = start_smtp_host(world, ip2, "slow.example.test", behaviour="tarpit")
    with socket.create_connection((ip2, tarpit.ports["smtp"]), timeout=5) as s:
        s.settimeout(0.2)
        with pytest.raises(socket.timeout):
            s.recv(10)
        world.call(tarpit.stop())
        s.settimeout(5)
        assert s.recv(10) == b""   # stop() aborts held connections


def test_every_behaviour_starts(world):
    for behaviour in BEHAVIOURS:
        host = start_smtp_host(world, world.allocate_ip(), "b.example.test", behaviour=behaviour)
        assert host.behaviour == behaviour
