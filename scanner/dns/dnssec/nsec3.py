"""Authenticated denial of existence with NSEC3 (RFC 5155 8; RFC 9276 3.2).

Every function takes NSEC3 records whose signatures already verified, as (owner, rdata)
pairs of one zone, and returns a ``nsec.Denial``. The closest encloser proof (8.3) is the
heart of it: some ancestor of the name matches an NSEC3 (it exists) and the NSEC3 of the
"next closer" name below it is covered (it does not).

Opt-Out (RFC 5155 6, 9.2): an NSEC3 with the Opt-Out flag that covers the next closer name
may hide unsigned delegations, so what it "proves" is insecure, not secure (as Unbound
treats it): NXDOMAIN, wildcard answers, and DS denials at unsigned delegations alike.

Cost bounds: NSEC3 records with more iterations than the policy allows (RFC 9276 3.2: 150 in
BIND and Unbound) make the answer insecure before any hash is computed; records with an
unknown hash algorithm or flags other than 0/1 are ignored (RFC 5155 8.1, 8.2); hashes are
computed once per (name, salt, iterations) within a proof.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence

import dns.name
import dns.rdatatype

from scanner.dns.dnssec.nsec import Denial, nodata_at, failed, has_type, proven
from scanner.dns.dnssec.policy import Policy
from scanner.evidence.dnssec import Security

_NS, _SOA, _DS, _DNAME = dns.rdatatype.NS, dns.rdatatype.SOA, dns.rdatatype.DS, dns.rdatatype.DNAME
OPT_OUT = 0x01


def nsec3_hash(name: dns.name.Name, salt: bytes, iterations: int) -> bytes:
    """RFC 5155 5: IH(salt, x, 0) = H(x || salt); IH(k) = H(IH(k-1) || salt); x is the
    name in canonical wire form; H is SHA-1 (hash algorithm 1)."""
    digest = hashlib.sha1(name.canonicalize().to_wire() + salt).digest()
    for _ in range(iterations):
        digest = hashlib.sha1(digest + salt).digest()
    return digest


def hash_text(digest: bytes) -> str:
    return base64.b32hexencode(digest).decode("ascii").lower()


class _Chain:
    """The usable NSEC3 records of one proof, with their owner hashes decoded."""

    def __init__(self, nsec3s: Sequence) -> None:
        self.records = []
        self.ignored = 0
        for owner, rd in nsec3s:
            try:
                own = base64.b32hexdecode(owner.labels[0].upper())
            except (binascii.Error, ValueError, IndexError):
                self.ignored += 1
                continue
            if rd.algorithm != 1 or rd.flags & ~OPT_OUT or len(own) != len(rd.next):
                self.ignored += 1     # RFC 5155 8.1, 8.2
                continue
            self.records.append((owner, own, rd))
        self._hashes: dict[tuple, bytes] = {}

    def hash(self, name: dns.name.Name, rd) -> bytes:
        key = (name, rd.salt, rd.iterations)
        found = self._hashes.get(key)
        if found is None:
            found = self._hashes[key] = nsec3_hash(name, rd.salt, rd.iterations)
        return found

    def matching(self, name: dns.name.Name):
        for owner, own, rd in self.records:
            if own == self.hash(name, rd):
                return owner, rd
        return None

    def covering(self, name: dns.name.Name):
        for owner, own, rd in self.records:
            h = self.hash(name, rd)
            if (own < h < rd.next) if own < rd.next else (h > own or h < rd.next):
                return owner, rd
        return None


def _limits(chain: _Chain, policy: Policy) -> Denial | None:
    """An answer before any hashing: no usable record, or too many iterations."""
    if not chain.records:
        why = "unknown hash algorithm or flags" if chain.ignored else "no NSEC3 records"
        return Denial(Security.INSECURE if chain.ignored else Security.BOGUS, f"NSEC3: {why}")
    most = max(rd.iterations for _, _, rd in chain.records)
    if most > policy.nsec3_iterations:
        return Denial(Security.INSECURE, f"NSEC3 with {most} iterations, above the limit of "
                                         f"{policy.nsec3_iterations} (RFC 9276 3.2): insecure")
    return None


def _closest_encloser(qname: dns.name.Name, zone: dns.name.Name, chain: _Chain):
    """RFC 5155 8.3: (closest encloser, its NSEC3, the NSEC3 covering the next closer
    name) or a failure text."""
    next_closer = None
    sname = qname
    while sname.is_subdomain(zone):
        match = chain.matching(sname)
        if match is not None:
            if next_closer is None:
                return f"{qname} itself matches NSEC3 {match[0]}: it exists"
            owner, rd = match
            if has_type(rd.windows, _DNAME) or (has_type(rd.windows, _NS)
                                                and not has_type(rd.windows, _SOA)):
                return (f"the closest encloser {sname} is a delegation point or DNAME "
                        f"(NSEC3 {owner}): it cannot deny names below it")
            cover = chain.covering(next_closer)
            if cover is None:
                return f"no NSEC3 covers the next closer name {next_closer}"
            return sname, match, cover
        if sname == zone:
            break
        next_closer, sname = sname, sname.parent()
    return f"no NSEC3 matches an ancestor of {qname} (no closest encloser proof)"


def _opted_out(cover, what: str) -> Denial | None:
    owner, rd = cover
    if rd.flags & OPT_OUT:
        return Denial(Security.INSECURE, f"{what} is covered by the Opt-Out NSEC3 {owner}: "
                                         "unsigned delegations may exist there (insecure)",
                      delegation=True)
    return None


def prove_nxdomain(qname: dns.name.Name, zone: dns.name.Name, nsec3s: Sequence,
                   policy: Policy) -> Denial:
    """RFC 5155 8.4: a closest encloser proof and an NSEC3 covering the wildcard at the
    closest encloser."""
    chain = _Chain(nsec3s)
    limited = _limits(chain, policy)
    if limited is not None:
        return limited
    found = _closest_encloser(qname, zone, chain)
    if isinstance(found, str):
        return failed(found)
    ce, _, cover = found
    wildcard = dns.name.Name((b"*",) + ce.labels)
    if chain.covering(wildcard) is None:
        return failed(f"no NSEC3 denies the wildcard {wildcard}")
    return _opted_out(cover, f"the next closer name of {qname}") or proven(
        f"NSEC3: closest encloser {ce}; {qname} and {wildcard} do not exist")


def prove_nodata(qname: dns.name.Name, qtype: int, zone: dns.name.Name, nsec3s: Sequence,
                 policy: Policy) -> Denial:
    """RFC 5155 8.5-8.7: the NSEC3 matching qname lacks the type and CNAME; for DS, a
    closest encloser proof whose next closer is covered by an Opt-Out NSEC3 (8.6); or a
    wildcard NODATA (8.7)."""
    chain = _Chain(nsec3s)
    limited = _limits(chain, policy)
    if limited is not None:
        return limited
    match = chain.matching(qname)
    if match is not None:
        return nodata_at(qname, qtype, match[1], f"NSEC3 {match[0]} (for {qname})")
    found = _closest_encloser(qname, zone, chain)
    if isinstance(found, str):
        return failed(found)
    ce, _, cover = found
    if qtype == _DS:
        return _opted_out(cover, f"the DS query's name {qname}") or failed(
            f"no NSEC3 matches {qname} and the NSEC3 covering it has no Opt-Out flag")
    wildcard = dns.name.Name((b"*",) + ce.labels)
    wmatch = chain.matching(wildcard)
    if wmatch is None:
        return failed(f"no NSEC3 matches {qname} or the wildcard {wildcard}")
    opted = _opted_out(cover, f"the next closer name of {qname}")
    result = nodata_at(qname, qtype, wmatch[1], f"wildcard NSEC3 {wmatch[0]} (for {wildcard})")
    return opted if opted is not None and result.state is Security.SECURE else result


def prove_wildcard_answer(qname: dns.name.Name, ce: dns.name.Name, nsec3s: Sequence,
                          policy: Policy) -> Denial:
    """RFC 5155 8.8: the next closer name (one label below the wildcard's closest
    encloser ``ce`` on the way to qname) is covered."""
    chain = _Chain(nsec3s)
    limited = _limits(chain, policy)
    if limited is not None:
        return limited
    if qname == ce or not qname.is_subdomain(ce):
        return failed(f"{qname} is not below the wildcard's closest encloser {ce}")
    next_closer = dns.name.Name(qname.labels[-(len(ce.labels) + 1):])
    cover = chain.covering(next_closer)
    if cover is None:
        return failed(f"no NSEC3 proves the next closer name {next_closer} does not exist "
                      f"(wildcard expansion from *.{ce})")
    return _opted_out(cover, f"the next closer name {next_closer}") or proven(
        f"expanded from *.{ce}; NSEC3 {cover[0]} covers {next_closer}")
