"""The scan's one DNS layer: dnswire's UDP multiplexer, a per-scan cache, an error taxonomy.

Every lookup of every stage goes through ``DnsClient.query`` (or ``query_many``, the same
for several names at once) so that the configured nameservers are honoured everywhere and
each (name, type) is asked once per scan: concurrent askers of the same question share one
in-flight query. The cache is an LRU bounded in entries, so memory stays flat however long
the domain list is (shared MX hosts and provider includes stay hot; one-off names age out).

dnspython exceptions stop here: callers get a DnsResult whose ``outcome`` says what happened.
"""
from __future__ import annotations

import asyncio
import functools
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import dns.exception
import dns.message
import dns.flags
import dns.name
import dns.nameserver
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.reversename

from scanner.errors import UsageError
from scanner.dns.dnssec.response import SignedAnswer
from scanner.dns.wire import DnsReply, UdpMux, dnssec_query_wire, name_query_wire, plain_name_wire
from scanner.evidence.dns import DnsOutcome, DnsResult
from scanner.memo import SharedOnce


@dataclass
class DnsStats:
    queries: int = 0     # lookups sent to the resolver
    cache_hits: int = 0  # lookups answered from the scan cache (or joined an in-flight one)


def normalise_name(name: str) -> str:
    return name.strip().rstrip(".").lower()


def rdata_text(rdtype: str, rd) -> str:
    """One record as text; TXT is joined and decoded (hostile bytes escaped, never raised)."""
    if rdtype in ("TXT", "SPF"):
        return b"".join(rd.strings).decode("utf-8", "backslashreplace")
    if rdtype == "MX":
        return f"{rd.preference} {rd.exchange.to_text(omit_final_dot=True).lower()}"
    if rdtype in ("CNAME", "PTR", "NS"):
        return rd.target.to_text(omit_final_dot=True).lower()
    return rd.to_text()


def system_nameservers() -> list[tuple[str, int]]:
    """The resolvers of /etc/resolv.conf, read (only read) with dnspython."""
    try:
        resolver = dns.resolver.Resolver(configure=True)
    except dns.resolver.NoResolverConfiguration:
        resolver = None
    found = []
    for ns in resolver.nameservers if resolver else ():
        if isinstance(ns, str):   # from resolv.conf: an address, on the resolver's port
            found.append((ns, resolver.nameserver_ports.get(ns, resolver.port)))
        elif isinstance(ns, dns.nameserver.Do53Nameserver):
            found.append((str(ns.address), ns.port))
    if not found:
        raise UsageError("no system DNS resolver configured; use --nameserver IP[:PORT]")
    return found


_UNASKED = object()     # ``_lookup``: the first query is still to be sent
_Question = tuple[bytes, int, bool]     # the query's wire (ID 0), the type's code, fast


