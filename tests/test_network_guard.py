"""The suite's own guard: a test that tries to reach a non-loopback address fails before a
packet leaves (tests/conftest.py patches socket connect/sendto for the whole session)."""
from __future__ import annotations

import socket

import pytest


@pytest.mark.parametrize("kind", [socket.SOCK_STREAM, socket.SOCK_DGRAM])
def test_non_loopback_destinations_are_refused(kind):
    with socket.socket(socket.AF_INET, kind) as s:
        with pytest.raises(AssertionError, match="only loopback"):
            s.connect(("192.0.2.1", 25))          # TEST-NET-1: never actually contacted
        if kind == socket.SOCK_DGRAM:
            with pytest.raises(AssertionError, match="only loopback"):
                s.sendto(b"x", ("10.255.255.53", 53))


def test_loopback_is_allowed():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("127.0.0.1", 9))
        s.sendto(b"x", ("127.0.0.1", 9))
