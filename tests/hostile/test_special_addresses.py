"""Special-purpose addresses (issue 14, item 5): every row of the IANA IPv4/IPv6
special-purpose registries that is not globally reachable, and every address that embeds a
non-global IPv4 address, is reported and never contacted without --allow-private."""
from __future__ import annotations

import pytest

import scanner
from scanner.addresses import is_public_ip, non_public_reason

NON_PUBLIC = {
    "0.1.2.3": "'this network'", "10.1.1.1": "private", "100.64.0.1": "shared address space",
    "127.0.0.1": "loopback", "169.254.1.1": "link-local", "172.16.5.4": "private",
    "192.0.0.8": "IETF protocol assignments", "192.0.0.170": "IETF protocol assignments",
    "192.0.2.1": "documentation", "192.88.99.1": "6to4 relay anycast",
    "192.168.1.1": "private", "198.18.0.1": "benchmarking", "198.51.100.7": "documentation",
    "203.0.113.9": "documentation", "224.0.0.251": "multicast", "239.255.255.250": "multicast",
    "240.0.0.1": "reserved", "255.255.255.255": "limited broadcast",
    "::": "unspecified", "::1": "loopback",
    "::ffff:127.0.0.1": "IPv4-mapped", "::ffff:8.8.8.8": "IPv4-mapped",
    "::ffff:0:7f00:1": "IPv4-translated", "::127.0.0.1": "IPv4-compatible",
    "::8.8.8.8": "IPv4-compatible",
    "64:ff9b::7f00:1": "NAT64 prefix (RFC 6052) around 127.0.0.1: loopback",
    "64:ff9b::a00:1": "NAT64 prefix (RFC 6052) around 10.0.0.1: private",
    "64:ff9b::c000:8": "around 192.0.0.8",
    "64:ff9b:1::8.8.8.8": "local-use NAT64",
    "2002:7f00:1::1": "6to4 prefix (RFC 3056) around 127.0.0.1",
    "2002:c0a8:101::1": "around 192.168.1.1",
    "2001:0:7f00:1::1": "Teredo prefix (RFC 4380) around 127.0.0.1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2": "around 192.0.2.45",   # RFC 4380's example client
    "2001:2::1": "IETF protocol assignments", "2001:db8::25": "documentation",
    "3fff::1": "documentation", "100::1": "discard-only", "5f00::1": "segment routing",
    "fc00::1": "unique local", "fd12:3456::1": "unique local", "fe80::1": "link-local",
    "fec0::1": "site-local", "ff02::1": "multicast", "ff0e::101": "multicast",
    "4000::1": "outside global unicast", "fe80::1%2": "scoped",
    "example.com": "not an IP address", "": "not an IP address",
}
PUBLIC = ["8.8.8.8", "1.1.1.1", "192.0.0.9", "192.0.0.10", "100.63.255.255", "100.128.0.0",
          "172.32.0.1", "2001:4860:4860::8888", "2a00:1450::1", "64:ff9b::808:808",
          "2002:808:808::1", "2001:1::1", "2001:4:112::1", "2620:4f:8000::1"]


@pytest.mark.parametrize("ip", sorted(NON_PUBLIC))
def test_non_public_addresses_and_why(ip):
    assert not is_public_ip(ip)
    assert NON_PUBLIC[ip] in non_public_reason(ip)


@pytest.mark.parametrize("ip", PUBLIC)
def test_public_addresses(ip):
    assert is_public_ip(ip), non_public_reason(ip)


HIDDEN = ["64:ff9b::7f00:1", "2002:7f00:1::1", "::ffff:127.0.0.1", "::127.0.0.1",
          "::ffff:0:7f00:1", "fec0::1", "2001:0:7f00:1::1", "64:ff9b:1::7f00:1", "ff02::1"]
HIDDEN_V4 = ["192.0.0.8", "224.0.0.1", "100.64.0.25"]


@pytest.mark.lab
def test_embedding_addresses_are_reported_and_never_contacted(lab, unique_zone, attempts):
    """MX hosts and the MTA-STS policy host resolve only to addresses that embed loopback
    or are special-purpose: no connection is attempted (the code before issue 14 probed all
    of the IPv6 ones and 192.0.0.8 / 224.0.0.1 - the guard stopped it), every address is
    reported under mx.public_address with its registry row, and the policy is not fetched."""
    z = unique_zone()
    lines = [f"@ MX {10 * (i + 1)} mx{i}.{z}." for i in range(len(HIDDEN) + len(HIDDEN_V4))]
    lines += [f"mx{i} AAAA {ip}" for i, ip in enumerate(HIDDEN)]
    lines += [f"mx{len(HIDDEN) + i} A {ip}" for i, ip in enumerate(HIDDEN_V4)]
    lines += ['_mta-sts TXT "v=STSv1; id=1"', "mta-sts AAAA 64:ff9b::7f00:1",
              "mta-sts A 192.0.0.8"]
    lab.dns.add_zone(z, "\n".join(lines) + "\n")
    host, port = lab.nameserver.split(":")
    [r] = scanner.scan([z], nameservers=[(host, int(port))], timeout=1.0, max_mx_hosts=20,
                       dkim_selectors=())
    assert attempts == []
    assert r.evidence.smtp == ()
    addresses = {a.ip: a for h in r.evidence.mx.hosts for a in h.addresses}
    assert set(addresses) == set(HIDDEN) | set(HIDDEN_V4)
    assert all(not a.public and not a.probed for a in addresses.values())
    found = {f.subject.split("[")[1].rstrip("]"): (f.status.value, f.message)
             for f in r.findings if f.check == "mx.public_address"}
    assert {ip: s for ip, (s, _) in found.items()} == {ip: "fail" for ip in addresses}
    assert "around 127.0.0.1: loopback (RFC 1122)" in found["64:ff9b::7f00:1"][1]
    assert "site-local" in found["fec0::1"][1]
    fetch = r.evidence.records.mta_sts.fetch
    assert (fetch.error_class, fetch.status, fetch.ip) == ("private-address", 0, "")
