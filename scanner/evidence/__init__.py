"""Evidence: plain, serialisable records of what the collect stage saw. It judges nothing."""
from scanner.evidence.dns import DnsOutcome, DnsResult
from scanner.evidence.domain import DomainEvidence
from scanner.evidence.mx import AddressEvidence, MxEvidence, MxHostEvidence, MxRecord, PtrEvidence
from scanner.evidence.records import RecordsEvidence
from scanner.evidence.smtp import DEFAULT_PORTS, ROLES, PortSpec, SmtpProbe

__all__ = [
    "DEFAULT_PORTS", "ROLES", "AddressEvidence", "DnsOutcome", "DnsResult", "DomainEvidence",
    "MxEvidence", "MxHostEvidence", "MxRecord", "PortSpec", "PtrEvidence", "RecordsEvidence",
    "SmtpProbe",
]
