"""One RRset against a zone's keys: the RRSIG checks of RFC 4035 5.3, and the crypto.

Checked for every RRSIG, in this order, so a failure names what broke: the signer is the
zone and the owner is in it; the Labels field is not larger than the owner's label count
(smaller means a wildcard expansion, RFC 4035 5.3.2, which the caller must then prove); the
algorithm is one the policy accepts; the scan time is inside the validity window (RFC 4034
3.1.5: 32-bit serial-number arithmetic, both ends inclusive, RFC 4035 5.3.1); a DNSKEY of
the zone has the key tag and algorithm, the Zone Key flag and protocol 3 (RFC 4034 2.1) and
is not revoked (RFC 5011 2.1); and the signature verifies over the canonical form of the
RRset (RFC 4034 3.1.8.1 and 6).

The crypto is dnspython's ``dns.dnssecalgs`` (which calls ``cryptography``); building the
signed data is ours, so the wildcard and canonical-form rules are in one readable place.
Parsed public keys are memoised (RSA and EC key loading cost more than a verification).
"""
from __future__ import annotations

import functools
import hashlib
import struct
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import dns.name
import dns.rdataset
import dns.rdatatype

with warnings.catch_warnings():      # dnspython imports cryptography's deprecated DSA
    warnings.simplefilter("ignore")
    import dns.dnssec
    import dns.dnssecalgs

from scanner.dns.dnssec.policy import Policy, algorithm_name

ZONE_FLAG = 0x0100      # RFC 4034 2.1.1
REVOKE_FLAG = 0x0080    # RFC 5011 2.1
SEP_FLAG = 0x0001
_SERIAL = 1 << 32
# Signature verifications tried for one RRset before giving up (bogus). Without a bound, an
# RRset with many RRSIGs and a DNSKEY RRset of many keys sharing one key tag costs
# RRSIGs x keys public-key operations (KeyTrap, CVE-2023-50387): one hostile zone could
# hold the scan's CPU. Legitimate RRsets need one or two (a key rollover, two algorithms).
MAX_VERIFICATIONS = 8
_HASHES = {1: hashlib.sha1, 2: hashlib.sha256, 4: hashlib.sha384}


def key_tag(key) -> int:
    """RFC 4034 Appendix B."""
    return dns.dnssec.key_id(key)


def key_label(key) -> str:
    """'12345/13' (key tag / algorithm), how chains and reasons name a key."""
    return f"{key_tag(key)}/{key.algorithm}"


def ds_digest(owner: dns.name.Name, key, digest_type: int) -> bytes | None:
    """The DS digest of a DNSKEY (RFC 4034 5.1.4, RFC 4509 2.1, RFC 6605 5); None for a
    digest type we do not implement."""
    make = _HASHES.get(digest_type)
    if make is None:
        return None
    return make(owner.canonicalize().to_wire() + key.to_wire()).digest()


def label_count(owner: dns.name.Name) -> int:
    """The RRSIG Labels value of an owner name (RFC 4034 3.1.3): no root, no leading '*'."""
    n = len(owner.labels) - 1
    return n - 1 if n > 0 and owner.labels[0] == b"*" else n


def signed_data(rrsig, owner: dns.name.Name, rdataset: dns.rdataset.Rdataset) -> bytes:
    """RFC 4034 3.1.8.1: RRSIG_RDATA without the signature, then each RR in canonical form
    (RFC 4034 6.2: owner lower case, or the wildcard it was expanded from when Labels is
    smaller than the owner's count, RFC 4035 5.3.2; original TTL; rdata in canonical form)
    in canonical order (RFC 4034 6.3), duplicates once."""
    head = struct.pack("!HBBIIIH", rrsig.type_covered, rrsig.algorithm, rrsig.labels,
                       rrsig.original_ttl, rrsig.expiration, rrsig.inception, rrsig.key_tag)
    head += rrsig.signer.canonicalize().to_wire()
    if rrsig.labels < label_count(owner):
        owner = dns.name.Name((b"*",) + owner.labels[-(rrsig.labels + 1):])
    rr_head = owner.canonicalize().to_wire() + struct.pack(
        "!HHI", rdataset.rdtype, rdataset.rdclass, rrsig.original_ttl)
    rdatas = sorted({rd.to_digestable() for rd in rdataset})
    return head + b"".join(rr_head + struct.pack("!H", len(rd)) + rd for rd in rdatas)


