"""mx.* checks on hand-made evidence: exact (check, subject, status) per scenario."""
from __future__ import annotations

import pytest

from scanner.evidence import (AddressEvidence, DnsOutcome, DnsResult, DomainEvidence, MxEvidence,
                              MxHostEvidence, MxRecord, PtrEvidence)
from scanner.findings import Status
from scanner.registry import run_check
from scanner.checks import all_checks

P, W, F, I, E, S = (Status.PASS, Status.WARN, Status.FAIL, Status.INFO, Status.ERROR,
                    Status.SKIPPED)
OK, NODATA, NX, SERVFAIL, TIMEOUT = (DnsOutcome.OK, DnsOutcome.NODATA, DnsOutcome.NXDOMAIN,
                                     DnsOutcome.SERVFAIL, DnsOutcome.TIMEOUT)
D = "example.test"
MX1, MX2 = "mx1.example.test", "mx2.example.test"
V4, V4B, V6 = "192.0.2.10", "192.0.2.11", "2001:db8::10"
PRIV = "10.1.2.3"


def res(name, rdtype, outcome=OK, *records, canonical=""):
    return DnsResult(name, rdtype, outcome, tuple(records), canonical or name)


def ptr_ok(ip, name, family=4):
    fwd = res(name, "A" if family == 4 else "AAAA", OK, ip)
    return PtrEvidence(res(f"{ip}.in-addr.arpa", "PTR", OK, name), (fwd,), name)


def addr(ip, *, public=True, probed=True, ptr=None, family=None):
    fam = family or (6 if ":" in ip else 4)
    return AddressEvidence(ip, fam, public, probed, ptr if ptr is not None else ptr_ok(ip, MX1, fam))


def host(name=MX1, pref=10, v4=(V4,), v6=(), *, a=None, aaaa=None, addresses=None,
         implicit=False, ip_literal=False, canonical="", capped=0):
    if ip_literal:
        return MxHostEvidence(name, pref, ip_literal=True)
    a = a or res(name, "A", OK if v4 else NODATA, *v4, canonical=canonical)
    aaaa = aaaa or res(name, "AAAA", OK if v6 else NODATA, *v6, canonical=canonical)
    if addresses is None:
        addresses = tuple(addr(ip) for ip in (*v4, *v6))
    return MxHostEvidence(name, pref, implicit, False, a, aaaa, tuple(addresses), capped)


def mx_ev(*hosts, records=None, lookup=None, domain_a=None, domain_aaaa=None, capped=0,
          allow_private=False):
    if records is None:
        records = tuple(MxRecord(h.preference, h.name) for h in hosts)
    if lookup is None:
        lookup = res(D, "MX", OK if records else NODATA,
                     *(f"{r.preference} {r.exchange or '.'}" for r in records))
    mx = MxEvidence(lookup, records, tuple(hosts), capped, domain_a, domain_aaaa)
    return DomainEvidence(0, D, D, allow_private=allow_private, mx=mx)


def got(check_id, ev):
    return [(f.check, f.subject, f.status) for f in run_check(all_checks()[check_id], ev)]


NULL = mx_ev(records=(MxRecord(0, ""),))
NULL_MIXED = mx_ev(host(), records=(MxRecord(0, ""), MxRecord(10, MX1)))
IMPLICIT = mx_ev(host(D, 0, implicit=True), records=(),
                 domain_a=res(D, "A", OK, V4), domain_aaaa=res(D, "AAAA", NODATA))
NO_MAIL = mx_ev(records=(), domain_a=res(D, "A", NODATA), domain_aaaa=res(D, "AAAA", NODATA))
NO_MX_A_FAILS = mx_ev(records=(), domain_a=res(D, "A", SERVFAIL),
                      domain_aaaa=res(D, "AAAA", NODATA))


