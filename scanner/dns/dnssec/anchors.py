"""Trust anchors: where every chain of trust starts (RFC 4033 3.1, RFC 4035 4.4).

Built in: the DS records of the IANA root KSK-2017 and KSK-2024 (scanner/data/root-anchors.txt,
with a note of their source). ``--trust-anchor FILE`` (repeatable) and the config key
``trust_anchors`` read DS or DNSKEY records in zone-file presentation format for any zone
(the formats of Unbound's ``trust-anchor-file`` and of Debian's /usr/share/dns/root.key).

Anchors given for a zone replace the built-in ones for that zone and add the others: a file
with a "." anchor (a lab, a private root) replaces the IANA root keys; a file for
"corp.example." only adds an island of trust below it while public names still validate
from the root. Each name validates from its closest enclosing anchor.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import dns.exception
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.tokenizer
import dns.zonefile

from scanner.dns.dnssec.signatures import ZONE_FLAG, key_label
from scanner.errors import UsageError

BUILTIN = "built-in IANA root KSK-2017 and KSK-2024"


@dataclass(frozen=True)
class TrustAnchor:
    zone: dns.name.Name
    ds: tuple = ()           # DS rdatas
    keys: tuple = ()         # DNSKEY rdatas
    source: str = ""

    def describe(self) -> str:
        parts = [f"DS {ds.key_tag}/{ds.algorithm}" for ds in self.ds]
        parts += [f"DNSKEY {key_label(k)}" for k in self.keys]
        return f"{self.zone} {', '.join(parts)} ({self.source})"


def _read_rrsets(text: str) -> list:
    """``dns.zonefile.read_rrsets`` with the $ORIGIN and $TTL directives allowed (never
    $INCLUDE: an anchor file must not make mxaudit read other files)."""
    manager = dns.zonefile.RRSetsReaderManager(dns.name.root, False, dns.rdataclass.IN)
    with manager.writer(True) as txn:
        tok = dns.tokenizer.Tokenizer(text, "<input>")
        dns.zonefile.Reader(tok, dns.rdataclass.IN, txn, allow_directives={"$ORIGIN", "$TTL"},
                            default_ttl=0).read()
    return manager.rrsets


def parse_anchors(text: str, source: str) -> list[TrustAnchor]:
    """DS/DNSKEY records (zone-file format; owners absolute, or relative to the root or
    to $ORIGIN) as one anchor per zone. ValueError names the problem."""
    try:
        rrsets = _read_rrsets(text)
    except dns.exception.DNSException as exc:
        raise ValueError(f"not DS or DNSKEY records in zone-file format ({exc})") from None
    by_zone: dict[dns.name.Name, tuple[list, list]] = {}
    for rrset in rrsets:
        if rrset.rdtype not in (dns.rdatatype.DS, dns.rdatatype.DNSKEY):
            raise ValueError(f"{rrset.name} {dns.rdatatype.to_text(rrset.rdtype)}: only DS "
                             "and DNSKEY records can be trust anchors")
        ds, keys = by_zone.setdefault(rrset.name, ([], []))
        if rrset.rdtype == dns.rdatatype.DS:
            ds.extend(rrset)
        else:
            for key in rrset:
                if not key.flags & ZONE_FLAG:
                    raise ValueError(f"{rrset.name} DNSKEY {key_label(key)}: not a zone key "
                                     "(flags without the Zone Key bit)")
                keys.append(key)
    if not by_zone:
        raise ValueError("no DS or DNSKEY records found")
    return [TrustAnchor(zone, tuple(ds), tuple(keys), source)
            for zone, (ds, keys) in by_zone.items()]


def load_anchor_file(path: str | Path) -> list[TrustAnchor]:
    """The anchors of one ``--trust-anchor`` file; UsageError (exit 2) names the problem."""
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeError) as exc:
        raise UsageError(f"--trust-anchor {path}: cannot read ({exc})") from None
    try:
        return parse_anchors(text, str(path))
    except ValueError as exc:
        raise UsageError(f"--trust-anchor {path}: {exc}") from None


def builtin_anchors() -> list[TrustAnchor]:
    text = resources.files("scanner").joinpath("data/root-anchors.txt").read_text("utf-8")
    return parse_anchors(text, BUILTIN)


class TrustAnchors:
    """The anchors of one scan, by zone."""

    def __init__(self, anchors: Iterable[TrustAnchor]) -> None:
        self._by_zone: dict[dns.name.Name, TrustAnchor] = {}
        for a in anchors:
            have = self._by_zone.get(a.zone)
            if have is not None:     # several files for one zone: their records together
                a = TrustAnchor(a.zone, have.ds + a.ds, have.keys + a.keys,
                                f"{have.source}, {a.source}")
            self._by_zone[a.zone] = a

    @classmethod
    def load(cls, files: Sequence[str | Path] = ()) -> "TrustAnchors":
        """The built-in root anchors, with the zones the files name replaced by theirs."""
        given = [a for path in files for a in load_anchor_file(path)]
        zones = {a.zone for a in given}
        return cls([a for a in builtin_anchors() if a.zone not in zones] + given)

    def closest(self, name: dns.name.Name) -> TrustAnchor | None:
        """The anchor of the closest enclosing zone of ``name`` (None: no anchor covers it)."""
        for i in range(len(name.labels)):
            found = self._by_zone.get(dns.name.Name(name.labels[i:]))
            if found is not None:
                return found
        return None

    def describe(self) -> tuple[str, ...]:
        return tuple(a.describe() for a in sorted(self._by_zone.values(), key=lambda a: a.zone))
