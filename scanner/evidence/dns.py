"""What one DNS lookup saw. Collected by scanner.dns.client; judged by the checks."""
from __future__ import annotations

import enum
from dataclasses import dataclass


class DnsOutcome(str, enum.Enum):
    """The error taxonomy of a lookup: it is what lets a check tell `fail` from `error`."""

    OK = "ok"              # an answer with at least one record of the type asked
    NODATA = "nodata"      # the name exists, no record of that type
    NXDOMAIN = "nxdomain"  # the name does not exist
    SERVFAIL = "servfail"
    REFUSED = "refused"
    TIMEOUT = "timeout"    # no answer within the lifetime, after retries
    ERROR = "error"        # anything else: malformed answer, CNAME loop, bad name, ...

    def __str__(self) -> str:
        return self.value

    @property
    def answered(self) -> bool:
        """The DNS gave an authoritative yes/no (as opposed to failing to answer)."""
        return self in (DnsOutcome.OK, DnsOutcome.NODATA, DnsOutcome.NXDOMAIN)


@dataclass(frozen=True)
class DnsResult:
    name: str                 # the name asked, lower case, no trailing dot
    rdtype: str               # "MX", "TXT", ...
    outcome: DnsOutcome
    records: tuple[str, ...] = ()   # rdata as text; TXT: the character-strings joined, decoded
    canonical_name: str = ""  # where CNAMEs led; equal to name when there were none
    detail: str = ""          # a short reason for non-OK outcomes

    @property
    def ok(self) -> bool:
        return self.outcome is DnsOutcome.OK

    @property
    def via_cname(self) -> bool:
        return bool(self.canonical_name) and self.canonical_name != self.name

    def describe(self) -> str:
        """One line for messages: 'MX example.com: servfail (reason)'."""
        tail = f" ({self.detail})" if self.detail else ""
        return f"{self.rdtype} {self.name}: {self.outcome}{tail}"
