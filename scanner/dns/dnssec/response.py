"""A DNSSEC answer (asked with DO, and CD where the resolver refused it) as the validator
reads it: the whole dnspython message, and the resolver's own verdict beside it."""
from __future__ import annotations

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from scanner.evidence.dns import DnsOutcome

_RRSIG = dns.rdatatype.RRSIG
_IN = dns.rdataclass.IN


class SignedAnswer:
    """``message`` is None when there was no usable answer (``outcome`` says why).

    ``resolver_ad``: the resolver set AD on the answer to the query without CD (it
    validated the data itself). ``resolver_rejected``: that query got SERVFAIL and the data
    came only with CD set (the resolver judged it bogus). ``do_bit``: the response carried
    an OPT record with DO set (RFC 3225 3: a DNSSEC-aware server copies it)."""

    __slots__ = ("qname", "qtype", "outcome", "detail", "message", "resolver_ad",
                 "resolver_rejected", "do_bit")

    def __init__(self, qname: dns.name.Name, qtype: int, outcome: DnsOutcome, *,
                 message: dns.message.Message | None = None, detail: str = "",
                 resolver_rejected: bool = False) -> None:
        self.qname, self.qtype, self.outcome, self.detail = qname, qtype, outcome, detail
        self.message = message
        self.resolver_rejected = resolver_rejected
        flags = message.flags if message is not None else 0
        self.resolver_ad = bool(flags & dns.flags.AD) and not resolver_rejected
        self.do_bit = message is not None and bool(message.ednsflags & dns.flags.DO)

    @classmethod
    def from_message(cls, qname: dns.name.Name, qtype: int, message: dns.message.Message,
                     rejected: bool) -> "SignedAnswer":
        rcode = message.rcode()
        if rcode == dns.rcode.NXDOMAIN:
            outcome = DnsOutcome.NXDOMAIN
        elif rcode == dns.rcode.NOERROR:
            outcome = DnsOutcome.OK      # records or NODATA: the validator reads which
        else:
            return cls(qname, qtype, DnsOutcome.ERROR,
                       detail=f"server answered {dns.rcode.to_text(rcode)}")
        return cls(qname, qtype, outcome, message=message, resolver_rejected=rejected)

    @property
    def answered(self) -> bool:
        return self.message is not None

    def rrset(self, name: dns.name.Name, rdtype: int, *, authority: bool = False):
        if self.message is None:
            return None
        section = self.message.authority if authority else self.message.answer
        return self.message.get_rrset(section, name, _IN, rdtype)

    def sigs(self, name: dns.name.Name, covered: int, *, authority: bool = False) -> list:
        """The RRSIG rdatas at ``name`` covering ``covered``."""
        if self.message is None:
            return []
        section = self.message.authority if authority else self.message.answer
        found = self.message.get_rrset(section, name, _IN, _RRSIG, covered)
        return list(found) if found is not None else []

    def authority(self, rdtype: int) -> list:
        if self.message is None:
            return []
        return [r for r in self.message.authority if r.rdtype == rdtype]

    def has_signatures(self) -> bool:
        if self.message is None:
            return False
        return any(r.rdtype == _RRSIG for r in self.message.answer + self.message.authority)

    def __repr__(self) -> str:
        return (f"SignedAnswer({self.qname} {dns.rdatatype.to_text(self.qtype)}: "
                f"{self.outcome}{' ' + self.detail if self.detail else ''})")
