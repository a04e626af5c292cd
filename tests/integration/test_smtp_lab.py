"""The SMTP probe against the loopback lab: exact (check, role) -> status per server kind."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from scanner.collect.smtp import PROBE_DEADLINE_STEPS, collect_smtp
from scanner.collect.context import ScanContext
from scanner.evidence import (AddressEvidence, DnsOutcome, DnsResult, DomainEvidence,
                              MxEvidence, MxHostEvidence, MxRecord, PortSpec)
from scanner.evidence.smtp import Failure
from scanner.findings import Status
from scanner.lab.smtp_servers import start_smtp_host
from scanner.lab.world import LabWorld
from scanner.options import ScanOptions
from scanner.registry import _REGISTRY, run_check

import scanner.checks.smtp  # noqa: F401

pytestmark = pytest.mark.lab

P, W, F, I, E, S = (Status.PASS, Status.WARN, Status.FAIL, Status.INFO, Status.ERROR,
                    Status.SKIPPED)
IDS = [k for k in _REGISTRY if k.startswith("smtp.")]
ROLES = ("smtp", "submissions", "submission")
TIMEOUT = 0.5


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with LabWorld(tmp_path_factory.mktemp("smtp-lab")) as w:
        yield w


def options(world, **kw) -> ScanOptions:
    ports = tuple(PortSpec(world.ports[r], r) for r in ROLES)
    return ScanOptions(allow_private=True, ca_file=world.ca.cert_path, timeout=TIMEOUT,
                       ports=ports, **kw)


def mx_of(*hosts: tuple[str, str]) -> MxEvidence:
    return MxEvidence(
        lookup=DnsResult("example.test", "MX", DnsOutcome.OK),
        records=tuple(MxRecord(10, name) for name, _ in hosts),
        hosts=tuple(MxHostEvidence(name, 10, addresses=(AddressEvidence(ip, 4, False, True),))
                    for name, ip in hosts))


async def _collect(world, mx: MxEvidence, ctx: ScanContext | None = None):
    ctx = ctx or ScanContext.create(options(world))
    limit = TIMEOUT * PROBE_DEADLINE_STEPS * 3 + 5   # a guard against hangs, not a timing claim
    return await asyncio.wait_for(collect_smtp(ctx, mx), limit), ctx


def scan(world, behaviour: str, cert=None, name="mx.example.test"):
    ip = world.allocate_ip()
    host = start_smtp_host(world, ip, name, behaviour=behaviour, cert=cert)
    probes, _ = asyncio.run(_collect(world, mx_of((name, ip))))
    ev = DomainEvidence(position=0, input="example.test", domain="example.test",
                        scanned_at=datetime.now(timezone.utc).isoformat(), allow_private=True,
                        mx=mx_of((name, ip)), smtp=probes)
    port_role = {world.ports[r]: r for r in ROLES}
    table: dict[str, dict[str, Status]] = {r: {} for r in ROLES}
    for cid in IDS:
        for f in run_check(_REGISTRY[cid], ev):
            port = int(f.subject.rsplit(":", 1)[1])
            assert cid not in table[port_role[port]], f"two findings for {cid}"
            table[port_role[port]][cid] = f.status
    return table, probes, host


GOOD = {
    "smtp": {"smtp.reachable": P, "smtp.starttls": P, "smtp.implicit_tls": S,
             "smtp.tls_version": P, "smtp.legacy_tls": P, "smtp.weak_cipher": P,
             "smtp.cert_trusted": P, "smtp.cert_hostname": P, "smtp.cert_expiry": P,
             "smtp.cert_key": P, "smtp.auth_before_tls": P, "smtp.auth_mechanisms": I,
             "smtp.submission_tls_required": S},
}
GOOD["submission"] = dict(GOOD["smtp"], **{"smtp.submission_tls_required": P})
GOOD["submissions"] = dict(GOOD["smtp"], **{"smtp.starttls": S, "smtp.implicit_tls": P,
                                            "smtp.auth_before_tls": S})
TLS_DEPENDENT = ("smtp.tls_version", "smtp.legacy_tls", "smtp.weak_cipher", "smtp.cert_trusted",
                 "smtp.cert_hostname", "smtp.cert_expiry", "smtp.cert_key")


def expect(**per_role: dict[str, Status]) -> dict[str, dict[str, Status]]:
    """GOOD with overrides: expect(smtp={...}, all={...})."""
    everywhere = per_role.pop("all", {})
    return {r: dict(GOOD[r], **everywhere, **per_role.get(r, {})) for r in ROLES}


def differences(got, want) -> dict:
    return {(r, c): (str(got[r].get(c)), str(want[r].get(c))) for r in want
            for c in set(got[r]) | set(want[r]) if got[r].get(c) != want[r].get(c)}


def all_of(status: Status, *ids: str) -> dict[str, Status]:
    return {i: status for i in ids}


UNREACHED = all_of(S, *IDS)


def test_good_server(world):
    table, probes, host = scan(world, "good")
    assert not differences(table, GOOD)
    for p in probes:
        assert p.tls.version == "TLSv1.3" and p.tls.trusted is True
        assert p.auth_after_tls == ("LOGIN", "PLAIN") and p.auth_before_tls == ()
        assert (p.connections, p.tls_sessions) == (3, 3)
        assert "C: QUIT" in p.transcript and not any("AUTH" in line and line.startswith("C:")
                                                     for line in p.transcript)
    sub = next(p for p in probes if p.role == "submission")
    assert sub.mail_from_code == 530
    assert all(host.connections_on(r) == 3 for r in ROLES)


@pytest.mark.parametrize("kind, overrides", [
    ("expired", all_of(F, "smtp.cert_expiry")),
    ("self_signed", all_of(F, "smtp.cert_trusted")),
    ("wrong_name", all_of(F, "smtp.cert_hostname")),
    ("rsa1024", {"smtp.cert_key": F}),   # trust is judged apart from key size
])
def test_certificate_variants(world, kind, overrides):
    name = "mx.example.test"
    now = datetime.now(timezone.utc)
    cert = {
        "expired": lambda: world.ca.issue([name], not_before=now - timedelta(days=100),
                                          not_after=now - timedelta(days=1)),
        "self_signed": lambda: world.ca.issue([name], self_signed=True),
        "wrong_name": lambda: world.ca.issue(["other.example.test"]),
        "rsa1024": lambda: world.ca.issue([name], key="rsa1024"),
    }[kind]()
    table, probes, _ = scan(world, "good", cert=cert, name=name)
    assert not differences(table, expect(all=overrides))


def test_no_starttls(world):
    table, _, _ = scan(world, "no_starttls")
    starttls_less = dict(all_of(S, *TLS_DEPENDENT), **{"smtp.starttls": F})
    assert not differences(table, expect(
        smtp=starttls_less,
        submission=dict(starttls_less, **{"smtp.submission_tls_required": F})))


def test_auth_before_tls(world):
    table, probes, _ = scan(world, "auth_before_tls")
    assert not differences(table, expect(smtp={"smtp.auth_before_tls": F},
                                         submission={"smtp.auth_before_tls": F}))
    assert next(p for p in probes if p.role == "smtp").auth_before_tls == ("LOGIN", "PLAIN")


def test_mail_in_clear_on_submission(world):
    table, probes, _ = scan(world, "mail_in_clear")
    assert not differences(table, expect(submission={"smtp.submission_tls_required": F}))
    sub = next(p for p in probes if p.role == "submission")
    assert sub.mail_from_code == 250 and "C: RSET" in sub.transcript
    assert not any(line.startswith(("C: RCPT", "C: DATA", "C: AUTH")) for line in sub.transcript)


def test_tls10_only(world):
    table, probes, _ = scan(world, "tls10_only")
    legacy = {"smtp.tls_version": F, "smtp.legacy_tls": W}
    # on 465 the greeting comes over the TLS 1.0 session: reachable, with the version flagged
    assert not differences(table, expect(all=legacy, submissions={"smtp.reachable": P}))
    for p in probes:
        assert p.legacy.version == "TLSv1" and p.legacy.chain and p.legacy.trusted is True
    assert [p.legacy.greeting_code for p in probes if p.role == "submissions"] == [220]


def test_weak_cipher(world):
    table, probes, _ = scan(world, "weak_cipher")
    assert not differences(table, expect(all={"smtp.weak_cipher": F}))
    assert all("NULL" in p.weak_cipher.cipher for p in probes)


def test_tarpit_costs_one_step_per_port(world):
    table, probes, host = scan(world, "tarpit")
    assert not differences(table, {
        "smtp": dict(UNREACHED, **{"smtp.reachable": E}),
        "submission": dict(UNREACHED, **{"smtp.reachable": E}),
        "submissions": dict(UNREACHED, **{"smtp.reachable": E, "smtp.implicit_tls": E})})
    assert all(p.failure is Failure.TIMEOUT and p.connections == 1 for p in probes)
    assert all(host.connections_on(r) == 1 for r in ROLES)


CLOSED_465 = dict(UNREACHED, **{"smtp.reachable": E, "smtp.implicit_tls": F})


@pytest.mark.parametrize("behaviour, smtp_row, submission_extra, row_465", [
    ("greet_554", dict(UNREACHED, **{"smtp.reachable": F}), {}, CLOSED_465),
    ("reset", dict(UNREACHED, **{"smtp.reachable": E}), {}, CLOSED_465),
    ("starttls_454", dict(GOOD["smtp"], **all_of(S, *TLS_DEPENDENT), **{"smtp.starttls": F}),
     {"smtp.submission_tls_required": P}, CLOSED_465),
    ("endless_line", dict(UNREACHED, **{"smtp.reachable": E}), {}, CLOSED_465),
    ("huge_reply", dict(all_of(E, *IDS), **{"smtp.reachable": P, "smtp.implicit_tls": S,
                                              "smtp.auth_mechanisms": I,
                                              "smtp.submission_tls_required": S}),
     {"smtp.submission_tls_required": E}, CLOSED_465),
    ("close_mid_handshake",
     dict(GOOD["smtp"], **all_of(S, *TLS_DEPENDENT), **{"smtp.starttls": F}),
     {"smtp.submission_tls_required": P}, CLOSED_465),
])
def test_hostile_servers(world, behaviour, smtp_row, submission_extra, row_465):
    table, probes, _ = scan(world, behaviour)
    assert not differences(table, {"smtp": smtp_row, "submissions": row_465,
                                   "submission": dict(smtp_row, **submission_extra)})
    for p in probes:
        assert len(p.transcript) <= 41 and all(len(line) <= 160 for line in p.transcript)


def test_oversized_replies_are_dropped_not_kept(world):
    _, probes, _ = scan(world, "huge_reply")
    smtp = next(p for p in probes if p.role == "smtp")
    assert smtp.failure is Failure.PROTOCOL and "larger than" in smtp.error
    assert len(repr(smtp)) < 5000


def test_each_endpoint_probed_once_for_200_domains(world):
    ip = world.allocate_ip()
    host = start_smtp_host(world, ip, "shared.example.test", behaviour="good")

    async def main():
        ctx = ScanContext.create(options(world, concurrency=50))
        mx = mx_of(("shared.example.test", ip))
        results = await asyncio.wait_for(
            asyncio.gather(*(collect_smtp(ctx, mx) for _ in range(200))), 30)
        return results, ctx

    results, ctx = asyncio.run(main())
    assert len(results) == 200 and all(r == results[0] for r in results)
    assert ctx.probes.runs == 3 and ctx.probes.hits == 597
    assert {r: host.connections_on(r) for r in ROLES} == {r: 3 for r in ROLES}
    assert ctx.limiter.peak[ip] <= ctx.options.per_ip_limit


def test_unprobed_and_private_addresses_are_never_contacted(world):
    ip = world.allocate_ip()
    host = start_smtp_host(world, ip, "private.example.test", behaviour="good")
    mx = MxEvidence(lookup=DnsResult("example.test", "MX", DnsOutcome.OK),
                    records=(MxRecord(10, "private.example.test"),),
                    hosts=(MxHostEvidence("private.example.test", 10, addresses=(
                        AddressEvidence(ip, 4, False, False),)),))

    async def main():
        no_private = ScanContext.create(options(world))
        probes1 = await collect_smtp(no_private, mx)
        strict = ScanContext.create(ScanOptions(allow_private=False, timeout=TIMEOUT,
                                                ports=options(world).ports))
        probes2 = await collect_smtp(strict, mx_of(("private.example.test", ip)))
        return probes1, probes2

    assert asyncio.run(main()) == ((), ())
    assert sum(host.connections.values()) == 0


def test_null_mx_probes_nothing(world):
    mx = MxEvidence(lookup=DnsResult("example.test", "MX", DnsOutcome.OK),
                    records=(MxRecord(0, ""),))
    probes, _ = asyncio.run(_collect(world, mx))
    assert probes == ()
