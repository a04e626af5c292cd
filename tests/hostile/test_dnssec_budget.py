"""The DNSSEC validator within a domain's budget (issues 13 and 14): its questions take the
domain's DNS slots, end with the domain's deadline, and a domain that spent its evidence
budget cannot poison the scan-wide validation caches other domains read."""
from __future__ import annotations

import asyncio

import dns.name
import dns.rdatatype

from scanner.collect.reuse import Reused
from scanner.collect.budget import DomainBudget, DomainDns
from scanner.collect.dnssec import collect_dnssec
from scanner.dns.dnssec.anchors import TrustAnchors, parse_anchors
from scanner.dns.dnssec.response import SignedAnswer
from scanner.dns.dnssec.validator import Validator
from scanner.evidence import DnsOutcome, DnsResult, MxEvidence, MxRecord
from scanner.evidence.mx import MxHostEvidence
from scanner.evidence.dnssec import Security
from tests.conftest import run_without_loop_errors

ROOT_DS = ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n"


class SlowResolver:
    """A resolver that answers every question after ``delay`` seconds (DNSSEC questions
    with a timeout, plain ones with an address), and records how many it had at once."""

    def __init__(self, delay: float) -> None:
        self.delay, self.now, self.most, self.asked, self.unfinished = delay, 0, 0, [], 0

    async def _slow(self, what):
        self.asked.append(what)
        self.now += 1
        self.unfinished += 1
        self.most = max(self.most, self.now)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.now -= 1
        self.unfinished -= 1

    async def query_signed(self, name, rdtype):
        await self._slow(("signed", name, rdtype))
        return SignedAnswer(dns.name.from_text(name), dns.rdatatype.from_text(rdtype),
                            DnsOutcome.TIMEOUT, detail="no answer before the timeout")

    def cached_signed(self, name, rdtype):
        return None

    async def query(self, name, rdtype):
        await self._slow(("plain", name, rdtype))
        return DnsResult(name, rdtype, DnsOutcome.OK, ("192.0.2.1",))

    def cached(self, name, rdtype):
        return None


def _validator(resolver) -> Validator:
    return Validator(resolver, TrustAnchors(parse_anchors(ROOT_DS, "test")))


class Ctx:
    def __init__(self, validator, resolver, budget, reused=None) -> None:
        self.validator, self.budget = validator, budget
        self.dns = DomainDns(resolver, budget)
        self.reused = reused if reused is not None else Reused()


def _mx(domain: str, hosts: int) -> MxEvidence:
    records = tuple(MxRecord(10, f"mx{i}.{domain}") for i in range(hosts))
    return MxEvidence(DnsResult(domain, "MX", DnsOutcome.OK,
                                tuple(f"10 {r.exchange}" for r in records)), records,
                      tuple(MxHostEvidence(r.exchange, 10) for r in records))


def test_validation_questions_take_the_domains_dns_slots():
    """Twenty MX hosts: their A, AAAA and TLSA validations go through the domain's view, at
    most its ``dns_in_flight`` questions at once (here 3) of either kind."""
    resolver = SlowResolver(0.02)

    async def scan():
        validator = _validator(resolver)
        first = await collect_dnssec(Ctx(validator, resolver, DomainBudget(dns_in_flight=3)),
                                     "many.test", _mx("many.test", 20))
        # the root's keys are known indeterminate now: answers come from plain questions
        later = await collect_dnssec(Ctx(validator, resolver, DomainBudget(dns_in_flight=3)),
                                     "more.test", _mx("more.test", 20))
        return first, later
    first, later = run_without_loop_errors(scan)
    assert len(first.hosts) == len(later.hosts) == 20
    assert first.domain.state is later.domain.state is Security.INDETERMINATE
    assert resolver.most == 3
    assert {kind for kind, *_ in resolver.asked} == {"signed", "plain"}