class DnsClient:
    """Queries go out through ``dnswire.UdpMux`` (one UDP socket per nameserver; see there
    why); responses are read by ``dnswire.parse_reply`` (a ``DnsReply``) or, when it is unsure,
    parsed and chained by dnspython (a Message); each question is answered once per scan."""

    def __init__(self, nameservers: Sequence[tuple[str, int]] = (), *, timeout: float = 5.0,
                 retries: int = 2, cache_size: int = 100_000, max_in_flight: int = 256,
                 signed_cache_size: int = 20_000) -> None:
        servers = list(nameservers) or system_nameservers()
        self._servers = [UdpMux(ip, port) for ip, port in servers]
        self._timeout, self._retries = timeout, retries
        self._cache: SharedOnce[DnsResult] = SharedOnce(cache_size, inline=True)
        # DNSSEC answers (whole messages) have their own, smaller LRU: they are bigger, and
        # most are read once (DS/DNSKEY go on into the validator's per-zone key cache)
        self._signed: SharedOnce[SignedAnswer] = SharedOnce(signed_cache_size, inline=True)
        self._limit = Slots(max_in_flight)

    @property
    def nameservers(self) -> list[str]:
        return [f"{s.ip}:{s.port}" for s in self._servers]

    @property
    def lifetime(self) -> float:
        """How long a question nobody answers lives once sent: every server in turn, every
        try, one timeout each (``_ask_servers``; a truncated answer's TCP retry is an
        answer, so it is not counted)."""
        return self._timeout * (self._retries + 1) * max(len(self._servers), 1)

    @property
    def stats(self) -> DnsStats:
        return DnsStats(queries=self._cache.runs + self._signed.runs,
                        cache_hits=self._cache.hits + self._signed.hits)

    async def query(self, name: str, rdtype: str) -> DnsResult:
        key = (normalise_name(name), rdtype.upper())
        return await self._cache.get(key, lambda: self._lookup(*key))

    def cached(self, name: str, rdtype: str) -> DnsResult | None:
        """The answer already in the scan cache, or None; never sends a query. Safe to call
        from a worker thread (a read-only peek), which lets the sync bridges skip a round
        trip through the event loop for questions the scan has already asked."""
        return self._cache.peek((normalise_name(name), rdtype.upper()))

    async def query_signed(self, name: str, rdtype: str) -> SignedAnswer:
        """(name, rdtype) with DO set, parsed whole, for the DNSSEC validator; once per scan
        like every answer. Asked without CD first, so the resolver's own verdict is kept
        (its AD bit; SERVFAIL for what it judges bogus); asked again with CD after a
        SERVFAIL, to get the data and judge it ourselves (RFC 4035 3.2.2)."""
        key = (normalise_name(name), rdtype.upper())
        return await self._signed.get(key, lambda: self._lookup_signed(*key))

    def cached_signed(self, name: str, rdtype: str) -> SignedAnswer | None:
        """The DNSSEC answer already in the scan cache, or None; never sends a query."""
        return self._signed.peek((normalise_name(name), rdtype.upper()))

    async def _lookup_signed(self, name: str, rdtype: str) -> SignedAnswer:
        """``_lookup``'s retries, server order and TCP fallback, for a DNSSEC question."""
        try:
            qname = dns.name.from_text(name + ".") if name else dns.name.root
            qtype = dns.rdatatype.from_text(rdtype)
        except (dns.exception.DNSException, ValueError, UnicodeError) as exc:
            return SignedAnswer(dns.name.root, 0, DnsOutcome.ERROR, detail=_short(exc))
        name_wire = qname.to_wire()
        rejected = [False]

        async def ask(server: UdpMux):
            rejected[0] = False
            response = await self._ask_signed(server, name_wire, qname, qtype, cd=False)
            if response is not None and response.rcode() == dns.rcode.SERVFAIL:
                rejected[0] = True
                response = await self._ask_signed(server, name_wire, qname, qtype, cd=True)
            return response

        if not self._limit.take_now():
            await self._limit.take()
        try:
            response, failure = await self._ask_servers(ask)
        finally:
            self._limit.release()
        if response is not None:
            return SignedAnswer.from_message(qname, qtype, response, rejected[0])
        if failure == dns.rcode.REFUSED:
            return SignedAnswer(qname, qtype, DnsOutcome.REFUSED, detail="server refused the query")
        if failure == dns.rcode.SERVFAIL:
            return SignedAnswer(qname, qtype, DnsOutcome.SERVFAIL,
                                detail="server failure (SERVFAIL), also with CD set")
        return SignedAnswer(qname, qtype, DnsOutcome.TIMEOUT, detail="no answer before the timeout")

    async def _ask_servers(self, ask: Callable[[UdpMux], Awaitable]) -> tuple[object, int | None]:
        """The question to each server in turn (``ask(server)``: its response, None on
        timeout), ``retries`` more rounds while some timed out: the first response that is
        no SERVFAIL or REFUSED, else (None, the last such RCODE; None if all timed out)."""
        failure: int | None = None
        for _ in range(self._retries + 1):
            timed_out = False
            for server in self._servers:
                response = await ask(server)
                if response is None:
                    timed_out = True
                    continue
                rcode = response.rcode()
                if rcode in (dns.rcode.SERVFAIL, dns.rcode.REFUSED):
                    failure = rcode
                    continue
                return response, None
            if not timed_out:
                break
        return None, failure

    async def _ask_signed(self, server: UdpMux, name_wire: bytes, qname: dns.name.Name,
                          qtype: int, *, cd: bool) -> dns.message.Message | None:
        response = await server.exchange_wire(dnssec_query_wire(name_wire, qtype, cd=cd), qname,
                                              qtype, self._timeout, whole=True)
        if response is not None and response.flags & _TC:
            query = dns.message.make_query(qname, qtype, use_edns=0, payload=1232,
                                           want_dnssec=True)
            if cd:
                query.flags |= dns.flags.CD
            response = await server.exchange_tcp(query, self._timeout)
        return response

    async def ptr(self, ip: str) -> DnsResult:
        return await self.query(dns.reversename.from_address(ip).to_text(), "PTR")

    async def query_many(self, names: Sequence[str], rdtype: str) -> list[DnsResult]:
        """``[await query(n, rdtype) for n in names]``, asked concurrently, in the caller's
        task: no Task per question (a domain's ~24 DKIM selectors through ``gather`` spent
        ~5% of the scan's CPU creating and scheduling Tasks). Same answers, same cache and
        sharing, same statistics as that many ``query`` calls; see ``_lookup_many``."""
        rdtype = rdtype.upper()
        return await self._cache.get_many([(normalise_name(n), rdtype) for n in names],
                                          self._lookup_many, self._lookup_key)

    def _lookup_key(self, key: tuple[str, str]) -> Awaitable[DnsResult]:
        return self._lookup(*key)

    async def _lookup(self, name: str, rdtype: str, question: "_Question | None" = None,
                      first: "DnsReply | dns.message.Message | None | object" = _UNASKED) -> DnsResult:
        """Retries on timeout, the next server on SERVFAIL or REFUSED, TCP when truncated,
        CNAME chains followed within the answer; a ``max_in_flight`` slot held throughout.
        ``question`` and ``first`` given: a question of ``_lookup_many`` going on after its
        first query (``first``: the first server's response to the first attempt, None if
        it timed out), whose slot the batch already took and gives back."""
        limit = self._limit
        batched = question is not None
        if not batched:
            question = _question(name, rdtype)
            if isinstance(question, DnsResult):
                return question
            if not limit.take_now():
                await limit.take()
        wire, qtype, fast = question
        unasked = [first]

        async def ask(server: UdpMux):
            if unasked[0] is not _UNASKED:
                response, unasked[0] = unasked[0], _UNASKED
            elif fast:
                response = await server.ask(wire, qtype, self._timeout)
            else:
                response = await server.exchange_wire(
                    wire, dns.name.from_wire(wire, 12)[0], qtype, self._timeout)
            if response is not None and response.flags & _TC:
                query = dns.message.make_query(dns.name.from_wire(wire, 12)[0], qtype,
                                               use_edns=0, payload=1232)
                response = await server.exchange_tcp(query, self._timeout)
            return response

        try:
            response, failure = await self._ask_servers(ask)
        finally:
            if not batched:
                limit.release()
        if response is not None:
            return _from_response(name, rdtype, response)
        if failure == dns.rcode.REFUSED:
            return DnsResult(name, rdtype, DnsOutcome.REFUSED, detail="server refused the query")
        if failure == dns.rcode.SERVFAIL:
            return DnsResult(name, rdtype, DnsOutcome.SERVFAIL, detail="server failure (SERVFAIL)")
        return DnsResult(name, rdtype, DnsOutcome.TIMEOUT, detail="no answer before the timeout")

    async def _lookup_many(self, keys: list[tuple[str, str]],
                           settle: Callable[[int, DnsResult], None]) -> None:
        """The questions nobody had asked yet, all sent at once to the first server, as
        ``max_in_flight`` slots allow (taken several at a time, see ``Slots``); a callback
        per answer settles its question. The first attempt at the first server is all most
        questions need; an answer that needs more (a timeout, SERVFAIL/REFUSED, truncation)
        continues ``_lookup`` from there in a Task of its own, with the same slot, so every
        question goes through exactly the steps (and queries) ``_lookup`` would give it.
        While the batch waits for slots it holds only those of questions in flight, which
        end by themselves (answer or timer): no deadlock. Cancelled: every query and
        continuation of the batch is cancelled."""
        batch = _Batch(settle)
        server, limit = self._servers[0], self._limit
        try:
            slots = 0       # taken, not used yet
            try:
                for j, (name, rdtype) in enumerate(keys):
                    question = _question(name, rdtype)
                    if isinstance(question, DnsResult):
                        settle(j, question)
                        continue
                    if not slots:
                        left = len(keys) - j
                        slots = limit.take_now(left) or await limit.take(left)
                    wire, qtype, fast = question
                    then = functools.partial(self._first_answer, batch, j, name, rdtype, question)
                    batch.sent(server.ask_soon(wire, qtype, self._timeout, then, fast=fast))
                    slots -= 1
            finally:
                limit.release(slots)    # taken for questions that needed none (bad names)
            await batch.wait()
        except BaseException:
            batch.abandon()
            raise

    def _first_answer(self, batch: "_Batch", j: int, name: str, rdtype: str,
                      question: "_Question", fut: asyncio.Future) -> None:
        """Done callback of a question's first query (see ``_lookup_many``)."""
        if batch.abandoned or fut.cancelled():
            self._limit.release()
            batch.ended()
            return
        try:
            response = fut.result()
            if (response is None or response.flags & _TC
                    or response.rcode() in (dns.rcode.SERVFAIL, dns.rcode.REFUSED)):
                rest = asyncio.ensure_future(self._lookup(name, rdtype, question, response))
                batch.continued(rest)
                rest.add_done_callback(functools.partial(self._rest_done, batch, j))
                return
            result = _from_response(name, rdtype, response)
        except BaseException as exc:     # a bug: the batch raises it rather than hang
            self._limit.release()
            batch.fail(exc)
            return
        self._limit.release()
        batch.settle(j, result)
        batch.ended()

    def _rest_done(self, batch: "_Batch", j: int, task: asyncio.Task) -> None:
        self._limit.release()
        if task.cancelled():
            batch.ended()
        elif task.exception() is not None:
            batch.fail(task.exception())
        else:
            if not batch.abandoned:
                batch.settle(j, task.result())
            batch.ended()


