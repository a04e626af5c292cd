"""What the lab's authoritative server adds to an answer from a signed zone when the query
has the DO bit (RFC 4035 3.1): the RRSIGs of each RRset, and the NSEC or NSEC3 records (with
their RRSIGs) that prove a denial or a wildcard expansion (RFC 4035 3.1.3, RFC 5155 7.2).

Pure functions over a zone signed by scanner/lab/signing.py (or loaded from a real
signer's output); each returns (owner, rdataset) pairs for the authority section.
"""
from __future__ import annotations

import base64
import bisect

import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.zone

from scanner.dns.dnssec.nsec3 import hash_text, nsec3_hash

_RRSIG, _NSEC, _NSEC3, _NSEC3PARAM, _DNSKEY, _SOA = (
    dns.rdatatype.RRSIG, dns.rdatatype.NSEC, dns.rdatatype.NSEC3, dns.rdatatype.NSEC3PARAM,
    dns.rdatatype.DNSKEY, dns.rdatatype.SOA)
_IN = dns.rdataclass.IN

Records = list[tuple[dns.name.Name, object]]


def is_signed(zone: dns.zone.Zone) -> bool:
    return zone.get_rdataset(zone.origin, _DNSKEY) is not None


def signatures(zone: dns.zone.Zone, owner: dns.name.Name, rdtype: int):
    """The RRSIG rdataset over (owner, rdtype), or None."""
    node = zone.get_node(owner)
    return None if node is None else node.get_rdataset(_IN, _RRSIG, rdtype)


def _with_sigs(zone: dns.zone.Zone, owner: dns.name.Name, rdtype: int) -> Records:
    rds = zone.get_rdataset(owner, rdtype)
    if rds is None:
        return []
    out = [(owner, rds)]
    sig = signatures(zone, owner, rdtype)
    if sig is not None:
        out.append((owner, sig))
    return out


def soa_records(zone: dns.zone.Zone) -> Records:
    return _with_sigs(zone, zone.origin, _SOA)


def _exists(zone: dns.zone.Zone, name: dns.name.Name) -> bool:
    """A name with records, or an empty non-terminal (an NSEC3 owner is no real name)."""
    for n, node in zone.nodes.items():
        if n.is_subdomain(name) and any(r.rdtype != _NSEC3 and r.rdtype != _RRSIG
                                         for r in node.rdatasets):
            return True
    return False


def _closest_encloser(zone: dns.zone.Zone, qname: dns.name.Name) -> dns.name.Name:
    ce = qname
    while ce != zone.origin and not _exists(zone, ce):
        ce = ce.parent()
    return ce


def _wildcard(ce: dns.name.Name) -> dns.name.Name:
    return dns.name.Name((b"*",) + ce.labels)


def _next_closer(qname: dns.name.Name, ce: dns.name.Name) -> dns.name.Name:
    return dns.name.Name(qname.labels[-(len(ce.labels) + 1):])


# ------------------------------------------------------------------ NSEC

def _nsec_owners(zone: dns.zone.Zone) -> list[dns.name.Name]:
    return sorted(n for n, node in zone.nodes.items() if node.get_rdataset(_IN, _NSEC) is not None)


def _nsec_for(zone: dns.zone.Zone, name: dns.name.Name) -> Records:
    """The NSEC matching ``name``, else the one covering it (with its RRSIG)."""
    owners = _nsec_owners(zone)
    if not owners:
        return []
    i = bisect.bisect_right(owners, name) - 1
    return _with_sigs(zone, owners[i], _NSEC)    # i == -1: the last one (it wraps around)


# ------------------------------------------------------------------ NSEC3

class _Nsec3Index:
    def __init__(self, zone: dns.zone.Zone) -> None:
        param = zone.get_rdataset(zone.origin, _NSEC3PARAM)[0]
        self.zone, self.salt, self.iterations = zone, param.salt, param.iterations
        self.owners: dict[bytes, dns.name.Name] = {}
        for n, node in zone.nodes.items():
            rds = node.get_rdataset(_IN, _NSEC3)
            if rds is not None and n.parent() == zone.origin:
                self.owners[base64.b32hexdecode(n.labels[0].upper())] = n
        self.hashes = sorted(self.owners)

    def _hash(self, name: dns.name.Name) -> bytes:
        return nsec3_hash(name, self.salt, self.iterations)

    def match(self, name: dns.name.Name) -> Records:
        owner = self.owners.get(self._hash(name))
        return _with_sigs(self.zone, owner, _NSEC3) if owner is not None else []

    def cover(self, name: dns.name.Name) -> Records:
        h = self._hash(name)
        i = bisect.bisect_left(self.hashes, h) - 1
        return _with_sigs(self.zone, self.owners[self.hashes[i]], _NSEC3)

    def closest_encloser_proof(self, qname: dns.name.Name) -> tuple[dns.name.Name, Records]:
        ce = qname
        while ce != self.zone.origin and not self.match(ce):
            ce = ce.parent()
        records = self.match(ce)
        if ce != qname:
            records += self.cover(_next_closer(qname, ce))
        return ce, records


def _dedupe(records: Records) -> Records:
    seen, out = set(), []
    for owner, rds in records:
        key = (owner, rds.rdtype, rds.covers)
        if key not in seen:
            seen.add(key)
            out.append((owner, rds))
    return out


def nxdomain_proof(zone: dns.zone.Zone, qname: dns.name.Name) -> Records:
    if zone.get_rdataset(zone.origin, _NSEC3PARAM) is not None:
        index = _Nsec3Index(zone)
        ce, records = index.closest_encloser_proof(qname)
        return _dedupe(records + index.cover(_wildcard(ce)))
    ce = _closest_encloser(zone, qname)
    return _dedupe(_nsec_for(zone, qname) + _nsec_for(zone, _wildcard(ce)))


def nodata_proof(zone: dns.zone.Zone, qname: dns.name.Name, qtype: int,
                 wildcard: dns.name.Name | None = None) -> Records:
    """NODATA at ``qname`` (``wildcard``: the wildcard owner that matched it)."""
    if zone.get_rdataset(zone.origin, _NSEC3PARAM) is not None:
        index = _Nsec3Index(zone)
        found = index.match(qname)
        if found:
            return found
        ce, records = index.closest_encloser_proof(qname)
        if qtype != dns.rdatatype.DS:
            records += index.match(_wildcard(ce))
        return _dedupe(records)
    if wildcard is not None:
        return _dedupe(_nsec_for(zone, qname) + _nsec_for(zone, wildcard))
    return _nsec_for(zone, qname)


def wildcard_answer_proof(zone: dns.zone.Zone, qname: dns.name.Name,
                          wildcard: dns.name.Name) -> Records:
    """A wildcard expansion: the proof that no closer name than ``wildcard``'s parent exists."""
    if zone.get_rdataset(zone.origin, _NSEC3PARAM) is not None:
        index = _Nsec3Index(zone)
        return index.cover(_next_closer(qname, wildcard.parent()))
    return _nsec_for(zone, qname)


def nsec3_owner(zone: dns.zone.Zone, name: dns.name.Name) -> dns.name.Name:
    """The NSEC3 owner name of ``name`` in ``zone`` (for tests that tamper with one)."""
    param = zone.get_rdataset(zone.origin, _NSEC3PARAM)[0]
    digest = nsec3_hash(name, param.salt, param.iterations)
    return dns.name.Name((hash_text(digest).encode(),) + zone.origin.labels)
