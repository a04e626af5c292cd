"""LabWorld: thread + loop lifecycle, loopback address allocation, ports, registration."""

from __future__ import annotations

import asyncio
import socket

import dns.message
import dns.query
import dns.rcode
import pytest

from scanner.lab.world import LabWorld, check_loopback_aliases


def test_loopback_aliases_bind_without_setup():
    """Linux routes 127.0.0.0/8 to lo: 127.0.1.x binds unprivileged with no configuration."""
    check_loopback_aliases("127.0.1.1")
    check_loopback_aliases("127.0.1.200")


def test_lifecycle_and_dns(tmp_path):
    world = LabWorld(tmp_path)
    assert world.ca.cert_path == tmp_path / "ca" / "ca.pem"
    world.dns.add_records("mx.world.test", "A", ["127.0.1.1"])
    with world:
        host, port = world.nameserver.split(":")
        assert host == "127.0.0.1" and int(port) == world.dns.port
        r = dns.query.udp(dns.message.make_query("mx.world.test", "A"), host, port=int(port), timeout=2)
        assert r.rcode() == dns.rcode.NOERROR and r.answer
        assert world.loop.is_running()
    assert not world.loop.is_running()
    with pytest.raises(OSError):  # the DNS server is gone
        with socket.create_connection(("127.0.0.1", int(port)), timeout=1):
            pass


def test_ports_and_port_args(tmp_path):
    with LabWorld(tmp_path) as world:
        assert set(world.ports) == {"smtp", "submissions", "submission", "https"}
        assert len(set(world.ports.values())) == 4
        assert all(1024 < p < 65536 for p in world.ports.values())
        p = world.ports
        assert world.port_args() == ["--port", f"{p['smtp']}:smtp", "--port", f"{p['submissions']}:submissions",
                                     "--port", f"{p['submission']}:submission"]
        ip = world.allocate_ip()
        with socket.create_server((ip, p["smtp"])):  # free on the allocated address
            pass


def test_allocate_ip_sequence(tmp_path):
    world = LabWorld(tmp_path)
    ips = [world.allocate_ip() for _ in range(300)]
    assert ips[:3] == ["127.0.1.1", "127.0.1.2", "127.0.1.3"]
    assert len(set(ips)) == 300
    assert all(ip.startswith("127.") and not ip.endswith((".0", ".255")) for ip in ips)
    assert "127.0.0.1" not in ips and "127.0.0.53" not in ips
    assert not any(ip.startswith("127.0.2.") for ip in ips)  # reserved for tests/peers
    assert ips[254] == "127.0.3.1"


def test_call_and_register(tmp_path):
    stopped = []

    async def closer():
        stopped.append(asyncio.get_running_loop())

    async def which_loop():
        return asyncio.get_running_loop()

    with LabWorld(tmp_path) as world:
        assert world.call(which_loop()) is world.loop
        world.register(closer)
    assert stopped == [world.loop]


def test_call_propagates_exceptions(tmp_path):
    async def boom():
        raise KeyError("x")

    with LabWorld(tmp_path) as world:
        with pytest.raises(KeyError):
            world.call(boom())


def test_failing_closer_does_not_block_stop(tmp_path):
    async def broken():
        raise RuntimeError("broken server")

    with LabWorld(tmp_path) as world:
        world.register(broken)
    assert not world.loop.is_running()