def _question(name: str, rdtype: str) -> "_Question | DnsResult":
    """The query for (name, rdtype), or the ERROR result when it cannot be asked."""
    try:
        qtype, fast = _rdtype_code(rdtype)
        name_wire = plain_name_wire(name)
        if name_wire is None:
            qname = dns.name.from_text(name or ".")
            name_wire = qname.to_wire()
        return name_query_wire(name_wire, qtype), qtype, fast
    except (dns.exception.DNSException, ValueError, UnicodeError) as exc:
        return DnsResult(name, rdtype, DnsOutcome.ERROR, detail=_short(exc))


class Slots:
    """The ``max_in_flight`` bound: a FIFO counting semaphore that hands released slots
    straight to the first waiter, who may ask for several (``asyncio.Semaphore`` wakes one
    waiter per slot: a batch of ~24 DKIM questions behind a busy bound was woken up to 24
    times, and its ``locked()`` builds a generator on every acquire)."""

    __slots__ = ("free", "_waiters")

    def __init__(self, n: int) -> None:
        self.free = n
        self._waiters: deque[_SlotWaiter] = deque()

    def take_now(self, most: int = 1) -> int:
        """Up to ``most`` free slots, without waiting; 0 when none is free or others wait."""
        if not self.free or self._waiters:
            return 0
        n = most if most < self.free else self.free
        self.free -= n
        return n

    async def take(self, most: int = 1) -> int:
        """At least one slot and at most ``most``: waits its turn for the first, and gets
        every slot released before it runs again, up to ``most``."""
        n = self.take_now(most)
        if n:
            return n
        waiter = _SlotWaiter(asyncio.get_running_loop().create_future(), most)
        self._waiters.append(waiter)
        try:
            await waiter.fut
        except BaseException:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            self.release(waiter.given)      # handed over, never used: to the next in line
            raise
        if self._waiters and self._waiters[0] is waiter:    # given some, not all it wanted
            self._waiters.popleft()
        return waiter.given

    def release(self, n: int = 1) -> None:
        waiters = self._waiters
        while n and waiters:
            first = waiters[0]
            if first.fut.cancelled():
                waiters.popleft()
                continue
            first.given += 1
            n -= 1
            if first.given >= first.most:
                waiters.popleft()
            if not first.fut.done():
                first.fut.set_result(None)
        self.free += n


