"""Which addresses mxaudit may contact: the IANA special-purpose address registries.

Pure (no I/O), so the collectors (before any connection) and the checks (to say why an
address is not public) judge an address the same way. ``ipaddress.is_global`` is not
enough and changes between Python versions: it passes the NAT64 prefix around a private or
loopback IPv4 address (``64:ff9b::7f00:1`` reaches 127.0.0.1 through a NAT64 gateway), the
6to4 and Teredo prefixes that embed one, IPv4-compatible and SIIT addresses, site-local
``fec0::/10``, ``192.0.0.8`` and multicast. Here the tables below decide, one entry per
registry row that is not globally reachable (RFC 6890 and its updates), and an address that
embeds an IPv4 address is only as public as the address it embeds.

IPv6 outside ``2000::/3`` (the global unicast space, RFC 4291 2.4) is never public, except
the well-known NAT64 prefix around a public IPv4 address.
"""
from __future__ import annotations

import ipaddress
from functools import lru_cache

_V4 = tuple((ipaddress.IPv4Network(net), why) for net, why in (
    ("0.0.0.0/8", "'this network' (RFC 791)"),
    ("10.0.0.0/8", "private (RFC 1918)"),
    ("100.64.0.0/10", "shared address space (RFC 6598)"),
    ("127.0.0.0/8", "loopback (RFC 1122)"),
    ("169.254.0.0/16", "link-local (RFC 3927)"),
    ("172.16.0.0/12", "private (RFC 1918)"),
    ("192.0.0.0/24", "IETF protocol assignments (RFC 6890)"),   # but .9 and .10, below
    ("192.0.2.0/24", "documentation (RFC 5737)"),
    ("192.88.99.0/24", "deprecated 6to4 relay anycast (RFC 7526)"),
    ("192.168.0.0/16", "private (RFC 1918)"),
    ("198.18.0.0/15", "benchmarking (RFC 2544)"),
    ("198.51.100.0/24", "documentation (RFC 5737)"),
    ("203.0.113.0/24", "documentation (RFC 5737)"),
    ("224.0.0.0/4", "multicast (RFC 5771)"),
    ("240.0.0.0/4", "reserved (RFC 1112)"),
))
# Rows of 192.0.0.0/24 the registry marks globally reachable (PCP and TURN anycast).
_V4_GLOBAL = tuple(ipaddress.IPv4Network(n) for n in ("192.0.0.9/32", "192.0.0.10/32"))

_V6 = tuple((ipaddress.IPv6Network(net), why) for net, why in (
    ("64:ff9b:1::/48", "local-use NAT64 prefix (RFC 8215)"),
    ("100::/64", "discard-only (RFC 6666)"),
    ("100:0:0:1::/64", "dummy IPv6 prefix (RFC 9780)"),
    ("2001::/23", "IETF protocol assignments (RFC 2928)"),     # global rows below
    ("2001:db8::/32", "documentation (RFC 3849)"),
    ("3fff::/20", "documentation (RFC 9637)"),
    ("5f00::/16", "segment routing SIDs (RFC 9602)"),
    ("fc00::/7", "unique local (RFC 4193)"),
    ("fe80::/10", "link-local (RFC 4291)"),
    ("fec0::/10", "site-local, deprecated (RFC 3879)"),
    ("ff00::/8", "multicast (RFC 4291)"),
))
_V6_GLOBAL = tuple(ipaddress.IPv6Network(n) for n in (
    "2001:1::1/128", "2001:1::2/128", "2001:1::3/128",  # PCP, TURN, DNS-SD SRP anycast
    "2001:3::/32", "2001:4:112::/48", "2001:20::/28", "2001:30::/28",  # AMT, AS112, ORCHIDv2, DRIP
))
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")       # RFC 6052: IPv4 in the last 32 bits
_6TO4 = ipaddress.IPv6Network("2002::/16")           # RFC 3056: IPv4 in bits 16-47
_TEREDO = ipaddress.IPv6Network("2001::/32")         # RFC 4380: server and (inverted) client IPv4
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")     # RFC 4291 2.5.5.2
_SIIT = ipaddress.IPv6Network("::ffff:0:0:0/96")     # RFC 2765 "IPv4-translated"
_COMPAT = ipaddress.IPv6Network("::/96")             # RFC 4291 2.5.5.1, deprecated


def is_public_ip(ip: str) -> bool:
    """Globally reachable per the IANA special-purpose registries; False for anything
    else, an embedded non-public IPv4 address and text that is not an address included."""
    return not non_public_reason(ip)


@lru_cache(maxsize=4096)
def non_public_reason(ip: str) -> str:
    """'' for a public address, else why not ('loopback (RFC 1122)', 'NAT64 prefix
    (RFC 6052) around 127.0.0.1: loopback (RFC 1122)', 'not an IP address')."""
    try:
        addr = ipaddress.ip_address(ip.strip())
    except (ValueError, AttributeError):
        return "not an IP address"
    if addr.version == 4:
        return _v4_reason(addr)
    return _v6_reason(addr)


def _v4_reason(addr: ipaddress.IPv4Address) -> str:
    if any(addr in net for net in _V4_GLOBAL):
        return ""
    if addr == ipaddress.IPv4Address("255.255.255.255"):
        return "limited broadcast (RFC 919)"
    return next((why for net, why in _V4 if addr in net), "")


def _v6_reason(addr: ipaddress.IPv6Address) -> str:
    if addr.scope_id:
        return "scoped address"
    if int(addr) <= 1:
        return "unspecified (RFC 4291)" if not int(addr) else "loopback (RFC 4291)"
    value = int(addr)
    for net, name, v4 in ((_NAT64, "NAT64 prefix (RFC 6052)", value & 0xFFFFFFFF),
                          (_6TO4, "6to4 prefix (RFC 3056)", (value >> 80) & 0xFFFFFFFF)):
        if addr in net:
            inner = ipaddress.IPv4Address(v4)
            why = _v4_reason(inner)
            return f"{name} around {inner}: {why}" if why else ""
    if addr in _TEREDO:
        server = ipaddress.IPv4Address((value >> 64) & 0xFFFFFFFF)
        client = ipaddress.IPv4Address((value & 0xFFFFFFFF) ^ 0xFFFFFFFF)
        for inner in (server, client):
            why = _v4_reason(inner)
            if why:
                return f"Teredo prefix (RFC 4380) around {inner}: {why}"
        return ""
    for net, name in ((_MAPPED, "IPv4-mapped (RFC 4291)"), (_SIIT, "IPv4-translated (RFC 2765)"),
                      (_COMPAT, "IPv4-compatible, deprecated (RFC 4291)")):
        if addr in net:
            return name
    if any(addr in net for net in _V6_GLOBAL):
        return ""
    found = next((why for net, why in _V6 if addr in net), "")
    if found:
        return found
    return "" if addr in _GLOBAL_UNICAST else "reserved, outside global unicast 2000::/3 (RFC 4291)"
