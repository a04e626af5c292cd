"""DNSSEC for the bench world (bench/world.py ``--dnssec unsigned|signed``): answers to
queries with the DO bit, signed on line as large DNS operators do (RFC 4470).

The shape is the world's, cut into zones as on the internet: a signed root and a signed
``test.`` (the "TLD"), under which every domain ``d######.test``, the providers
``provider-a.test``/``provider-b.test`` and ``own.test`` (self-hosted MX hosts) are zones of
their own, delegated with NS.

- ``unsigned``: those zones are unsigned delegations (``test.`` proves there is no DS): the
  common case of a signed TLD and an unsigned domain; a validator walks down and stops.
- ``signed``: every zone is signed with keys of its own (ECDSA P-256, made on first use), has
  a DS at its parent, and each MX host publishes a DANE-EE TLSA record for the key of the
  certificate it presents.

Signatures are made when an RRset is first asked and cached. Denials are minimally covering
(RFC 4470 "white lies"): a name that exists but lacks the type gets an NSEC from the name
to the next possible name with its types; a name that does not exist gets the same NSEC
with only RRSIG and NSEC ("black lies": NODATA instead of NXDOMAIN), which any validator
accepts and which needs no ordered view of a procedural zone. The root anchor (a DS) is
written to ``anchor_path`` for ``mxaudit scan --trust-anchor``.
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.NSEC
import dns.rdtypes.util
import dns.rrset
from cryptography.hazmat.primitives.asymmetric import ec

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import dns.dnssec

_IN = dns.rdataclass.IN
_NSEC, _RRSIG, _DS, _DNSKEY, _SOA, _NS, _TLSA = (
    dns.rdatatype.NSEC, dns.rdatatype.RRSIG, dns.rdatatype.DS, dns.rdatatype.DNSKEY,
    dns.rdatatype.SOA, dns.rdatatype.NS, dns.rdatatype.TLSA)
TTL = 300
ROOT = dns.name.root
TEST = dns.name.from_text("test.")
SOA_TEXT = "ns.{z} hostmaster.{z} 1 3600 600 86400 300"


class _Keys:
    def __init__(self) -> None:
        self.ksk_private = ec.generate_private_key(ec.SECP256R1())
        self.zsk_private = ec.generate_private_key(ec.SECP256R1())
        self.ksk = dns.dnssec.make_dnskey(self.ksk_private.public_key(), 13, 257)
        self.zsk = dns.dnssec.make_dnskey(self.zsk_private.public_key(), 13, 256)


class DnssecWorld:
    """Answers DO queries for ``world`` (a bench.world.World) in ``mode``."""

    def __init__(self, world, mode: str, tlsa: dict[str, str], anchor_path: Path) -> None:
        """``tlsa``: certificate group ("a", "b", "own") -> TLSA rdata of its key."""
        assert mode in ("unsigned", "signed")
        self.world, self.mode, self.tlsa = world, mode, tlsa
        self._keys: dict[dns.name.Name, _Keys] = {}
        self._sigs: dict[tuple, object] = {}
        now = int(time.time())
        self._window = (now - 3600, now + 30 * 86400)
        anchor_path.write_text(f". IN DS {self._make_ds(ROOT)}\n")
        self.anchor_path = anchor_path

    # ---------------------------------------------------------------- zones
    def zone_of(self, name: dns.name.Name) -> dns.name.Name | None:
        """The zone ``name`` belongs to (its apex included), None outside the world."""
        if name == ROOT or not name.is_subdomain(TEST):
            return ROOT if name == ROOT or len(name) == 2 else None
        if name == TEST or len(name) < 3:
            return TEST
        child = dns.name.Name(name.labels[-3:])
        label = child.labels[0].decode().lower()
        if label in ("provider-a", "provider-b", "own") or self.world.index(label) is not None:
            return child
        return TEST

    def signed(self, zone: dns.name.Name) -> bool:
        return zone in (ROOT, TEST) or self.mode == "signed"

    def keys(self, zone: dns.name.Name) -> _Keys:
        found = self._keys.get(zone)
        if found is None:
            found = self._keys[zone] = _Keys()
        return found

    def _make_ds(self, zone: dns.name.Name):
        return dns.dnssec.make_ds(zone, self.keys(zone).ksk, "SHA256",
                                  policy=dns.dnssec.allow_all_policy)

    # ---------------------------------------------------------------- records
    def records(self, zone: dns.name.Name, name: dns.name.Name) -> dict[int, list] | None:
        """Type -> rdatas at ``name`` as ``zone`` serves it; None when the name does not exist."""
        text = name.to_text(omit_final_dot=True).lower()
        out: dict[int, list] = {}
        if name == zone:
            out[_SOA] = [dns.rdata.from_text(_IN, _SOA, SOA_TEXT.format(z=zone.to_text() if zone != ROOT else ""))]
            out[_NS] = [dns.rdata.from_text(_IN, _NS, f"ns.{zone}" if zone != ROOT else "ns.test.")]
            if self.signed(zone):
                keys = self.keys(zone)
                out[_DNSKEY] = [keys.ksk, keys.zsk]
            if zone != TEST and zone != ROOT:
                node = self.world.node(text) or {}
                for rdtype, texts in node.items():
                    if rdtype not in ("SOA", "NS"):
                        out[dns.rdatatype.from_text(rdtype)] = self._rdatas(rdtype, texts)
            return out
        child = self.zone_of(name)
        if child is not None and child != zone and len(name) == len(zone) + 1:
            out[_NS] = [dns.rdata.from_text(_IN, _NS, f"ns.{name}")]      # a delegation
            if self.signed(child):
                out[_DS] = [self._make_ds(name)]
            return out
        if zone == ROOT:
            return None
        if text.startswith("_25._tcp."):
            host = text[len("_25._tcp."):]
            group = ("own" if host.endswith(".own.test") else host.split(".")[1][-1:]
                     if host.count(".") == 2 else "")
            record = self.tlsa.get(group) if self.mode == "signed" and self.world.node(host) else None
            return {_TLSA: [dns.rdata.from_text(_IN, _TLSA, record)]} if record else None
        node = self.world.node(text)
        if node is None:
            return None
        return {dns.rdatatype.from_text(t): self._rdatas(t, v) for t, v in node.items()}

    @staticmethod
    def _rdatas(rdtype: str, texts: list[str]) -> list:
        if rdtype == "TXT":
            texts = [" ".join(f'"{t[k:k + 255]}"' for k in range(0, len(t), 255)) for t in texts]
        return [dns.rdata.from_text(_IN, rdtype, t) for t in texts]

    # ---------------------------------------------------------------- signing
    def _rrset(self, owner: dns.name.Name, rdtype: int, rdatas: list) -> dns.rrset.RRset:
        rrset = dns.rrset.RRset(owner, _IN, rdtype)
        for rd in rdatas:
            rrset.add(rd, TTL)
        return rrset

    def _sig(self, zone: dns.name.Name, rrset: dns.rrset.RRset) -> dns.rrset.RRset:
        key = (rrset.name, rrset.rdtype, tuple(sorted(rd.to_digestable() for rd in rrset)))
        sig = self._sigs.get(key)
        if sig is None:
            keys = self.keys(zone)
            private, dnskey = ((keys.ksk_private, keys.ksk) if rrset.rdtype == _DNSKEY
                               else (keys.zsk_private, keys.zsk))
            sig = self._sigs[key] = dns.dnssec.sign(rrset, private, zone, dnskey,
                                                    inception=self._window[0],
                                                    expiration=self._window[1],
                                                    policy=dns.dnssec.allow_all_policy)
        out = dns.rrset.RRset(rrset.name, _IN, _RRSIG, rrset.rdtype)
        out.add(sig, TTL)
        return out

    def _add(self, section: list, zone: dns.name.Name, rrset: dns.rrset.RRset) -> None:
        section.append(rrset)
        if self.signed(zone):
            section.append(self._sig(zone, rrset))

    def _denial(self, response: dns.message.Message, zone: dns.name.Name, name: dns.name.Name,
                types: list[int]) -> None:
        """SOA, and in a signed zone the minimally covering NSEC (RFC 4470) for ``name``."""
        soa = self.records(zone, zone)[_SOA]
        self._add(response.authority, zone, self._rrset(zone, _SOA, soa))
        if not self.signed(zone):
            return
        nxt = dns.name.Name((b"\x00",) + name.labels)
        bitmap = dns.rdtypes.util.Bitmap.from_rdtypes(sorted(set(types) | {_RRSIG, _NSEC})).windows
        nsec = dns.rdtypes.ANY.NSEC.NSEC(_IN, _NSEC, nxt, bitmap)
        self._add(response.authority, zone, self._rrset(name, _NSEC, [nsec]))

    # ---------------------------------------------------------------- answers
    def answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query, our_payload=1232)
        response.flags |= dns.flags.AA
        response.flags &= ~dns.flags.RA
        response.ednsflags |= dns.flags.DO
        question = query.question[0]
        name, rdtype = question.name, question.rdtype
        zone = self.zone_of(name)
        if zone is None:
            response.set_rcode(dns.rcode.REFUSED)
            return response
        if rdtype == _DS and name == zone and zone != ROOT:
            zone = self.zone_of(zone.parent()) or ROOT     # the parent's record
        records = self.records(zone, name)
        if records is None:                                # black lie: NODATA
            self._denial(response, zone, name, [])
            return response
        if _NS in records and name != zone and rdtype != _DS:
            response.flags &= ~dns.flags.AA                 # a referral (DO queries for a
            self._add(response.authority, zone, self._rrset(name, _NS, records[_NS]))
            return response                                 # child are asked of the child)
        found = records.get(rdtype)
        if found:
            self._add(response.answer, zone, self._rrset(name, rdtype, found))
            return response
        cname = records.get(dns.rdatatype.CNAME)
        if cname:
            self._add(response.answer, zone, self._rrset(name, dns.rdatatype.CNAME, cname))
            return response
        self._denial(response, zone, name, list(records))
        return response
