"""A minimal HTTPS/1.1 server for the lab's MTA-STS policy hosts (asyncio + ssl, no framework).

MTA-STS policy fetching is where a scanner meets hostile web servers: wrong certificates,
redirects (forbidden by RFC 8461 3.3), wrong content types, endless bodies, tarpits. This
server produces each of those on demand. It is intentionally tiny and not a general web
server: one request per connection (``Connection: close``), bodies of requests ignored,
routes matched on the exact path (query string dropped).

Several host names share one address and port; SNI picks the site (and its certificate),
an unknown or absent SNI falls back to the Host header, then to the first site added.
"""

from __future__ import annotations

import asyncio
import collections
import http
import logging
import ssl
from dataclasses import dataclass

from scanner.lab.ca import IssuedCert, LabCA

__all__ = ["LabHttpsServer", "Route", "ROUTE_BEHAVIOURS"]

log = logging.getLogger(__name__)

ROUTE_BEHAVIOURS = ("normal", "stream_forever", "slow")
SLOW_SECONDS = 30.0
STREAM_CHUNK = b"# mxaudit lab: this body never ends\n" * 28  # ~1 KB
STREAM_INTERVAL = 0.05  # ~20 KB/s: trips both a size cap and a read deadline
_HEADER_LIMIT = 64 * 1024
_READ_TIMEOUT = 10.0


@dataclass(frozen=True)
class Route:
    """What one path answers. ``headers`` are sent as given (e.g. ``Location`` for redirects)."""

    status: int = 200
    content_type: str = "text/plain"
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    behaviour: str = "normal"

    def __post_init__(self) -> None:
        if self.behaviour not in ROUTE_BEHAVIOURS:
            raise ValueError(f"unknown behaviour {self.behaviour!r}; expected one of {ROUTE_BEHAVIOURS}")


@dataclass
class _Site:
    hostname: str
    routes: dict[str, Route]
    context: ssl.SSLContext


def _server_context(cert: IssuedCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert.cert_path, cert.key_path)
    except ssl.SSLError:
        # A deliberately weak key (rsa1024) is refused at OpenSSL's default security level.
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        context.load_cert_chain(cert.cert_path, cert.key_path)
    return context


class LabHttpsServer:
    """HTTPS sites on one (host, port); sites may be added before or after ``start``."""

    def __init__(self, host: str, port: int, ca: LabCA) -> None:
        self.host = host
        self.port = port
        self.ca = ca
        self.request_counts: collections.Counter = collections.Counter()
        self._sites: dict[str, _Site] = {}
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    def add_site(self, hostname: str, routes: dict[str, Route], *, cert: IssuedCert | None = None) -> None:
        """Serve ``routes`` for ``hostname`` (replacing an earlier site of that name)."""
        key = hostname.rstrip(".").lower()
        cert = cert or self.ca.issue([key])
        self._sites[key] = _Site(key, dict(routes), _server_context(cert))

    async def start(self) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.sni_callback = self._select_site
        self._server = await asyncio.start_server(self._serve, self.host, self.port, ssl=context,
                                                  ssl_handshake_timeout=_READ_TIMEOUT)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    def _select_site(self, ssl_object: ssl.SSLObject, server_name: str | None, _ctx) -> None:
        """SNI callback: switch to the named site's certificate (first site when unknown)."""
        site = self._site_for(server_name)
        if site is not None:
            ssl_object.context = site.context

    def _site_for(self, *names: str | None) -> _Site | None:
        for name in names:
            if name and name.rstrip(".").lower() in self._sites:
                return self._sites[name.rstrip(".").lower()]
        return next(iter(self._sites.values()), None)

    # ------------------------------------------------------------------ one connection
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT)
            if len(head) > _HEADER_LIMIT:
                return
            method, path, headers = _parse_head(head)
            sni = writer.get_extra_info("ssl_object").server_hostname
            site = self._site_for(sni, headers.get("host", "").split(":")[0])
            path = path.split("?", 1)[0]
            if site is None:
                await _send(writer, Route(status=404, body=b"no site\n"), method)
                return
            self.request_counts[(site.hostname, path)] += 1
            route = site.routes.get(path) or Route(status=404, body=b"not found\n")
            await self._answer(writer, route, method)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError,
                ConnectionError, ssl.SSLError, ValueError):
            pass  # client went away or spoke garbage: just hang up
        except asyncio.CancelledError:
            pass  # stop(): end quietly (3.11's streams callback chokes on a cancelled handler task)
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _answer(self, writer: asyncio.StreamWriter, route: Route, method: str) -> None:
        if route.behaviour == "slow":
            await asyncio.sleep(SLOW_SECONDS)
        if route.behaviour == "stream_forever":
            writer.write(_status_and_headers(route, content_length=None))
            writer.write(route.body)
            while not writer.is_closing():
                writer.write(STREAM_CHUNK)
                await writer.drain()
                await asyncio.sleep(STREAM_INTERVAL)
            return
        await _send(writer, route, method)


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return method, path, headers


def _status_and_headers(route: Route, *, content_length: int | None) -> bytes:
    try:
        phrase = http.HTTPStatus(route.status).phrase
    except ValueError:
        phrase = "Unknown"
    lines = [f"HTTP/1.1 {route.status} {phrase}", f"Content-Type: {route.content_type}", "Connection: close"]
    if content_length is not None:
        lines.append(f"Content-Length: {content_length}")
    lines += [f"{name}: {value}" for name, value in route.headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _send(writer: asyncio.StreamWriter, route: Route, method: str) -> None:
    writer.write(_status_and_headers(route, content_length=len(route.body)))
    if method != "HEAD":
        writer.write(route.body)
    await writer.drain()
