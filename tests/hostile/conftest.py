"""Fixtures for the hostile-input tests (issue 14)."""
from __future__ import annotations

import ipaddress
import socket

import pytest


@pytest.fixture
def attempts(monkeypatch):
    """Every address this process tries to connect or send to that is not loopback, recorded
    *before* the suite's loopback-only guard refuses it: a test of never-contacted addresses
    asserts the list stays empty (a probe would swallow the guard's AssertionError as a
    connection failure). Connecting a UDP socket sends nothing (the scanner's route lookup,
    scanner/collect/environment.py): not a contact; the suite's guard refuses any send on it."""
    seen: list[tuple] = []
    for name in ("connect", "connect_ex", "sendto"):
        real = getattr(socket.socket, name)

        def spy(self, *args, _real=real, name=name):
            address = args[-1]
            route_lookup = name != "sendto" and self.type == socket.SOCK_DGRAM
            if isinstance(address, tuple) and not route_lookup:
                try:
                    loopback = ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback
                except ValueError:
                    loopback = address[0] == "localhost"
                if not loopback:
                    seen.append(address)
            return _real(self, *args)
        monkeypatch.setattr(socket.socket, name, spy)
    return seen
