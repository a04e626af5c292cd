"""What DNSSEC validation and the DANE lookups saw: collected by scanner/collect/dnssec.py
(through scanner/dns/dnssec), judged by scanner/checks/dnssec.py and scanner/checks/dane.py.

Compact on purpose: a state, the chain of zones as short text and one reason per answer,
never the keys or signatures themselves (those stay in the scan's caches).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from scanner.evidence.dns import DnsOutcome


class Security(str, enum.Enum):
    """The outcome of validating one answer (RFC 4033 5, RFC 4035 4.3)."""

    SECURE = "secure"                # a chain of trust from a trust anchor to the answer
    INSECURE = "insecure"            # provably no chain: an unsigned delegation, an opt-out
    #                                  span, an unsupported algorithm, no anchor for the name
    BOGUS = "bogus"                  # there should be a chain and it is broken
    INDETERMINATE = "indeterminate"  # could not find out (timeouts, SERVFAIL even with CD,
    #                                  a resolver that strips DNSSEC records)

    def __str__(self) -> str:
        return self.value


# worst first: how the states of several answers combine into one (a CNAME chain, A+AAAA)
_RANK = {Security.BOGUS: 3, Security.INDETERMINATE: 2, Security.INSECURE: 1, Security.SECURE: 0}


def worst_state(states) -> Security:
    """The combined state: bogus > indeterminate > insecure > secure (secure when empty)."""
    return max(states, key=_RANK.__getitem__, default=Security.SECURE)


@dataclass(frozen=True)
class Validation:
    """One answer (name, type), validated by mxaudit from its trust anchors."""

    name: str                     # the name asked, lower case, no trailing dot
    rdtype: str
    state: Security
    outcome: DnsOutcome = DnsOutcome.OK   # records, NODATA, NXDOMAIN, or why there was no answer
    canonical: str = ""           # where CNAMEs led, when they did
    chain: tuple[str, ...] = ()   # the zones from the trust anchor down to the answer's
    #                               signer, as "zone tag/alg ..." ("test. 1234/13")
    detail: str = ""              # how the state was reached; for bogus: which RRset, which
    #                               key tag, what failed
    resolver_ad: bool = False     # the resolver set AD (kept as evidence, never trusted)
    resolver_rejected: bool = False   # SERVFAIL until asked with CD: the resolver judged it bogus

    @property
    def secure(self) -> bool:
        return self.state is Security.SECURE


@dataclass(frozen=True)
class TlsaRecord:
    """One TLSA record (RFC 6698 2.1). ``data`` is the certificate association data in
    hex; for matching type 0 (the full certificate or public key) it is the SHA-256 of
    that data instead, which is how it is matched (equal SHA-256 digests), so evidence
    never holds whole certificates."""

    usage: int
    selector: int
    matching_type: int
    data: str
    length: int = 0               # bytes of association data as published

    def text(self) -> str:
        shown = f"<{self.length} bytes, SHA-256 {self.data}>" if self.matching_type == 0 else self.data
        return f"{self.usage} {self.selector} {self.matching_type} {shown}"


@dataclass(frozen=True)
class TlsaLookup:
    """The TLSA RRset for an MX host's port 25 (RFC 7672 2.2)."""

    name: str                     # the owner asked: _25._tcp.<TLSA base domain>
    validation: Validation
    records: tuple[TlsaRecord, ...] = ()
    capped: int = 0               # records not kept (more than the cap)


@dataclass(frozen=True)
class MxHostDnssec:
    """The DNSSEC state of one MX host's address records, and its TLSA lookup."""

    host: str
    a: Validation | None = None
    aaaa: Validation | None = None
    tlsa: TlsaLookup | None = None
    tlsa_skipped: str = ""        # why there was no TLSA lookup

    @property
    def validations(self) -> tuple[Validation, ...]:
        return tuple(v for v in (self.a, self.aaaa) if v is not None)

    @property
    def state(self) -> Security:
        found = self.validations
        return worst_state(v.state for v in found) if found else Security.INDETERMINATE


@dataclass(frozen=True)
class DnssecEvidence:
    domain: Validation            # the domain's MX answer (records or a NODATA proof)
    hosts: tuple[MxHostDnssec, ...] = ()
    anchors: tuple[str, ...] = ()   # the trust anchors validated from: ". DS 20326/8 ..."
    validated_at: str = ""        # ISO 8601 UTC: the clock RRSIG validity was checked against
