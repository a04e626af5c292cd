"""The suite's own guard: a test that tries to reach a non-loopback address fails before a
packet leaves (tests/conftest.py patches socket connect/send/sendto for the whole session).
A UDP connect sends nothing (it is a route lookup) and is let through; sending on such a
socket is not."""
from __future__ import annotations

import socket

import pytest


def test_non_loopback_destinations_are_refused():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        with pytest.raises(AssertionError, match="only loopback"):
            s.connect(("192.0.2.1", 25))          # TEST-NET-1: never actually contacted
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        with pytest.raises(AssertionError, match="only loopback"):
            s.sendto(b"x", ("10.255.255.53", 53))


@pytest.mark.parametrize("family, address", [(socket.AF_INET, ("192.0.2.1", 9)),
                                             (socket.AF_INET6, ("2001:db8::1", 9))])
def test_a_udp_connect_is_a_route_lookup_and_sending_on_it_is_refused(family, address):
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        try:
            s.connect(address)                    # nothing is sent: the kernel picks a route
        except OSError:
            return                                # no route on this host: nothing to send on
        for send in (lambda: s.send(b"x"), lambda: s.sendall(b"x"),
                     lambda: s.sendmsg([b"x"])):
            with pytest.raises(AssertionError, match="beyond loopback"):
                send()


def test_loopback_is_allowed():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("127.0.0.1", 9))
        s.sendto(b"x", ("127.0.0.1", 9))
