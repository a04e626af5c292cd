"""DNSSEC for the lab: sign its zones with dnspython when the lab starts, so the scanner's
validator meets real signatures, real NSEC and NSEC3 chains and real breakage.

    plan = {".": SignPlan(), "test": SignPlan(), "secure.test": SignPlan(),
            "nsec3.test": SignPlan(denial="nsec3"), "expired.test": SignPlan(expired=True),
            "mismatch.test": SignPlan(ds="mismatch")}
    anchor = sign_world(world.dns, plan)     # zones not in the plan stay unsigned
    Path("anchor.txt").write_text(anchor)    # the lab root's DS: --trust-anchor anchor.txt

``sign_world`` gives every served zone an apex NS (a resolver primes with it) and delegates
it from its closest served ancestor (NS, and DS when the child is signed and its plan says
so), then signs child zones before their
parents, so each parent signs the DS it publishes. Signing is deterministic except for the
keys, which are new per world (ECDSA P-256 by default: fast to sign and to verify).

What the signer does, as RFC 4035 2 and RFC 5155 7.1 say: a DNSKEY RRset (KSK + ZSK) at the
apex, signed by the KSK; every authoritative RRset signed by the ZSK; at a delegation point
only DS and NSEC are signed, and glue below it is neither signed nor in the chain; NSEC
over every authoritative name, or NSEC3 over their hashes and those of empty non-terminals
(with Opt-Out, unsigned delegations are left out of the chain); NSEC3PARAM at the apex.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rdtypes.ANY.NSEC
import dns.rdtypes.ANY.NSEC3
import dns.rdtypes.ANY.NSEC3PARAM
import dns.rdtypes.util
import dns.zone
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import dns.dnssec

from scanner.dns.dnssec.nsec3 import hash_text, nsec3_hash

_RRSIG, _NSEC, _NSEC3, _NSEC3PARAM = (dns.rdatatype.RRSIG, dns.rdatatype.NSEC,
                                      dns.rdatatype.NSEC3, dns.rdatatype.NSEC3PARAM)
_NS, _DS, _SOA, _DNSKEY = dns.rdatatype.NS, dns.rdatatype.DS, dns.rdatatype.SOA, dns.rdatatype.DNSKEY
_DNSSEC_TYPES = (_RRSIG, _NSEC, _NSEC3, _NSEC3PARAM, _DNSKEY)
_DAY = 86400


@dataclass(frozen=True)
class SignPlan:
    """How one zone is signed (or broken)."""

    denial: str = "nsec"          # "nsec" or "nsec3"
    iterations: int = 0           # NSEC3 (RFC 9276: 0)
    salt: bytes = b""
    opt_out: bool = False
    algorithm: int = 13           # 8 RSASHA256, 13 ECDSAP256SHA256, 15 ED25519, 5 RSASHA1
    expired: bool = False         # every signature expired a day ago
    ds: str = "match"             # "match", "mismatch" (a DS for another key), "none"
    digest: int = 2               # DS digest type
    strip: tuple[tuple[str, str], ...] = ()   # (owner, type): signatures removed after signing


@dataclass
class LabKey:
    private: object
    dnskey: object

    @property
    def tag(self) -> int:
        return dns.dnssec.key_id(self.dnskey)


_RSA_KEYS: dict[int, object] = {}


def _private_key(algorithm: int):
    if algorithm == 13:
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == 14:
        return ec.generate_private_key(ec.SECP384R1())
    if algorithm == 15:
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm in (5, 7, 8, 10):     # RSA generation is slow: one per process is enough
        if 2048 not in _RSA_KEYS:
            _RSA_KEYS[2048] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return _RSA_KEYS[2048]
    raise ValueError(f"the lab cannot sign with algorithm {algorithm}")


def new_key(algorithm: int, *, ksk: bool) -> LabKey:
    private = _private_key(algorithm)
    if algorithm in (5, 7, 8, 10) and ksk:   # the one RSA key would give KSK == ZSK tags
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    flags = 257 if ksk else 256
    dnskey = dns.dnssec.make_dnskey(private.public_key(), algorithm, flags)
    return LabKey(private, dnskey)


@dataclass
class ZoneKeys:
    ksk: LabKey
    zsk: LabKey

    @classmethod
    def generate(cls, algorithm: int = 13) -> "ZoneKeys":
        return cls(new_key(algorithm, ksk=True), new_key(algorithm, ksk=False))

    def ds(self, zone: dns.name.Name, digest: int = 2):
        return ds_record(zone, self.ksk.dnskey, digest)


def ds_record(zone: dns.name.Name, dnskey, digest: int = 2):
    """The DS a parent publishes for ``dnskey`` (also for keys of a real signer)."""
    return dns.dnssec.make_ds(zone, dnskey, digest, policy=dns.dnssec.allow_all_policy)


# ------------------------------------------------------------------ one zone

def _strip(zone: dns.zone.Zone) -> None:
    for name in list(zone.nodes):
        node = zone.nodes[name]
        for rds in list(node.rdatasets):
            if rds.rdtype in _DNSSEC_TYPES and not (rds.rdtype == _DNSKEY and name != zone.origin):
                node.delete_rdataset(rds.rdclass, rds.rdtype, rds.covers)
        if not len(node.rdatasets):
            del zone.nodes[name]


def _cuts(zone: dns.zone.Zone) -> set[dns.name.Name]:
    return {n for n, node in zone.nodes.items()
            if n != zone.origin and node.get_rdataset(dns.rdataclass.IN, _NS) is not None}


def _occluded(name: dns.name.Name, cuts: set[dns.name.Name]) -> bool:
    return any(name != c and name.is_subdomain(c) for c in cuts)


def _types(node) -> list[int]:
    return [r.rdtype for r in node.rdatasets if r.rdtype != _RRSIG]


def _soa_minimum(zone: dns.zone.Zone) -> int:
    soa = zone.get_rdataset(zone.origin, _SOA)
    return min(soa.ttl, soa[0].minimum)


def _add(zone: dns.zone.Zone, name: dns.name.Name, ttl: int, rdata) -> None:
    zone.find_rdataset(name, rdata.rdtype, covers=rdata.covers(), create=True).add(rdata, ttl)


def _bitmap(types) -> list:
    return dns.rdtypes.util.Bitmap.from_rdtypes(sorted(set(types))).windows


def _nsec_chain(zone: dns.zone.Zone, names: list[dns.name.Name], cuts: set) -> None:
    ttl = _soa_minimum(zone)
    for i, name in enumerate(names):
        nxt = names[(i + 1) % len(names)]
        node = zone.nodes[name]
        types = [t for t in _types(node) if name not in cuts or t in (_NS, _DS)]
        rd = dns.rdtypes.ANY.NSEC.NSEC(dns.rdataclass.IN, _NSEC, nxt,
                                       _bitmap(types + [_RRSIG, _NSEC]))
        _add(zone, name, ttl, rd)


def _nsec3_chain(zone: dns.zone.Zone, names: list[dns.name.Name], cuts: set, plan: SignPlan) -> None:
    origin, ttl = zone.origin, _soa_minimum(zone)
    entries: dict[bytes, list[int]] = {}
    for name in names:
        node = zone.nodes[name]
        if name in cuts:
            types = [t for t in _types(node) if t in (_NS, _DS)]
            if plan.opt_out and _DS not in types:
                continue                  # opted out: no NSEC3 for an unsigned delegation
            types += [_RRSIG] if _DS in types else []
        else:
            types = _types(node) + [_RRSIG]
            if name == origin:
                types.append(_NSEC3PARAM)
        entries[nsec3_hash(name, plan.salt, plan.iterations)] = types
        ancestor = name
        while ancestor != origin:           # empty non-terminals get NSEC3 records too
            ancestor = ancestor.parent()
            digest = nsec3_hash(ancestor, plan.salt, plan.iterations)
            entries.setdefault(digest, [])
    hashes = sorted(entries)
    flags = 1 if plan.opt_out else 0
    for i, digest in enumerate(hashes):
        nxt = hashes[(i + 1) % len(hashes)]
        rd = dns.rdtypes.ANY.NSEC3.NSEC3(dns.rdataclass.IN, _NSEC3, 1, flags, plan.iterations,
                                         plan.salt, nxt, _bitmap(entries[digest]))
        owner = dns.name.Name((hash_text(digest).encode(),) + origin.labels)
        _add(zone, owner, ttl, rd)
    param = dns.rdtypes.ANY.NSEC3PARAM.NSEC3PARAM(dns.rdataclass.IN, _NSEC3PARAM, 1, 0,
                                                  plan.iterations, plan.salt)
    _add(zone, origin, 0, param)


def sign_zone(zone: dns.zone.Zone, keys: ZoneKeys, plan: SignPlan, *, now: int | None = None) -> None:
    """Sign ``zone`` in place (old DNSSEC records are replaced)."""
    now = int(time.time()) if now is None else now
    inception, expiration = (now - 30 * _DAY, now - _DAY) if plan.expired else (now - 3600, now + 30 * _DAY)
    _strip(zone)
    origin = zone.origin
    soa = zone.get_rdataset(origin, _SOA)
    for key in (keys.ksk, keys.zsk):
        _add(zone, origin, soa.ttl, key.dnskey)
    cuts = _cuts(zone)
    names = sorted(n for n, node in zone.nodes.items()
                   if len(node.rdatasets) and not _occluded(n, cuts))
    if plan.denial == "nsec3":
        _nsec3_chain(zone, names, cuts, plan)
    else:
        _nsec_chain(zone, names, cuts)
    for name, node in list(zone.nodes.items()):
        if _occluded(name, cuts):
            continue
        for rds in list(node.rdatasets):
            if rds.rdtype == _RRSIG or (name in cuts and rds.rdtype not in (_DS, _NSEC)):
                continue
            key = keys.ksk if rds.rdtype == _DNSKEY else keys.zsk
            sig = dns.dnssec.sign((name, rds), key.private, origin, key.dnskey,
                                  inception=inception, expiration=expiration,
                                  policy=dns.dnssec.allow_all_policy)
            _add(zone, name, rds.ttl, sig)
    for owner, rdtype in plan.strip:
        node = zone.get_node(dns.name.from_text(owner, origin))
        if node is not None:
            node.delete_rdataset(dns.rdataclass.IN, _RRSIG, dns.rdatatype.from_text(rdtype))


# ------------------------------------------------------------------ a world of zones

@dataclass
class SignedWorld:
    """What ``sign_world`` did: the keys per zone, and the anchor text for the root."""

    keys: dict[str, ZoneKeys] = field(default_factory=dict)
    anchor: str = ""


def sign_world(server, plan: dict[str, SignPlan], *, now: int | None = None,
               keys: dict[str, ZoneKeys] | None = None) -> SignedWorld:
    """Delegate, then sign the zones of ``server`` that ``plan`` names (see the module
    docstring); the anchor is the DS of the highest signed zone (normally the root)."""
    keys = dict(keys or {})
    planned = {dns.name.from_text(z): p for z, p in plan.items()}
    with server.lock:
        zones = server.zones        # the live dict, under the server's lock
        origins = sorted(zones, key=len, reverse=True)        # children first
        for origin in origins:
            if zones[origin].get_rdataset(origin, _NS) is None:   # a resolver primes with it
                _add(zones[origin], origin, 300, dns.rdata.from_text(
                    dns.rdataclass.IN, _NS, f"ns.{origin}" if len(origin) > 1 else "ns."))
            parent = _closest_served_parent(origin, zones)
            if parent is None:
                continue
            pzone = zones[parent]
            if pzone.get_rdataset(origin, _NS) is None:
                ns = dns.rdata.from_text(dns.rdataclass.IN, _NS, f"ns.{origin}")
                _add(pzone, origin, 300, ns)
            pzone.delete_rdataset(origin, _DS)
        for origin in origins:
            p = planned.get(origin)
            if p is None:
                continue
            zk = keys.setdefault(origin.to_text(), ZoneKeys.generate(p.algorithm))
            sign_zone(zones[origin], zk, p, now=now)
            parent = _closest_served_parent(origin, zones)
            if parent is not None and p.ds != "none":
                source = zk if p.ds == "match" else ZoneKeys.generate(p.algorithm)
                _add(zones[parent], origin, 300, source.ds(origin, p.digest))
        top = min((o for o in origins if o in planned), key=len, default=None)
    anchor = ""
    if top is not None:
        ds = keys[top.to_text()].ds(top, 2)
        anchor = f"{top} IN DS {ds}\n"
    return SignedWorld(keys, anchor)


def _closest_served_parent(origin: dns.name.Name, zones) -> dns.name.Name | None:
    name = origin
    while len(name) > 1:
        name = name.parent()
        if name in zones:
            return name
    return None
