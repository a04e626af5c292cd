"""Authenticated denial of existence with NSEC (RFC 4035 3.1.3, 5.4; RFC 6840 4).

Every function takes NSEC records whose signatures already verified, as (owner, rdata)
pairs of one zone, and returns a ``Denial``. Names compare in canonical order (RFC 4034
6.1), which is how dnspython orders ``dns.name.Name``.

Rules a proof must respect, beyond "an NSEC covers the name":
- an NSEC at a delegation point (NS bit, no SOA bit) is the parent's and says nothing about
  names at or below the cut, except that there is no DS (RFC 6840 4.1, 4.4);
- the NSEC at a zone apex (SOA bit) is the child's and cannot deny a DS (RFC 6840 4.4);
- a name whose NSEC "next" lies below it exists as an empty non-terminal (NODATA, not
  NXDOMAIN);
- a name that does not exist also needs the wildcard at its closest encloser denied
  (RFC 4035 5.4), and a wildcard answer needs proof that no closer name exists (5.3.4).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dns.name
import dns.rdatatype

from scanner.evidence.dnssec import Security

_NS, _SOA, _CNAME, _DS, _DNAME = (dns.rdatatype.NS, dns.rdatatype.SOA, dns.rdatatype.CNAME,
                                  dns.rdatatype.DS, dns.rdatatype.DNAME)


@dataclass(frozen=True)
class Denial:
    """What a set of NSEC or NSEC3 records proves about (name, type)."""

    state: Security          # SECURE proven; INSECURE proven only up to an opt-out span or
    #                          a limit; BOGUS not proven
    detail: str
    delegation: bool = False  # NODATA for DS at a delegation point: an unsigned child zone


def proven(detail: str, *, delegation: bool = False) -> Denial:
    return Denial(Security.SECURE, detail, delegation)


def failed(detail: str) -> Denial:
    return Denial(Security.BOGUS, detail)


def has_type(windows, rdtype: int) -> bool:
    """Whether an NSEC/NSEC3 type bitmap (dnspython's ``windows``) lists ``rdtype``."""
    window, bit = divmod(rdtype, 256)
    for number, bitmap in windows:
        if number == window:
            byte = bit // 8
            return byte < len(bitmap) and bool(bitmap[byte] & (0x80 >> (bit % 8)))
    return False


def covers(owner: dns.name.Name, nxt: dns.name.Name, name: dns.name.Name) -> bool:
    """``name`` lies strictly between an NSEC's owner and next name (the last NSEC of a
    zone wraps around to the apex)."""
    if owner < nxt:
        return owner < name < nxt
    return name > owner or name < nxt


def _common(a: dns.name.Name, b: dns.name.Name) -> dns.name.Name:
    _, _, common = a.fullcompare(b)
    return dns.name.Name(a.labels[-common:]) if common else dns.name.root


def closest_encloser(qname: dns.name.Name, owner: dns.name.Name,
                     nxt: dns.name.Name) -> dns.name.Name:
    """The closest encloser of a name an NSEC covers: the longer of its common ancestors
    with the NSEC's owner and with its next name (both exist)."""
    a, b = _common(qname, owner), _common(qname, nxt)
    return a if len(a) >= len(b) else b


def _cut_above(owner: dns.name.Name, windows, qname: dns.name.Name) -> bool:
    """The NSEC is a delegation point's (or a DNAME's) above ``qname``: it cannot speak for
    names below it."""
    if qname == owner or not qname.is_subdomain(owner):
        return False
    return (has_type(windows, _NS) and not has_type(windows, _SOA)) or has_type(windows, _DNAME)


def _covering(qname: dns.name.Name, nsecs: Sequence) -> tuple | None:
    for owner, rd in nsecs:
        if owner != qname and covers(owner, rd.next, qname) and not _cut_above(owner, rd.windows, qname):
            return owner, rd
    return None


def _matching(name: dns.name.Name, nsecs: Sequence):
    return next((rd for owner, rd in nsecs if owner == name), None)


def _wildcard(ce: dns.name.Name) -> dns.name.Name:
    return dns.name.Name((b"*",) + ce.labels)


def _nonexistent(qname: dns.name.Name, nsecs: Sequence):
    """(the NSEC covering qname, qname's closest encloser, the wildcard there), or a
    Denial: no NSEC covers qname, or qname exists as an empty non-terminal."""
    cover = _covering(qname, nsecs)
    if cover is None:
        return failed(f"no NSEC covers {qname}")
    owner, rd = cover
    if rd.next.is_subdomain(qname):
        return failed(f"NSEC {owner} -> {rd.next} shows {qname} exists (an empty non-terminal)")
    ce = closest_encloser(qname, owner, rd.next)
    return cover, ce, _wildcard(ce)


def prove_nxdomain(qname: dns.name.Name, nsecs: Sequence) -> Denial:
    """NXDOMAIN: an NSEC covers qname (and qname is no empty non-terminal), and an NSEC
    covers the wildcard at qname's closest encloser (RFC 4035 3.1.3.2, 5.4)."""
    found = _nonexistent(qname, nsecs)
    if isinstance(found, Denial):
        return found
    (owner, rd), ce, wildcard = found
    if _matching(wildcard, nsecs) is not None:
        return failed(f"the wildcard {wildcard} exists: {qname} should have been synthesised")
    if _covering(wildcard, nsecs) is None:
        return failed(f"no NSEC denies the wildcard {wildcard}")
    return proven(f"NSEC {owner} -> {rd.next} covers {qname}; no wildcard at {ce}")


def nodata_at(qname: dns.name.Name, qtype: int, rd, what: str) -> Denial:
    windows = rd.windows
    if has_type(windows, qtype) or has_type(windows, _CNAME):
        return failed(f"{what} lists {dns.rdatatype.to_text(qtype)} or CNAME")
    parent_side = has_type(windows, _NS) and not has_type(windows, _SOA)
    if qtype == _DS:
        if has_type(windows, _SOA) and len(qname) > 1:
            return failed(f"{what} is the child zone's apex NSEC: it cannot deny a DS "
                          "(the answer came from the wrong side of the zone cut)")
        return proven(f"{what}: no DS", delegation=parent_side)
    if parent_side:
        return failed(f"{what} is a delegation point's: it cannot deny "
                      f"{dns.rdatatype.to_text(qtype)} at the child zone")
    return proven(f"{what}: no {dns.rdatatype.to_text(qtype)}")


def prove_nodata(qname: dns.name.Name, qtype: int, nsecs: Sequence) -> Denial:
    """NODATA: the NSEC at qname lacks the type and CNAME (3.1.3.1); or qname is an empty
    non-terminal; or a wildcard NODATA: qname is covered and the NSEC of the wildcard at its
    closest encloser lacks the type (3.1.3.4)."""
    rd = _matching(qname, nsecs)
    if rd is not None:
        return nodata_at(qname, qtype, rd, f"NSEC {qname}")
    found = _nonexistent(qname, nsecs)
    if isinstance(found, Denial):     # not covered at all, or an empty non-terminal
        cover = _covering(qname, nsecs)
        if cover is None:
            return failed(f"no NSEC matches or covers {qname}")
        return proven(f"{qname} is an empty non-terminal (NSEC {cover[0]} -> {cover[1].next})")
    (owner, rd), ce, wildcard = found
    wrd = _matching(wildcard, nsecs)
    if wrd is None:
        return failed(f"NSEC {owner} -> {rd.next} says {qname} does not exist, but this is "
                      f"no NXDOMAIN and the wildcard {wildcard} is not shown")
    return nodata_at(qname, qtype, wrd, f"wildcard NSEC {wildcard}")


def prove_wildcard_answer(qname: dns.name.Name, ce: dns.name.Name, nsecs: Sequence) -> Denial:
    """A wildcard expansion from ``*.ce`` (RFC 4035 5.3.4): an NSEC covers qname, and the
    closest encloser it implies is ``ce`` (no closer name exists)."""
    cover = _covering(qname, nsecs)
    if cover is None:
        return failed(f"no NSEC proves {qname} does not exist (wildcard expansion from *.{ce})")
    owner, rd = cover
    if closest_encloser(qname, owner, rd.next) != ce:
        return failed(f"NSEC {owner} -> {rd.next} shows a closer name than {ce} exists")
    return proven(f"expanded from *.{ce}; NSEC {owner} -> {rd.next} covers {qname}")