# ---- mx.present -------------------------------------------------------------------------
@pytest.mark.parametrize("ev, status", [
    (mx_ev(host()), P),
    (mx_ev(host(), host(MX2, 20)), P),
    (NULL, P),
    (NULL_MIXED, P),         # MX records exist; mx.null judges the mix
    (IMPLICIT, W),
    (NO_MAIL, F),
    (NO_MX_A_FAILS, E),
])
def test_mx_present(ev, status):
    assert got("mx.present", ev) == [("mx.present", D, status)]


def test_mx_present_says_when_hosts_were_capped():
    ev = mx_ev(host(), capped=290)
    (f,) = run_check(all_checks()["mx.present"], ev)
    assert f.message == "1 MX record(s): 10 mx1.example.test; examined the first 1 hosts"


# ---- mx.null ----------------------------------------------------------------------------
@pytest.mark.parametrize("ev, status", [
    (NULL, I),
    (NULL_MIXED, F),
    (mx_ev(records=(MxRecord(10, ""),)), F),   # "." with preference 10 is not a null MX
    (mx_ev(records=(MxRecord(0, ""), MxRecord(0, ""))), F),
    (mx_ev(host()), S),
    (IMPLICIT, S),
])
def test_mx_null(ev, status):
    assert got("mx.null", ev) == [("mx.null", D, status)]


# ---- mx.resolvable ----------------------------------------------------------------------
@pytest.mark.parametrize("hosts, expected", [
    ([host()], [(MX1, P)]),
    ([host(v4=(), v6=(V6,))], [(MX1, P)]),
    ([host(v4=())], [(MX1, F)]),
    ([host(v4=(), a=res(MX1, "A", NX), aaaa=res(MX1, "AAAA", NX), addresses=())], [(MX1, F)]),
    ([host(v4=(), a=res(MX1, "A", SERVFAIL), addresses=())], [(MX1, E)]),
    ([host(v4=(), a=res(MX1, "A", TIMEOUT), aaaa=res(MX1, "AAAA", TIMEOUT), addresses=())],
     [(MX1, E)]),
    # an address from one family is enough even if the other family's lookup failed
    ([host(a=res(MX1, "A", OK, V4), aaaa=res(MX1, "AAAA", SERVFAIL))], [(MX1, P)]),
    ([host("192.0.2.1", ip_literal=True)], [("192.0.2.1", F)]),
    ([host(), host(MX2, 20, v4=())], [(MX1, P), (MX2, F)]),
])
def test_mx_resolvable(hosts, expected):
    assert got("mx.resolvable", mx_ev(*hosts)) == [("mx.resolvable", s, st) for s, st in expected]


@pytest.mark.parametrize("check_id", ["mx.resolvable", "mx.cname", "mx.public_address",
                                      "mx.ptr", "mx.ipv6"])
def test_per_host_checks_on_null_mx_and_no_hosts_are_skipped(check_id):
    assert got(check_id, NULL) == [(check_id, D, Status.SKIPPED)]
    assert got(check_id, NO_MAIL) == [(check_id, D, Status.SKIPPED)]


# ---- mx.cname ---------------------------------------------------------------------------
@pytest.mark.parametrize("hosts, expected", [
    ([host()], [(MX1, P)]),
    ([host(canonical="real.example.net")], [(MX1, W)]),
    ([host(), host(MX2, 20, canonical="real.example.net")], [(MX1, P), (MX2, W)]),
    ([host("192.0.2.1", ip_literal=True)], []),
    ([host(D, 0, implicit=True)], []),       # implicit MX: the domain itself, not an exchange
    # no answer at all (e.g. a CNAME loop, SERVFAIL): alias or not cannot be told
    ([host(v4=(), a=res(MX1, "A", DnsOutcome.ERROR), aaaa=res(MX1, "AAAA", DnsOutcome.ERROR),
           addresses=())], [(MX1, E)]),
    ([host(v4=(), a=res(MX1, "A", SERVFAIL), aaaa=res(MX1, "AAAA", TIMEOUT), addresses=())],
     [(MX1, E)]),
    # one family answered without an alias: known not to be a CNAME
    ([host(a=res(MX1, "A", OK, V4), aaaa=res(MX1, "AAAA", SERVFAIL))], [(MX1, P)]),
    ([host(v4=(), a=res(MX1, "A", NX), aaaa=res(MX1, "AAAA", NX), addresses=())], [(MX1, P)]),
])
def test_mx_cname(hosts, expected):
    records = () if hosts and hosts[0].implicit else None
    ev = mx_ev(*hosts, records=records)
    assert got("mx.cname", ev) == [("mx.cname", s, st) for s, st in expected]


