"""Everything collected about one input domain: the unit stored, evaluated and reported."""
from __future__ import annotations

from dataclasses import dataclass

from scanner.evidence.dnssec import DnssecEvidence
from scanner.evidence.mx import MxEvidence
from scanner.evidence.records import RecordsEvidence
from scanner.evidence.smtp import PortSpec, SmtpProbe


@dataclass(frozen=True)
class DomainEvidence:
    position: int                 # 0-based position in the (deduplicated) input
    input: str                    # the line as given
    domain: str                   # normalised A-label form; "" when invalid
    invalid_reason: str = ""      # why the input is not a valid domain name
    dkim_selectors: tuple[str, ...] = ()   # the operator's selectors for this domain
    scanned_at: str = ""          # ISO 8601 UTC; the only clock checks may use
    allow_private: bool = False   # operator allowed probes to non-public addresses
    ports: tuple[PortSpec, ...] = ()
    mx: MxEvidence | None = None
    smtp: tuple[SmtpProbe, ...] = ()
    records: RecordsEvidence | None = None
    dnssec: DnssecEvidence | None = None   # DNSSEC states and TLSA lookups (None: not collected)
    error: str = ""               # why the scan of this domain could not complete

    @property
    def valid(self) -> bool:
        return not self.invalid_reason and bool(self.domain)
