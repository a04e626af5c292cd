"""Shared fixtures: the loopback lab (one per session), the CLI as a subprocess, fresh zones.

Keep this file small and generic; feature-specific fixtures belong beside their tests.
"""
from __future__ import annotations

import asyncio
import gc

import ipaddress
import itertools
import os
import socket
import subprocess
import sys
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_zone_ids = itertools.count(1)


def _loopback_only(address) -> None:
    """Tests may talk to loopback only (127.0.0.0/8, ::1): anything else fails the test."""
    if not isinstance(address, tuple):
        return   # AF_UNIX and the like
    host = address[0]
    if host == "localhost":
        return
    try:
        ok = ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise AssertionError(f"a test tried to reach {address!r}: only loopback is allowed")


@pytest.fixture(autouse=True, scope="session")
def _network_guard():
    """Every socket this test process opens may only connect/send to loopback addresses
    (subprocesses are pointed at the lab explicitly by their tests). One exception: a UDP
    socket may be *connected* anywhere, because that sends nothing (it is how the scanner
    asks the kernel for a route, scanner/collect/environment.py); sending on it still fails."""
    names = ("connect", "connect_ex", "sendto", "send", "sendall", "sendmsg")
    real = {name: getattr(socket.socket, name) for name in names}
    route_only = weakref.WeakSet()      # UDP sockets connected beyond loopback: no sending

    def check(sock, address):
        try:
            _loopback_only(address)
        except AssertionError:
            if sock.type != socket.SOCK_DGRAM:
                raise
            route_only.add(sock)

    def connect(self, address):
        check(self, address)
        return real["connect"](self, address)

    def connect_ex(self, address):
        check(self, address)
        return real["connect_ex"](self, address)

    def sendto(self, data, *args):
        _loopback_only(args[-1])
        return real["sendto"](self, data, *args)

    def sending(name):
        def send(self, *args, **kw):
            if self in route_only:
                raise AssertionError(f"a test tried to send on a socket connected beyond loopback "
                                     f"({self.getpeername()!r})")
            return real[name](self, *args, **kw)
        return send

    socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto = connect, connect_ex, sendto
    socket.socket.send, socket.socket.sendall, socket.socket.sendmsg = (
        sending("send"), sending("sendall"), sending("sendmsg"))
    try:
        yield
    finally:
        for name, fn in real.items():
            setattr(socket.socket, name, fn)


@pytest.fixture(autouse=True, scope="session")
def _outputs_follow_their_schemas(tmp_path_factory):
    """When the session ends, every results.jsonl line and manifest.json that the suite's
    scans wrote under the session's temporary folders must validate against the published
    JSON Schemas (docs/schema, tests/schema_check.py); a failure is reported at teardown."""
    yield
    from tests.schema_check import check_tree

    checked, problems = check_tree(tmp_path_factory.getbasetemp())
    assert not problems, f"{len(problems)} schema problem(s) in {checked} files:\n" + \
        "\n".join(problems[:20])


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """A started LabWorld (CA, DNS server, ports) shared by the whole session."""
    from scanner.lab.world import LabWorld

    world = LabWorld(tmp_path_factory.mktemp("lab"))
    world.start()
    try:
        yield world
    finally:
        world.stop()


def new_zone_name(prefix: str = "z") -> str:
    """A zone name no other test of this session uses: 'z7.test'."""
    return f"{prefix}{next(_zone_ids)}.test"


@pytest.fixture(scope="session")
def unique_zone() -> Callable[..., str]:
    """Call it for a fresh zone name per use: ``zone = unique_zone()`` -> 'z12.test'
    (session scope, so module-scoped fixtures can use it too)."""
    return new_zone_name


def run_cli_process(args: Sequence[str], input: str | None = None,
                    timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``python -m scanner ARGS`` from the repo root; text output, bounded in time."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "scanner", *map(str, args)], input=input,
                          capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env,
                          stdin=None if input is not None else subprocess.DEVNULL)


@pytest.fixture
def run_cli() -> Callable[..., subprocess.CompletedProcess]:
    """``run_cli(args, input=None, timeout=60) -> CompletedProcess`` (see run_cli_process)."""
    return run_cli_process


def run_without_loop_errors(coro_fn, timeout: float = 20):
    """Runs ``coro_fn()`` bounded in time; fails on any error the event loop logged (a
    "Task/Future exception was never retrieved" included: the garbage is collected first)."""
    logged = []

    async def main():
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: logged.append(ctx))
        try:
            return await asyncio.wait_for(coro_fn(), timeout)
        finally:
            await asyncio.sleep(0)
            gc.collect()

    result = asyncio.run(main())
    assert logged == []
    return result