class _SlotWaiter:
    __slots__ = ("fut", "most", "given")

    def __init__(self, fut: asyncio.Future, most: int) -> None:
        self.fut, self.most, self.given = fut, most, 0


class _Batch:
    """The state of one ``_lookup_many``: its queries and continuations in flight, and the
    one future its coroutine waits on until the last of them has ended."""

    __slots__ = ("settle", "running", "outstanding", "waiter", "error", "abandoned")

    def __init__(self, settle: Callable[[int, DnsResult], None]) -> None:
        self.settle = settle
        self.running: list[asyncio.Future] = []
        self.outstanding = 0
        self.waiter: asyncio.Future | None = None
        self.error: BaseException | None = None
        self.abandoned = False

    def sent(self, query: asyncio.Future) -> None:
        self.running.append(query)
        self.outstanding += 1

    def continued(self, rest: asyncio.Task) -> None:
        """A question's query ended, its ``_lookup`` goes on (still one outstanding)."""
        self.running.append(rest)

    def ended(self) -> None:
        self.outstanding -= 1
        if not self.outstanding and self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def wait(self) -> None:
        if self.outstanding and self.error is None:
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter
        if self.error is not None:
            raise self.error

    def abandon(self) -> None:
        """The asker gave up (cancelled): stop everything still running. Their callbacks
        still run, and only give back their ``max_in_flight`` slots."""
        self.abandoned = True
        for fut in self.running:
            fut.cancel()
        self.running = []


