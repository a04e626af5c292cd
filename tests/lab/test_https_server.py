"""LabHttpsServer over real TLS on 127.0.1.x, with SNI, via raw ssl + HTTP/1.1 and via httpx."""

from __future__ import annotations

import asyncio
import ssl
import time

import httpx
import pytest

from scanner.lab.https_server import LabHttpsServer, Route
from scanner.lab.world import LabWorld

POLICY = b"version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\nmax_age: 86400\r\n"
WK = "/.well-known/mta-sts.txt"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with LabWorld(tmp_path_factory.mktemp("lab")) as w:
        yield w


@pytest.fixture(scope="module")
def site(world):
    ip = world.allocate_ip()
    server = world.https_site(ip)
    server.add_site("mta-sts.example.test", {
        WK: Route(body=POLICY),
        "/moved": Route(status=301, headers=(("Location", "https://elsewhere.test/"),)),
        "/html": Route(content_type="text/html", body=b"<p>hi</p>"),
        "/forever": Route(body=b"version: STSv1\n", behaviour="stream_forever"),
        "/slow": Route(body=POLICY, behaviour="slow"),
    })
    server.add_site("mta-sts.other.test", {WK: Route(body=b"other\n")})
    return ip, server


def client_context(world):
    return ssl.create_default_context(cafile=str(world.ca.cert_path))


async def fetch(world, ip, sni, path, *, host=None, timeout=3.0, context=None):
    """GET over TLS with SNI ``sni``; returns (status, headers dict, body)."""
    context = context or client_context(world)
    reader, writer = await asyncio.open_connection(ip, world.ports["https"], ssl=context, server_hostname=sni)
    try:
        request = f"GET {path} HTTP/1.1\r\nHost: {host or sni}\r\nConnection: close\r\n\r\n"
        writer.write(request.encode())
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.transport.abort()  # immediate, also when we gave up waiting
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def get(world, *args, **kw):
    return asyncio.run(fetch(world, *args, **kw))


def test_policy_served_and_counted(world, site):
    ip, server = site
    before = server.request_counts[("mta-sts.example.test", WK)]
    status, headers, body = get(world, ip, "mta-sts.example.test", WK)
    assert (status, headers["Content-Type"], body) == (200, "text/plain", POLICY)
    assert headers["Content-Length"] == str(len(POLICY))
    assert server.request_counts[("mta-sts.example.test", WK)] == before + 1


def test_sni_selects_site_and_certificate(world, site):
    ip, server = site
    assert get(world, ip, "mta-sts.other.test", WK)[2] == b"other\n"  # verified against its own name


def test_unknown_sni_gets_first_site(world, site):
    ip, _ = site
    context = client_context(world)
    context.check_hostname = False  # the first site's cert does not name the unknown host
    status, _, body = get(world, ip, "unknown.example.test", WK, context=context)
    assert (status, body) == (200, POLICY)
    with pytest.raises(ssl.SSLCertVerificationError):
        get(world, ip, "unknown.example.test", WK)


def test_unknown_path_is_404(world, site):
    ip, server = site
    assert get(world, ip, "mta-sts.example.test", "/nope")[0] == 404
    assert server.request_counts[("mta-sts.example.test", "/nope")] == 1


def test_redirect_headers(world, site):
    ip, _ = site
    status, headers, _ = get(world, ip, "mta-sts.example.test", "/moved")
    assert (status, headers["Location"]) == (301, "https://elsewhere.test/")


def test_stream_forever_stopped_by_client_timeout(world, site):
    ip, server = site

    async def read_some():
        reader, writer = await asyncio.open_connection(
            ip, world.ports["https"], ssl=client_context(world), server_hostname="mta-sts.example.test")
        writer.write(b"GET /forever HTTP/1.1\r\nHost: mta-sts.example.test\r\n\r\n")
        received = 0
        with pytest.raises(asyncio.TimeoutError):
            async with asyncio.timeout(0.5):
                while chunk := await reader.read(4096):
                    received += len(chunk)
        writer.transport.abort()  # no TLS close_notify dance with a server that never stops
        return received

    received = asyncio.run(read_some())
    assert received > 2000  # data kept flowing until we gave up
    assert get(world, ip, "mta-sts.example.test", WK)[0] == 200  # server unharmed


def test_slow_route_times_out_client(world, site):
    ip, _ = site
    started = time.monotonic()
    with pytest.raises(asyncio.TimeoutError):
        get(world, ip, "mta-sts.example.test", "/slow", timeout=0.3)
    assert time.monotonic() - started < 3


def test_httpx_with_sni_extension(world, site):
    """httpx (as the scanner uses it) connecting to the lab IP with SNI + Host of the policy host."""
    ip, _ = site
    url = f"https://{ip}:{world.ports['https']}{WK}"
    with httpx.Client(verify=client_context(world), timeout=3) as client:
        response = client.get(url, headers={"Host": "mta-sts.example.test"},
                              extensions={"sni_hostname": "mta-sts.example.test"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain"
    assert response.content == POLICY


def test_garbage_request_does_not_kill_server(world, site):
    ip, _ = site

    async def garbage():
        reader, writer = await asyncio.open_connection(
            ip, world.ports["https"], ssl=client_context(world), server_hostname="mta-sts.example.test")
        writer.write(b"\x00\x01garbage\r\n\r\n")
        data = await asyncio.wait_for(reader.read(), 2)
        writer.transport.abort()
        return data

    assert asyncio.run(garbage()) == b""
    assert get(world, ip, "mta-sts.example.test", WK)[0] == 200


def test_custom_cert_expired(world, tmp_path):
    """A site can be given any certificate, e.g. an expired one."""
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc)
    expired = world.ca.issue(["mta-sts.expired.test"], not_before=now - timedelta(days=9),
                             not_after=now - timedelta(days=1))
    ip = world.allocate_ip()
    world.https_site(ip).add_site("mta-sts.expired.test", {WK: Route(body=POLICY)}, cert=expired)
    with pytest.raises(ssl.SSLCertVerificationError, match="expired"):
        get(world, ip, "mta-sts.expired.test", WK)


def test_standalone_start_stop(world):
    async def run():
        server = LabHttpsServer("127.0.0.1", 0, world.ca)
        server.add_site("solo.test", {"/": Route(body=b"ok")})
        await server.start()
        try:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", server.port, ssl=client_context(world), server_hostname="solo.test")
            writer.write(b"GET / HTTP/1.1\r\nHost: solo.test\r\n\r\n")
            data = await asyncio.wait_for(reader.read(), 2)
            writer.transport.abort()
        finally:
            await server.stop()
        return data

    assert asyncio.run(run()).endswith(b"\r\n\r\nok")
