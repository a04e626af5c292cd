"""Checks: mx.* (CHECKS.md, MX table). Pure: they read MxEvidence only."""
from __future__ import annotations

from collections.abc import Iterator

from scanner.addresses import non_public_reason
from scanner.evidence import DnsResult, DomainEvidence, MxHostEvidence
from scanner.findings import Status, subject_ip
from scanner.registry import Outcome, check

_NULL_MX = "null MX (RFC 7505): the domain declares it accepts no mail"


def _no_hosts(ev: DomainEvidence) -> Outcome | None:
    """Per-host checks on a domain without MX hosts: one `skipped`, so no column is blank."""
    if ev.mx.null_mx:
        return Outcome(Status.SKIPPED, "null MX: no MX hosts")
    if not ev.mx.hosts:
        return Outcome(Status.SKIPPED, "no MX hosts to examine (see mx.present)")
    return None


def _list(items, limit: int = 5) -> str:
    items = list(items)
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


@check("mx.present", title="MX records published", category="mx",
       reference="RFC 5321 5.1, RFC 7505",
       remediation="Publish MX records naming the hosts that receive mail for the domain, "
                   "or a null MX (\"0 .\") if it receives none.")
def mx_present(ev: DomainEvidence) -> Iterator[Outcome]:
    mx = ev.mx
    if mx.null_mx:
        yield Outcome(Status.PASS, _NULL_MX)
    elif mx.records:
        names = [f"{r.preference} {r.exchange or '.'}" for r in mx.records]
        capped = f"; examined the first {len(mx.hosts)} hosts" if mx.hosts_capped else ""
        yield Outcome(Status.PASS, f"{len(mx.records)} MX record(s): {_list(names)}{capped}")
    elif mx.hosts:
        yield Outcome(Status.WARN, "no MX records; mail goes to the domain's own address "
                      "(implicit MX, RFC 5321 5.1)")
    elif _lookup_failed(mx.domain_a) or _lookup_failed(mx.domain_aaaa):
        failed = mx.domain_a if _lookup_failed(mx.domain_a) else mx.domain_aaaa
        yield Outcome(Status.ERROR, f"no MX records, and the address lookup failed: {failed.describe()}")
    else:
        yield Outcome(Status.FAIL, "no MX records and no A/AAAA address: the domain cannot receive mail")


@check("mx.null", title="Null MX well formed", category="mx", reference="RFC 7505",
       remediation="A null MX must be the only MX record: remove the other MX records, or the null MX.")
def mx_null(ev: DomainEvidence) -> Iterator[Outcome]:
    mx = ev.mx
    if mx.null_mx:
        yield Outcome(Status.INFO, _NULL_MX + "; SMTP checks are skipped")
    elif mx.has_null_entry:
        yield Outcome(Status.FAIL, f"null MX \".\" mixed with {len(mx.records) - 1} other MX record(s)")
    else:
        yield Outcome(Status.SKIPPED, "no null MX")


@check("mx.resolvable", title="MX hosts resolve to addresses", category="mx",
       reference="RFC 5321 5.1",
       remediation="Give every MX exchange a host name with A and/or AAAA records "
                   "(never an IP address literal).")
def mx_resolvable(ev: DomainEvidence) -> Iterator[Outcome]:
    if (none := _no_hosts(ev)) is not None:
        yield none
        return
    for host in ev.mx.hosts:
        if host.ip_literal:
            yield Outcome(Status.FAIL, "the MX exchange is an IP address literal, not a host name",
                          subject=host.name)
            continue
        ips = [a.ip for a in host.addresses]
        failed = [r for r in (host.a, host.aaaa) if _lookup_failed(r)]
        if ips:
            capped = f" (+{host.addresses_capped} not examined)" if host.addresses_capped else ""
            yield Outcome(Status.PASS, f"resolves to {_list(ips)}{capped}", subject=host.name)
        elif failed:
            yield Outcome(Status.ERROR, f"could not resolve: {failed[0].describe()}", subject=host.name)
        else:
            yield Outcome(Status.FAIL, "the MX host has no A or AAAA record", subject=host.name)


