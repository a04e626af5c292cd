"""Evidence of the MX stage: MX records, their hosts, addresses and reverse DNS."""
from __future__ import annotations

from dataclasses import dataclass

from scanner.evidence.dns import DnsResult


@dataclass(frozen=True)
class MxRecord:
    preference: int
    exchange: str          # lower case, no trailing dot; "" for the null MX "."


@dataclass(frozen=True)
class PtrEvidence:
    lookup: DnsResult                      # the PTR query
    forward: tuple[DnsResult, ...] = ()    # A/AAAA of each PTR name (capped)
    confirmed_name: str = ""               # a PTR name whose addresses include the IP (FCrDNS)


@dataclass(frozen=True)
class AddressEvidence:
    ip: str
    family: int            # 4 or 6
    public: bool           # globally routable (RFC 6890); False for loopback/private/reserved
    probed: bool           # whether the collect stage allowed network probes to it
    ptr: PtrEvidence | None = None


@dataclass(frozen=True)
class MxHostEvidence:
    name: str
    preference: int
    implicit: bool = False          # no MX: the domain itself (RFC 5321 5.1)
    ip_literal: bool = False        # the exchange is written as an IP address
    a: DnsResult | None = None
    aaaa: DnsResult | None = None
    addresses: tuple[AddressEvidence, ...] = ()
    addresses_capped: int = 0       # addresses not examined because of the per-family cap

    @property
    def cname_target(self) -> str:
        for res in (self.a, self.aaaa):
            if res is not None and res.via_cname:
                return res.canonical_name
        return ""


@dataclass(frozen=True)
class MxEvidence:
    lookup: DnsResult                        # the MX query (also the domain-exists signal)
    records: tuple[MxRecord, ...] = ()
    hosts: tuple[MxHostEvidence, ...] = ()   # examined hosts, by preference
    hosts_capped: int = 0                    # MX hosts not examined because of the cap
    domain_a: DnsResult | None = None        # for implicit MX (no MX records)
    domain_aaaa: DnsResult | None = None

    @property
    def null_mx(self) -> bool:
        """Exactly one MX, preference 0, exchange '.' (RFC 7505 3)."""
        return len(self.records) == 1 and self.records[0] == MxRecord(0, "")

    @property
    def has_null_entry(self) -> bool:
        return any(r.exchange == "" for r in self.records)