def test_mx_cname_names_the_target():
    (f,) = run_check(all_checks()["mx.cname"], mx_ev(host(canonical="real.example.net")))
    assert f.message == "the MX exchange is an alias (CNAME) for real.example.net"


# ---- mx.public_address ------------------------------------------------------------------
@pytest.mark.parametrize("addresses, allow_private, expected", [
    ([addr(V4)], False, [(V4, P)]),
    ([addr(V4)], True, [(V4, P)]),
    ([addr(PRIV, public=False, probed=False)], False, [(PRIV, F)]),
    ([addr(PRIV, public=False, probed=True)], True, [(PRIV, I)]),
    ([addr("127.0.0.1", public=False, probed=False), addr(V4)], False,
     [("127.0.0.1", F), (V4, P)]),
    ([], False, []),
])
def test_mx_public_address(addresses, allow_private, expected):
    ev = mx_ev(host(addresses=addresses), allow_private=allow_private)
    assert got("mx.public_address", ev) == [
        ("mx.public_address", f"{MX1} [{ip}]", st) for ip, st in expected]


# ---- mx.ipv6 ----------------------------------------------------------------------------
@pytest.mark.parametrize("ev, expected", [
    (mx_ev(host(v6=(V6,))), [P]),
    (mx_ev(host(), host(MX2, 20, v4=(), v6=(V6,))), [P]),
    (mx_ev(host()), [W]),
    (mx_ev(host(aaaa=res(MX1, "AAAA", SERVFAIL))), [E]),
    (mx_ev(host(v6=(V6,)), host(MX2, 20, aaaa=res(MX2, "AAAA", TIMEOUT))), [P]),
    (IMPLICIT, [W]),
    (NULL, [S]),
    (NO_MAIL, [S]),
])
def test_mx_ipv6(ev, expected):
    assert got("mx.ipv6", ev) == [("mx.ipv6", D, st) for st in expected]


# ---- mx.ptr -----------------------------------------------------------------------------
def ptr(outcome=OK, names=(), confirmed=""):
    return PtrEvidence(res("10.2.0.192.in-addr.arpa", "PTR", outcome, *names), (), confirmed)


@pytest.mark.parametrize("ptr_ev, status", [
    (ptr(OK, (MX1,), MX1), P),
    (ptr(OK, ("other.example.net",), ""), W),     # PTR exists, does not forward-confirm
    (ptr(NX), W),
    (ptr(NODATA), W),
    (ptr(SERVFAIL), E),
    (ptr(TIMEOUT), E),
])
def test_mx_ptr(ptr_ev, status):
    ev = mx_ev(host(addresses=[addr(V4, ptr=ptr_ev)]))
    assert got("mx.ptr", ev) == [("mx.ptr", f"{MX1} [{V4}]", status)]


def test_mx_ptr_per_address():
    ev = mx_ev(host(v4=(V4, V4B), addresses=[addr(V4), addr(V4B, ptr=ptr(NX))]))
    assert got("mx.ptr", ev) == [("mx.ptr", f"{MX1} [{V4}]", P), ("mx.ptr", f"{MX1} [{V4B}]", W)]


# ---- remediation is attached to fail/warn only -----------------------------------------
def test_remediation_only_on_fail_and_warn():
    ev = mx_ev(host(), host(MX2, 20, v4=()))
    fs = run_check(all_checks()["mx.resolvable"], ev)
    assert [(f.status, bool(f.remediation)) for f in fs] == [(P, False), (F, True)]