def test_a_host_another_domain_finished_is_taken_whole():
    """Two domains on the same provider's hosts: the second takes each host's DNSSEC state
    as the first left it (the same objects; collect/reuse.py), asking nothing about them."""
    resolver = SlowResolver(0)
    hosts = tuple(MxHostEvidence(f"mx{i}.provider.test", 10) for i in range(3))

    def mx(domain: str) -> MxEvidence:
        return MxEvidence(DnsResult(domain, "MX", DnsOutcome.OK,
                                    tuple(f"10 {h.name}" for h in hosts)), (), hosts)

    async def scan():
        validator, reused = _validator(resolver), Reused()
        first = await collect_dnssec(Ctx(validator, resolver, DomainBudget(), reused),
                                     "one.test", mx("one.test"))
        asked = len(resolver.asked)
        second = await collect_dnssec(Ctx(validator, resolver, DomainBudget(), reused),
                                      "two.test", mx("two.test"))
        return first, second, resolver.asked[asked:], reused.hits
    first, second, asked_later, hits = run_without_loop_errors(scan)
    assert len(second.hosts) == 3 and all(a is b for a, b in zip(first.hosts, second.hosts))
    assert hits == 3
    assert not [q for q in asked_later if "provider" in q[1]]


def test_the_domain_deadline_ends_its_validation_work():
    """A resolver too slow for the domain's deadline: the validation is cancelled with the
    domain (the shared work nobody else waits for included), nothing is left running."""
    resolver = SlowResolver(30)

    async def scan():
        ctx = Ctx(_validator(resolver), resolver, DomainBudget())
        try:
            async with asyncio.timeout(0.2):
                await collect_dnssec(ctx, "slow.test", _mx("slow.test", 3))
        except TimeoutError:
            pass
        await asyncio.sleep(0.05)
        return resolver.now
    assert run_without_loop_errors(scan) == 0
    assert resolver.asked


def test_a_spent_budget_asks_nothing_and_poisons_no_other_domain():
    resolver = SlowResolver(0)

    async def scan():
        validator = _validator(resolver)
        spent = DomainBudget(evidence_bytes=0)
        spent.bytes_left = 0
        hostile = await collect_dnssec(Ctx(validator, resolver, spent), "hostile.test",
                                       _mx("hostile.test", 1))
        asked = len(resolver.asked)
        innocent = await collect_dnssec(Ctx(validator, resolver, DomainBudget()), "innocent.test",
                                        _mx("hostile.test", 1))   # the same MX host
        return hostile, asked, innocent
    hostile, asked, innocent = run_without_loop_errors(scan)
    assert asked == 0 and hostile.hosts == ()
    assert "evidence budget" in hostile.domain.detail
    (host,) = innocent.hosts
    assert "budget" not in host.a.detail and "budget" not in innocent.domain.detail
    assert host.a.detail == "A mx0.hostile.test: no answer before the timeout"


def test_a_resolver_that_strips_dnssec_is_said_once_in_env_resolver(tmp_path):
    """A real scan context through a loopback resolver that strips RRSIGs: every domain's
    DNSSEC is indeterminate pointing at the scan's env.resolver note, which says why."""
    from scanner.collect.context import ScanContext
    from scanner.collect.domain import collect_domain
    from scanner.inputs import Target
    from scanner.lab.dns_server import LabDnsServer
    from scanner.lab.signing import sign_world
    from scanner.options import ScanOptions
    from tests.dns.dnssec.signed_lab import NOW, basic_zones, signed

    async def scan():
        server = LabDnsServer("127.0.0.1", 0)
        await server.start()
        try:
            for origin, text in basic_zones("sec", "other").items():
                server.add_zone(origin, text)
            world = sign_world(server, signed("sec", "other"), now=NOW)
            server.dnssec_mode = "strip"
            anchor = tmp_path / "anchor.ds"
            anchor.write_text(world.anchor)
            options = ScanOptions(nameservers=(("127.0.0.1", server.port),), timeout=2,
                                  dns_retries=0, ports=(), trust_anchors=(str(anchor),),
                                  ip_version="4")
            ctx = ScanContext.create(options)
            ctx.env.start(ctx)
            evs = [await collect_domain(ctx, Target(d, d), i)
                   for i, d in enumerate(("sec.test", "other.test"))]
            await ctx.env.settle()
            return evs, ctx.env.summary()
        finally:
            await server.stop()
    evs, env = run_without_loop_errors(scan, timeout=60)
    for ev in evs:
        assert ev.dnssec.domain.state is Security.INDETERMINATE
        assert "env.resolver" in ev.dnssec.domain.detail
    note = env.note("env.resolver")
    assert note.status == "warn"
    assert note.message == ("the resolver strips DNSSEC records (no RRSIG came with the "
                            "DNSKEY RRset); DNSSEC cannot be validated through it (DNSSEC "
                            "checks are indeterminate: error, not scored)")
