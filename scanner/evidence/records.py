"""Evidence of the domain's published policy records (SPF, DMARC, DKIM, MTA-STS, TLS-RPT, ...).

Raw TXT answers are kept as seen (``DnsResult``); the checks locate and parse them. The SPF
tree is the exception: walking it needs DNS, so the collector records the tree it walked
(records, DNS-querying terms and their answers, counts) and the checks re-read it.
A family whose collection failed as a whole (its time budget ran out, an internal error) is
``None`` with the reason in ``RecordsEvidence.errors[family]``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from scanner.evidence.dns import DnsResult


# ---------------------------------------------------------------------------------- SPF
@dataclass(frozen=True)
class SpfTermLookup:
    """The DNS work one DNS-querying term caused during the walk."""

    term: str                               # as written, e.g. "a:mail.example.com/24"
    target: str = ""                        # the name looked up ("" when not looked up)
    results: tuple[DnsResult, ...] = ()     # a: A+AAAA; mx: MX; exists: A; include/redirect: none here
    void: bool = False                      # every query answered with no data / NXDOMAIN
    note: str = ""                          # e.g. "macro: depends on the sender, not looked up"


@dataclass(frozen=True)
class SpfNode:
    """One record of the include/redirect tree; ``SpfEvidence.nodes[0]`` is the domain's own."""

    domain: str
    via: str = ""                           # "" (the domain itself), "include" or "redirect"
    parent: int = -1                        # index in SpfEvidence.nodes
    txt: DnsResult | None = None            # None: not fetched (see note)
    records: tuple[str, ...] = ()           # the v=spf1 records found at the name
    lookups: int = 0                        # DNS-querying terms of this node's record
    void_lookups: int = 0                   # void lookups caused by this node's terms
    terms: tuple[SpfTermLookup, ...] = ()
    note: str = ""                          # "include loop", "not followed: walk limit", ...


@dataclass(frozen=True)
class SpfMxResult:
    """pyspf's verdict for one of the domain's own MX addresses (MAIL FROM postmaster@domain)."""

    host: str
    ip: str
    result: str                             # pass, fail, softfail, neutral, none, permerror, temperror
    explanation: str = ""


@dataclass(frozen=True)
class SpfEvidence:
    nodes: tuple[SpfNode, ...]
    lookups: int = 0                        # DNS-querying terms in the whole walked tree
    void_lookups: int = 0
    truncated: bool = False                 # the walk stopped at its own limit: counts are lower bounds
    mx_results: tuple[SpfMxResult, ...] = ()
    mx_error: str = ""                      # why the MX evaluation could not run

    @property
    def root(self) -> SpfNode:
        return self.nodes[0]


# -------------------------------------------------------------------------------- DMARC
@dataclass(frozen=True)
class DmarcReportAuth:
    """The authorisation lookup for one external report destination (RFC 7489 7.1)."""

    destination: str                        # the report URI's domain
    uri: str
    lookup: DnsResult                       # TXT <domain>._report._dmarc.<destination>
    wildcard: DnsResult | None = None       # TXT *._report._dmarc.<destination>, if the first had none


@dataclass(frozen=True)
class DmarcEvidence:
    lookup: DnsResult                       # TXT _dmarc.<domain>
    org_domain: str                         # from the shipped Public Suffix List
    org_lookup: DnsResult | None = None     # TXT _dmarc.<org>, when the domain has no record
    authorisations: tuple[DmarcReportAuth, ...] = ()


# --------------------------------------------------------------------------------- DKIM
@dataclass(frozen=True)
class DkimProbe:
    selector: str
    source: str                             # "operator" (input CSV / --dkim-selector) or "builtin"
    lookup: DnsResult                       # TXT <selector>._domainkey.<domain>


@dataclass(frozen=True)
class DkimEvidence:
    probes: tuple[DkimProbe, ...] = ()
    rejected: tuple[str, ...] = ()          # operator selectors that are not valid DNS labels


# ------------------------------------------------------------------------------ MTA-STS
@dataclass(frozen=True)
class HttpFetch:
    """One HTTPS GET as seen: what came back, or the class of error that stopped it."""

    url: str
    host: str                               # the name (SNI, certificate check, Host header)
    ip: str = ""                            # the address connected to
    port: int = 443
    status: int = 0
    content_type: str = ""
    body: str = ""                          # decoded as UTF-8 (invalid bytes replaced), capped
    size: int = 0                           # body bytes read
    truncated: bool = False                 # stopped at the size cap
    redirect: str = ""                      # Location of a 3xx (never followed)
    error_class: str = ""                   # "", dns, no-address, private-address, connect,
                                            # certificate, tls, timeout, protocol
    error: str = ""


@dataclass(frozen=True)
class MtaStsEvidence:
    txt: DnsResult                          # TXT _mta-sts.<domain>
    policy_a: DnsResult | None = None       # A/AAAA of mta-sts.<domain> (when a record exists)
    policy_aaaa: DnsResult | None = None
    fetch: HttpFetch | None = None          # None: no v=STSv1 record, nothing fetched


# ------------------------------------------------------------------------------- all
@dataclass(frozen=True)
class RecordsEvidence:
    spf: SpfEvidence | None = None
    dmarc: DmarcEvidence | None = None
    dkim: DkimEvidence | None = None
    mta_sts: MtaStsEvidence | None = None
    tls_rpt: DnsResult | None = None        # TXT _smtp._tls.<domain>
    bimi: DnsResult | None = None           # TXT default._bimi.<domain>
    submission_srv: tuple[DnsResult, ...] = ()   # SRV _submission._tcp, _submissions._tcp
    errors: dict[str, str] = field(default_factory=dict)   # family -> why it is missing
