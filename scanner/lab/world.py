"""The loopback lab as one object: CA, DNS server, HTTPS and SMTP servers on one event loop.

Integration tests (synchronous pytest code) and ``mxaudit demo`` both need real servers
running *while* the scanner runs in the foreground, so the lab owns a daemon thread with its
own asyncio loop; ``call`` hands coroutines to it from any other thread.

Addresses: every lab host gets its own loopback address (127.0.1.1, 127.0.1.2, ...), so one
set of port numbers serves every host and the scanner maps them with ``--port P:role``.
Linux routes the whole of 127.0.0.0/8 to ``lo`` (the kernel's local route
``local 127.0.0.0/8 dev lo``), so binding 127.0.1.x needs no setup and no root; macOS and
the BSDs only configure 127.0.0.1 and need ``ifconfig lo0 alias 127.0.1.N`` per address.
``start()`` checks this and fails with that advice instead of a bare EADDRNOTAVAIL.

Ports are high, fixed for the life of a world, and chosen below the kernel's ephemeral range
so outgoing connections can't grab them between selection and bind.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import random
import logging
import socket
import ssl
import threading
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scanner.lab.ca import LabCA
from scanner.lab.dns_server import LabDnsServer

if TYPE_CHECKING:
    from scanner.lab.https_server import LabHttpsServer

__all__ = ["LabWorld", "LabSetupError", "PORT_ROLES"]

log = logging.getLogger(__name__)

PORT_ROLES = ("smtp", "submissions", "submission", "https")
CALL_TIMEOUT = 30.0
_FIRST_IP = ipaddress.IPv4Address("127.0.1.1")
_NEVER = {ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv4Address("127.0.0.53")}
_RESERVED = ipaddress.IPv4Network("127.0.2.0/24")  # tests/peers (e.g. Postfix on 127.0.2.25)
_PORT_RANGE = (20000, 32000)  # below Linux's default ephemeral range 32768-60999


class LabSetupError(RuntimeError):
    """The host cannot run the lab (e.g. no 127.0.1.x loopback aliases)."""


def _can_bind(ip: str, port: int, kind: int = socket.SOCK_STREAM) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind((ip, port))
        except OSError:
            return False
    return True


def check_loopback_aliases(ip: str = str(_FIRST_IP)) -> None:
    """Raise LabSetupError unless addresses like 127.0.1.1 can be bound."""
    if not _can_bind(ip, 0):
        raise LabSetupError(
            f"cannot bind {ip}: the lab needs all of 127.0.0.0/8 on the loopback interface "
            f"(automatic on Linux; on macOS/BSD run: sudo ifconfig lo0 alias {ip} up)")


def _pick_ports(count: int, probe_ips: tuple[str, ...]) -> list[int]:
    rng = random.SystemRandom()
    chosen: list[int] = []
    for _ in range(2000):
        port = rng.randrange(*_PORT_RANGE)
        if port not in chosen and all(_can_bind(ip, port) for ip in probe_ips):
            chosen.append(port)
            if len(chosen) == count:
                return chosen
    raise LabSetupError("no free high ports found on loopback")


def _quiet_handshake_failures(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Failed TLS handshakes are the point of many lab tests (untrusted, expired, wrong-name
    certificates): asyncio would print a traceback for each; log them at debug level instead."""
    if isinstance(context.get("exception"), (ssl.SSLError, ConnectionError, TimeoutError)):
        log.debug("lab: %s: %r", context.get("message"), context.get("exception"))
        return
    loop.default_exception_handler(context)


class LabWorld:
    """CA + DNS server + on-demand HTTPS/SMTP servers, running in a background thread."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ca = LabCA(self.directory / "ca")
        self.dns = LabDnsServer("127.0.0.1", 0)
        self.nameserver = ""
        self.ports: dict[str, int] = {}
        self.loop: asyncio.AbstractEventLoop | None = None  # created by start()
        self._thread: threading.Thread | None = None
        self._closers: list[Callable[[], Awaitable[Any]]] = []
        self._https: dict[str, LabHttpsServer] = {}
        self._ip_lock = threading.Lock()
        self._next_ip = _FIRST_IP
        self._started = False

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._started:
            return
        check_loopback_aliases()
        probe = ("127.0.0.1", str(_FIRST_IP), "127.0.1.2")
        self.ports = dict(zip(PORT_ROLES, _pick_ports(len(PORT_ROLES), probe)))
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="mxaudit-lab", daemon=True)
        self._thread.start()
        self._started = True
        try:
            self.call(self.dns.start())
        except BaseException:
            self.stop()
            raise
        self.nameserver = f"127.0.0.1:{self.dns.port}"

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.set_exception_handler(_quiet_handshake_failures)
        self.loop.run_forever()

    def stop(self) -> None:
        """Stop registered servers (newest first), the DNS server, then the loop thread."""
        if not self._started:
            return
        try:
            self.call(self._shutdown())
        finally:
            self._started = False
            self.loop.call_soon_threadsafe(self.loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=10)
            if not self.loop.is_running():
                self.loop.close()  # a fresh loop is made by the next start()

    async def _shutdown(self) -> None:
        for closer in reversed(self._closers):
            try:
                await asyncio.wait_for(closer(), timeout=10)
            except Exception:  # one broken server must not keep the others running
                pass
        self._closers.clear()
        self._https.clear()
        await self.dns.stop()

    def __enter__(self) -> LabWorld:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # ------------------------------------------------------------------ helpers
    def call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coro`` on the lab loop and wait for its result (30 s at most)."""
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("LabWorld.call() from the lab loop itself would deadlock; await instead")
        if not self._started:
            coro.close()
            raise RuntimeError("LabWorld is not started")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout=CALL_TIMEOUT)
        except concurrent.futures.TimeoutError:
            future.cancel()  # don't leave it running on the lab loop
            raise

    def register(self, closer: Callable[[], Awaitable[Any]]) -> None:
        """Remember an async ``stop()`` to await (on the lab loop) when the world stops."""
        self._closers.append(closer)

    def allocate_ip(self) -> str:
        """The next unused loopback address: 127.0.1.1, 127.0.1.2, ... (skips .0/.255 and
        127.0.2.0/24, which the external test peers use)."""
        with self._ip_lock:
            while True:
                ip = self._next_ip
                self._next_ip += 1
                if ip not in ipaddress.IPv4Network("127.0.0.0/8"):
                    raise LabSetupError("out of loopback addresses")
                if ip.packed[3] not in (0, 255) and ip not in _NEVER and ip not in _RESERVED:
                    return str(ip)

    def port_args(self) -> list[str]:
        """The scanner's ``--port`` options mapping the lab's SMTP ports to their roles."""
        args: list[str] = []
        for role in ("smtp", "submissions", "submission"):
            args += ["--port", f"{self.ports[role]}:{role}"]
        return args

    def https_site(self, ip: str) -> LabHttpsServer:
        """The HTTPS server on ``(ip, ports["https"])``, started on first use."""
        from scanner.lab.https_server import LabHttpsServer

        server = self._https.get(ip)
        if server is None:
            server = LabHttpsServer(ip, self.ports["https"], self.ca)
            self.call(server.start())
            self._https[ip] = server
            self.register(server.stop)
        return server