@functools.lru_cache(maxsize=4096)
def _public_key(key):
    """The dnspython public-key object of a DNSKEY, or the reason it has none."""
    try:
        return dns.dnssecalgs.get_algorithm_cls(key.algorithm).public_cls.from_dnskey(key)
    except Exception as exc:   # hostile or unknown key material: never raise past here
        return f"unusable key material ({type(exc).__name__})"


def verify_signature(key, rrsig, data: bytes) -> bool:
    public = _public_key(key)
    if isinstance(public, str):
        return False
    try:
        public.verify(rrsig.signature, data)
    except Exception:   # InvalidSignature, malformed signature lengths, ...
        return False
    return True


# -------------------------------------------------------------------- validity windows

def _serial_le(a: int, b: int) -> bool:
    """a <= b in RFC 1982 serial-number arithmetic (SERIAL_BITS 32)."""
    return a == b or (b - a) % _SERIAL < (1 << 31)


def sig_time(value: int, now: int) -> str:
    """An RRSIG time field as ISO 8601 UTC, read as the instant nearest to ``now``."""
    delta = (value - now) % _SERIAL
    if delta >= 1 << 31:
        delta -= _SERIAL
    return datetime.fromtimestamp(now + delta, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def window_problem(rrsig, now: int) -> str:
    """'' when ``now`` is inside [inception, expiration] (both inclusive, RFC 4035 5.3.1)."""
    n = now % _SERIAL
    if not _serial_le(rrsig.inception, n):
        return f"not yet valid (inception {sig_time(rrsig.inception, now)})"
    if not _serial_le(n, rrsig.expiration):
        return f"expired (expiration {sig_time(rrsig.expiration, now)})"
    return ""


# -------------------------------------------------------------------- the RRset check

@dataclass(frozen=True)
class Checked:
    """The outcome of checking one RRset's signatures."""

    ok: bool
    reason: str = ""            # not ok: each RRSIG's problem
    labels: int = 0             # ok: the Labels field of the RRSIG that verified
    key: str = ""               # ok: the key that verified it ("12345/13")
    unsupported: bool = False   # not ok only because no RRSIG used an accepted algorithm


def usable_keys(keys: Iterable) -> list:
    """Zone keys that may verify signatures: Zone Key flag, protocol 3, not revoked."""
    return [k for k in keys if k.flags & ZONE_FLAG and not k.flags & REVOKE_FLAG
            and k.protocol == 3]


def verify_rrset(owner: dns.name.Name, rdataset: dns.rdataset.Rdataset, rrsigs: Iterable,
                 zone: dns.name.Name, keys: Sequence, now: int, policy: Policy) -> Checked:
    """Whether some RRSIG of ``rrsigs`` by ``zone`` verifies ``rdataset`` at ``owner`` with
    one of ``keys`` at time ``now`` (seconds since the epoch)."""
    problems: list[str] = []
    unsupported = 0
    tried = 0
    candidates = usable_keys(keys)
    for rrsig in rrsigs:
        tag = f"RRSIG by key {rrsig.key_tag}/{rrsig.algorithm}"
        if rrsig.type_covered != rdataset.rdtype:
            continue
        if rrsig.signer != zone or not owner.is_subdomain(zone):
            problems.append(f"{tag}: signer {rrsig.signer} is not the zone {zone}")
            continue
        if rrsig.labels > label_count(owner):
            problems.append(f"{tag}: Labels {rrsig.labels} exceeds the owner's "
                            f"{label_count(owner)}")
            continue
        if rrsig.algorithm not in policy.algorithms:
            problems.append(f"{tag}: {algorithm_name(rrsig.algorithm)} is not accepted")
            unsupported += 1
            continue
        window = window_problem(rrsig, now)
        if window:
            problems.append(f"{tag}: {window}")
            continue
        matching = [k for k in candidates
                    if k.algorithm == rrsig.algorithm and key_tag(k) == rrsig.key_tag]
        if not matching:
            problems.append(f"{tag}: no such key in the DNSKEY RRset of {zone}")
            continue
        if tried >= MAX_VERIFICATIONS:
            problems.insert(0, f"gave up after {MAX_VERIFICATIONS} signature verifications "
                               "(too many RRSIGs or keys with the same tag: KeyTrap, "
                               "CVE-2023-50387)")
            break
        data = signed_data(rrsig, owner, rdataset)
        for key in matching[:MAX_VERIFICATIONS - tried]:
            tried += 1
            if verify_signature(key, rrsig, data):
                return Checked(True, labels=rrsig.labels, key=key_label(key))
        problems.append(f"{tag}: the signature does not verify")
    if not problems:
        return Checked(False, "no RRSIG")
    return Checked(False, "; ".join(problems[:4]), unsupported=unsupported == len(problems))
