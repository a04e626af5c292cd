"""Evidence: plain, serialisable records of what the collect stage saw. It judges nothing."""
from .dns import DnsOutcome, DnsResult
from .domain import DomainEvidence
from .mx import AddressEvidence, MxEvidence, MxHostEvidence, MxRecord, PtrEvidence
from .records import RecordsEvidence
from .smtp import DEFAULT_PORTS, ROLES, PortSpec, SmtpProbe

__all__ = [
    "DEFAULT_PORTS", "ROLES", "AddressEvidence", "DnsOutcome", "DnsResult", "DomainEvidence",
    "MxEvidence", "MxHostEvidence", "MxRecord", "PortSpec", "PtrEvidence", "RecordsEvidence",
    "SmtpProbe",
]