@check("mx.cname", title="MX hosts are not CNAMEs", category="mx", reference="RFC 2181 10.3",
       remediation="Point the MX record at the canonical host name, not at an alias (CNAME).")
def mx_cname(ev: DomainEvidence) -> Iterator[Outcome]:
    if (none := _no_hosts(ev)) is not None:
        yield none
        return
    for host in ev.mx.hosts:
        if host.ip_literal or host.implicit:
            continue
        target = host.cname_target
        if target:
            yield Outcome(Status.WARN, f"the MX exchange is an alias (CNAME) for {target}",
                          subject=host.name)
        elif _lookup_failed(host.a) and _lookup_failed(host.aaaa):
            # no answer at all (SERVFAIL, timeout, CNAME loop): alias or not is unknown
            failed = host.a or host.aaaa
            yield Outcome(Status.ERROR, f"could not be determined: {failed.describe()}",
                          subject=host.name)
        else:
            yield Outcome(Status.PASS, "not an alias", subject=host.name)


@check("mx.public_address", title="MX addresses are public", category="mx", reference="RFC 6890",
       remediation="Publish only globally routable addresses for MX hosts; internal addresses "
                   "leak topology and cannot receive Internet mail.")
def mx_public_address(ev: DomainEvidence) -> Iterator[Outcome]:
    if (none := _no_hosts(ev)) is not None:
        yield none
        return
    for host in ev.mx.hosts:
        for addr in host.addresses:
            subject = subject_ip(host.name, addr.ip)
            if addr.public:
                yield Outcome(Status.PASS, "globally routable address", subject=subject)
            elif addr.probed:
                yield Outcome(Status.INFO, "non-public address, probed because private "
                              "addresses are allowed (--allow-private)", subject=subject)
            else:
                why = non_public_reason(addr.ip) or "not globally reachable"
                yield Outcome(Status.FAIL, f"non-public address ({why}); not probed",
                              subject=subject)


@check("mx.ipv6", title="MX reachable over IPv6", category="mx", reference="internet.nl mail-ipv6",
       remediation="Give at least one MX host an AAAA record and accept mail over IPv6.")
def mx_ipv6(ev: DomainEvidence) -> Iterator[Outcome]:
    mx = ev.mx
    if (none := _no_hosts(ev)) is not None:
        yield none
        return
    with_v6 = [h.name for h in mx.hosts if h.aaaa is not None and h.aaaa.ok]
    if with_v6:
        yield Outcome(Status.PASS, f"MX host(s) with IPv6: {_list(with_v6)}")
    elif any(_lookup_failed(h.aaaa) for h in mx.hosts):
        yield Outcome(Status.ERROR, "the AAAA lookup of an MX host failed")
    elif mx.hosts:
        yield Outcome(Status.WARN, "no MX host has an IPv6 (AAAA) address")


@check("mx.ptr", title="MX addresses have forward-confirmed reverse DNS", category="mx",
       reference="M3AAWG, bulk-sender rules",
       remediation="Publish a PTR record for each MX address naming a host whose A/AAAA "
                   "record points back to that address (FCrDNS).")
def mx_ptr(ev: DomainEvidence) -> Iterator[Outcome]:
    if (none := _no_hosts(ev)) is not None:
        yield none
        return
    for host in ev.mx.hosts:
        for addr in host.addresses:
            if addr.ptr is not None:
                yield _ptr_outcome(host, addr.ip, addr.ptr)


def _ptr_outcome(host: MxHostEvidence, ip: str, ptr) -> Outcome:
    subject = subject_ip(host.name, ip)
    lookup = ptr.lookup
    if ptr.confirmed_name:
        return Outcome(Status.PASS, f"PTR {ptr.confirmed_name} resolves back to {ip}", subject=subject)
    if lookup.ok:
        return Outcome(Status.WARN, f"PTR {_list(lookup.records, 3)} does not resolve back to {ip}",
                       subject=subject)
    if lookup.outcome.answered:
        return Outcome(Status.WARN, "no PTR record", subject=subject)
    return Outcome(Status.ERROR, f"PTR lookup failed: {lookup.describe()}", subject=subject)


def _lookup_failed(res: DnsResult | None) -> bool:
    return res is not None and not res.outcome.answered
