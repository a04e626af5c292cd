"""The chain of trust, one zone at a time: DS at the parent, DNSKEY at the zone (RFC 4035
5.2), or the trust anchor for the anchor's own zone (RFC 4035 4.4). Each zone's keys are
fetched and validated once per scan and shared by every answer that needs them (STYLE.md:
Unbound's key cache), so a hosted provider's zone costs one DS and one DNSKEY per scan.

``KeyCache.get`` gives a zone's ``ZoneKeys``: secure with the keys that may verify its
RRsets, or insecure / bogus / indeterminate with the reason. Verifying the DS RRset (or
its denial) at the parent needs the answer-level machinery (scanner/dns/dnssec/validator.py),
which the cache calls back into; every call goes to a proper ancestor, so there are no
cycles.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dns.name
import dns.rdatatype

from scanner.dns.dnssec.anchors import TrustAnchor
from scanner.dns.dnssec.policy import Policy, algorithm_name, digest_name
from scanner.dns.dnssec.signatures import ds_digest, key_label, key_tag, usable_keys, verify_rrset
from scanner.evidence.dnssec import Security
from scanner.memo import SharedOnce

_DS, _DNSKEY = dns.rdatatype.DS, dns.rdatatype.DNSKEY


@dataclass(frozen=True)
class ZoneKeys:
    zone: dns.name.Name
    state: Security
    keys: tuple = ()              # secure: the zone keys of its validated DNSKEY RRset
    chain: tuple[str, ...] = ()   # "zone tag/alg ..." from the trust anchor down to this zone
    detail: str = ""

    @property
    def secure(self) -> bool:
        return self.state is Security.SECURE


def link(zone: dns.name.Name, keys: Sequence) -> str:
    return f"{zone} {' '.join(key_label(k) for k in keys)}"


def accepted_ds(ds_rdatas: Sequence, policy: Policy) -> list:
    """The DS records that can start a chain: accepted algorithm and digest type; SHA-1
    ones dropped when SHA-256 or SHA-384 ones exist (RFC 4509 3)."""
    usable = [d for d in ds_rdatas
              if d.algorithm in policy.algorithms and d.digest_type in policy.digests]
    if any(d.digest_type in (2, 4) for d in usable):
        usable = [d for d in usable if d.digest_type != 1]
    return usable


def ds_matches(zone: dns.name.Name, key, ds) -> bool:
    return (key.algorithm == ds.algorithm and key_tag(key) == ds.key_tag
            and ds_digest(zone, key, ds.digest_type) == ds.digest)


def _describe_ds(ds_rdatas: Sequence) -> str:
    return ", ".join(f"{d.key_tag}/{algorithm_name(d.algorithm)}/{digest_name(d.digest_type)}"
                     for d in ds_rdatas)


def keys_from_ds(zone: dns.name.Name, ds_rdatas: Sequence, dnskeys, sigs: Sequence, now: int,
                 policy: Policy, parent_chain: tuple[str, ...]) -> ZoneKeys:
    """RFC 4035 5.2: a DNSKEY matching an accepted DS of the (already validated) DS RRset
    signs the zone's DNSKEY RRset; then every zone key of that RRset is trusted."""
    usable = accepted_ds(ds_rdatas, policy)
    if not usable:
        return ZoneKeys(zone, Security.INSECURE, chain=parent_chain + (f"{zone} (unsupported)",),
                        detail=f"the DS records of {zone} ({_describe_ds(ds_rdatas)}) use only "
                               "algorithms or digests mxaudit does not accept (RFC 8624, "
                               "RFC 9905): no usable chain of trust, insecure (RFC 4035 5.2)")
    if dnskeys is None:
        return ZoneKeys(zone, Security.BOGUS, chain=parent_chain,
                        detail=f"the parent publishes DS {_describe_ds(usable)} for {zone}, "
                               f"but {zone} has no DNSKEY RRset")
    candidates = usable_keys(dnskeys)
    matched = [k for k in candidates if any(ds_matches(zone, k, d) for d in usable)]
    if not matched:
        present = ", ".join(key_label(k) for k in dnskeys) or "none"
        return ZoneKeys(zone, Security.BOGUS, chain=parent_chain,
                        detail=f"DS {_describe_ds(usable)} of {zone} matches no DNSKEY "
                               f"(DNSKEYs present: {present})")
    return _self_signed(zone, dnskeys, sigs, matched, now, policy, parent_chain)


def keys_from_anchor(anchor: TrustAnchor, dnskeys, sigs: Sequence, now: int,
                     policy: Policy) -> ZoneKeys:
    """The anchor's zone: a DNSKEY equal to an anchor DNSKEY, or matching an anchor DS,
    signs the zone's DNSKEY RRset (RFC 4035 5: the anchor is the first authenticated key)."""
    zone = anchor.zone
    usable_ds = accepted_ds(anchor.ds, policy)
    usable_anchor_keys = [k for k in anchor.keys if k.algorithm in policy.algorithms]
    if not usable_ds and not usable_anchor_keys:
        return ZoneKeys(zone, Security.INSECURE, detail=f"the trust anchor for {zone} uses only "
                                                        "algorithms mxaudit does not accept")
    if dnskeys is None:
        return ZoneKeys(zone, Security.BOGUS,
                        detail=f"{zone} has a trust anchor but no DNSKEY RRset")
    candidates = usable_keys(dnskeys)
    matched = [k for k in candidates
               if k in usable_anchor_keys or any(ds_matches(zone, k, d) for d in usable_ds)]
    if not matched:
        present = ", ".join(key_label(k) for k in dnskeys) or "none"
        return ZoneKeys(zone, Security.BOGUS,
                        detail=f"no DNSKEY of {zone} matches the trust anchor "
                               f"({anchor.describe()}; DNSKEYs present: {present})")
    return _self_signed(zone, dnskeys, sigs, matched, now, policy, ())


def _self_signed(zone: dns.name.Name, dnskeys, sigs: Sequence, matched: list, now: int,
                 policy: Policy, parent_chain: tuple[str, ...]) -> ZoneKeys:
    checked = verify_rrset(zone, dnskeys, sigs, zone, matched, now, policy)
    if not checked.ok:
        return ZoneKeys(zone, Security.BOGUS, chain=parent_chain,
                        detail=f"DNSKEY {zone} is not signed by the key the chain of trust "
                               f"points to ({', '.join(key_label(k) for k in matched)}): "
                               f"{checked.reason}")
    return ZoneKeys(zone, Security.SECURE, tuple(usable_keys(dnskeys)),
                    parent_chain + (link(zone, matched),))


class KeyCache:
    """Per scan: zone -> ZoneKeys, each zone validated once (``SharedOnce``)."""

    def __init__(self, validator, max_entries: int = 50_000) -> None:
        self._validator = validator
        self._once: SharedOnce[ZoneKeys] = SharedOnce(max_entries)
        self.built = 0

    async def get(self, zone: dns.name.Name) -> ZoneKeys:
        return await self._once.get(zone, lambda: self._build(zone))

    def peek(self, zone: dns.name.Name) -> ZoneKeys | None:
        """The zone's keys if already built (no question asked)."""
        return self._once.peek(zone)

    async def _build(self, zone: dns.name.Name) -> ZoneKeys:
        self.built += 1
        return await self._validator.zone_keys(zone)