_TC = int(dns.flags.TC)     # a plain int: ``int & Flag`` goes through enum code per query
_RDTYPES: dict[str, tuple[int, bool]] = {}


def _rdtype_code(rdtype: str) -> tuple[int, bool]:
    """The type's number, and whether ``dnswire.parse_reply`` may read its answers: only
    under the type's own name, as ``rdata_text`` formats by name ("TYPE16" is TXT on the
    wire but formatted as generic text)."""
    found = _RDTYPES.get(rdtype)
    if found is None:
        code = dns.rdatatype.from_text(rdtype)
        found = _RDTYPES[rdtype] = (code, dns.rdatatype.to_text(code) == rdtype)
    return found


def _from_response(name: str, rdtype: str, response: "DnsReply | dns.message.Message") -> DnsResult:
    rcode = response.rcode()
    if rcode == dns.rcode.NXDOMAIN:
        return DnsResult(name, rdtype, DnsOutcome.NXDOMAIN)
    if rcode != dns.rcode.NOERROR:
        return DnsResult(name, rdtype, DnsOutcome.ERROR, detail=f"server answered {dns.rcode.to_text(rcode)}")
    if isinstance(response, DnsReply):
        if response.error:
            return DnsResult(name, rdtype, DnsOutcome.ERROR, detail=response.error)
        if response.records is None:
            return DnsResult(name, rdtype, DnsOutcome.NODATA, canonical_name=response.canonical)
        return DnsResult(name, rdtype, DnsOutcome.OK, response.records, response.canonical)
    try:
        chain = response.resolve_chaining()
    except dns.message.ChainTooLong:
        return DnsResult(name, rdtype, DnsOutcome.ERROR, detail="CNAME chain too long (loop?)")
    except dns.exception.DNSException as exc:
        return DnsResult(name, rdtype, DnsOutcome.ERROR, detail=_short(exc))
    canonical = chain.canonical_name.to_text(omit_final_dot=True).lower()
    if chain.answer is None:
        return DnsResult(name, rdtype, DnsOutcome.NODATA, canonical_name=canonical)
    records = tuple(rdata_text(rdtype, rd) for rd in chain.answer)
    return DnsResult(name, rdtype, DnsOutcome.OK, records, canonical)


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
