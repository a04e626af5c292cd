"""DnsClient.query_many against the lab DNS server: the answers, order, sharing and statistics
of that many ``query`` calls, the fallbacks of ``_lookup`` (timeout, SERVFAIL/REFUSED, TCP),
cancellation, the ``max_in_flight`` bound, and no Task per question."""
from __future__ import annotations

import asyncio
import dataclasses

import dns.message
import dns.rcode
import pytest

from scanner.dns.client import DnsClient
from scanner.evidence import DnsOutcome

from .conftest import run_without_loop_errors

pytestmark = pytest.mark.lab


def ns(lab) -> tuple[str, int]:
    host, port = lab.nameserver.split(":")
    return host, int(port)


def run(coro_fn, timeout=20):
    return run_without_loop_errors(coro_fn, timeout)


def counts(lab, names, rdtype):
    return [lab.dns.query_counts[(n.lower().rstrip("."), rdtype)] for n in names]


def idle(client: DnsClient) -> tuple[int, int]:
    """(free max_in_flight slots, queries registered on the first server's socket)."""
    return client._limit.free, client._servers[0].in_flight


def sorted_records(results):
    return [dataclasses.replace(r, records=tuple(sorted(r.records))) for r in results]


@pytest.fixture
def zone(lab, unique_zone):
    """DKIM-like names: keys, CNAMEs to one shared provider key, NXDOMAIN, NODATA."""
    name, provider = unique_zone(), unique_zone()
    lab.dns.add_zone(provider, 'key TXT "v=DKIM1; k=rsa; p=SHARED"\n')
    lab.dns.add_zone(name, f"""
sel1._domainkey   TXT "v=DKIM1; k=rsa; " "p=MINE"
s1._domainkey     CNAME key.{provider}.
s2._domainkey     CNAME key.{provider}.
nodata._domainkey A 127.0.1.1
loop1._domainkey  CNAME loop2._domainkey.{name}.
loop2._domainkey  CNAME loop1._domainkey.{name}.
""")
    for label, behaviour in (("sf", "servfail"), ("rf", "refused")):
        lab.dns.add_records(f"{label}._domainkey.{name}", "TXT", ['"v=DKIM1; p=X"'])
        lab.dns.set_behaviour(f"{label}._domainkey.{name}", behaviour)
    return name


def names_of(zone: str) -> list[str]:
    return [f"{s}._domainkey.{zone}" for s in
            ("sel1", "s1", "nx", "s2", "nodata", "loop1", "sf", "rf")] + [
            "x" * 64 + f".{zone}",          # a label too long: ERROR before anything is sent
            "nowhere.invalid"]              # outside every zone: REFUSED


def test_same_answers_order_and_statistics_as_query(lab, zone):
    names = names_of(zone)

    async def main():
        batch = DnsClient([ns(lab)], timeout=2)
        many = await batch.query_many(names, "txt")
        one = DnsClient([ns(lab)], timeout=2)
        each = [await one.query(n, "TXT") for n in names]
        gathered = DnsClient([ns(lab)], timeout=2)
        together = await asyncio.gather(*(gathered.query(n, "TXT") for n in names))
        return many, each, together, batch.stats, gathered.stats, idle(batch)

    before = counts(lab, names, "TXT")
    many, each, together, stats, gather_stats, left = run(main)
    assert many == each == list(together)
    assert [r.outcome for r in many] == [
        DnsOutcome.OK, DnsOutcome.OK, DnsOutcome.NXDOMAIN, DnsOutcome.OK, DnsOutcome.NODATA,
        DnsOutcome.ERROR, DnsOutcome.SERVFAIL, DnsOutcome.REFUSED, DnsOutcome.ERROR,
        DnsOutcome.REFUSED]
    assert many[0].records == ("v=DKIM1; k=rsa; p=MINE",)
    assert many[1].records == many[3].records == ("v=DKIM1; k=rsa; p=SHARED",)
    assert many[1].via_cname and many[1].canonical_name == many[3].canonical_name
    # three clients, each asked every askable name once (the long label is never sent)
    assert [after - b for after, b in zip(counts(lab, names, "TXT"), before)] == [3] * 8 + [0, 3]
    assert stats == gather_stats and (stats.queries, stats.cache_hits) == (len(names), 0)
    assert left == (256, 0)


def test_duplicates_in_one_batch_are_asked_once(lab, zone):
    a = f"sel1._domainkey.{zone}"
    names = [a, a.upper() + ".", f"s1._domainkey.{zone}", a]

    async def main():
        c = DnsClient([ns(lab)], timeout=2)
        return await c.query_many(names, "TXT"), c.stats

    many, stats = run(main)
    assert [r.name for r in many] == [a, a, f"s1._domainkey.{zone}", a]
    assert many[0] == many[1] == many[3] and many[0].records == ("v=DKIM1; k=rsa; p=MINE",)
    assert counts(lab, [a, f"s1._domainkey.{zone}"], "TXT") == [1, 1]
    assert (stats.queries, stats.cache_hits) == (2, 2)


def test_answers_already_cached_are_hits(lab, zone):
    a, b = f"sel1._domainkey.{zone}", f"s2._domainkey.{zone}"

    async def main():
        c = DnsClient([ns(lab)], timeout=2)
        first = await c.query(a, "TXT")
        return first, await c.query_many([a, b], "TXT"), c.stats

    first, many, stats = run(main)
    assert many[0] == first and many[1].ok
    assert counts(lab, [a, b], "TXT") == [1, 1]
    assert (stats.queries, stats.cache_hits) == (2, 1)


def test_truncated_answer_goes_to_tcp_and_other_types(lab, unique_zone):
    """Truncation continues over TCP; SRV (dnspython's parser) is asked the same way."""
    z = unique_zone()
    lab.dns.add_zone(z, "".join(f"big MX {i} mx{i}.{z}.\n" for i in range(300)) + f"""
small MX 10 mx.{z}.
_submission._tcp SRV 0 1 587 mail.{z}.
""")
    mx_names = [f"big.{z}", f"small.{z}", f"none.{z}"]
    srv_names = [f"_submission._tcp.{z}", f"_submissions._tcp.{z}"]

    async def main():
        c, ref = DnsClient([ns(lab)], timeout=2), DnsClient([ns(lab)], timeout=2)
        got = await c.query_many(mx_names, "MX"), await c.query_many(srv_names, "SRV")
        want = [await ref.query(n, "MX") for n in mx_names], [await ref.query(n, "SRV") for n in srv_names]
        return got, want, idle(c)

    (mx, srv), (mx_ref, srv_ref), left = run(main)
    assert (sorted_records(mx), srv) == (sorted_records(mx_ref), srv_ref)  # (the lab's order varies)
    assert (mx[0].outcome, len(mx[0].records)) == (DnsOutcome.OK, 300)
    assert [r.outcome for r in srv] == [DnsOutcome.OK, DnsOutcome.NXDOMAIN]
    assert srv[0].records == (f"0 1 587 mail.{z}.",)
    assert left == (256, 0)


def test_an_unanswered_question_times_out_after_the_same_retries(lab, zone):
    drop = f"drop._domainkey.{zone}"
    lab.dns.add_records(drop, "TXT", ['"v=DKIM1; p=X"'])
    lab.dns.set_behaviour(drop, "drop")
    names = [drop, f"sel1._domainkey.{zone}", f"nx._domainkey.{zone}"]

    async def main():
        c = DnsClient([ns(lab)], timeout=0.3, retries=1)
        many = await c.query_many(names, "TXT")
        sent = counts(lab, [drop], "TXT")[0]
        one = await DnsClient([ns(lab)], timeout=0.3, retries=1).query(drop, "TXT")
        return many, sent, counts(lab, [drop], "TXT")[0] - sent, one, idle(c)

    many, by_batch, by_query, one, left = run(main)
    assert [r.outcome for r in many] == [DnsOutcome.TIMEOUT, DnsOutcome.OK, DnsOutcome.NXDOMAIN]
    assert many[0] == one
    assert by_batch == by_query == 2            # retries=1: two attempts either way
    assert left == (256, 0)


class _Rcode(asyncio.DatagramProtocol):
    """A nameserver that answers every query with one RCODE, and counts the questions."""

    def __init__(self, rcode: int) -> None:
        self.rcode, self.asked = rcode, []

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        query = dns.message.from_wire(data)
        self.asked.append(query.question[0].name.to_text(omit_final_dot=True))
        reply = dns.message.make_response(query)
        reply.set_rcode(self.rcode)
        self.transport.sendto(reply.to_wire(), addr)


@pytest.mark.parametrize("rcode", [dns.rcode.SERVFAIL, dns.rcode.REFUSED], ids=["servfail", "refused"])
def test_servfail_or_refused_goes_on_to_the_next_server(lab, zone, rcode):
    names = [f"sel1._domainkey.{zone}", f"nx._domainkey.{zone}", f"s1._domainkey.{zone}"]

    async def main():
        loop = asyncio.get_running_loop()
        transport, failing = await loop.create_datagram_endpoint(
            lambda: _Rcode(rcode), local_addr=("127.0.0.1", 0))
        try:
            servers = [transport.get_extra_info("sockname")[:2], ns(lab)]
            c = DnsClient(servers, timeout=2)
            many = await c.query_many(names, "TXT")
            asked_by_batch = list(failing.asked)
            ref = DnsClient(servers, timeout=2)
            return many, [await ref.query(n, "TXT") for n in names], asked_by_batch, idle(c)
        finally:
            transport.close()

    many, each, asked, left = run(main)
    assert many == each
    assert [r.outcome for r in many] == [DnsOutcome.OK, DnsOutcome.NXDOMAIN, DnsOutcome.OK]
    assert sorted(asked) == sorted(names)      # the failing server was asked each once
    assert left == (256, 0)


def test_joins_a_question_another_asker_has_in_flight(lab, zone):
    slow = f"slow._domainkey.{zone}"
    lab.dns.add_records(slow, "TXT", ['"v=DKIM1; p=SLOW"'])
    lab.dns.set_behaviour(slow, "delay", delay=0.2)
    names = [slow, f"sel1._domainkey.{zone}"]

    async def main():
        c = DnsClient([ns(lab)], timeout=2)
        first = asyncio.ensure_future(c.query(slow, "TXT"))
        await asyncio.sleep(0)                  # its query is out
        many = await c.query_many(names, "TXT")
        return await first, many, c.stats

    first, many, stats = run(main)
    assert many[0] == first and first.records == ("v=DKIM1; p=SLOW",) and many[1].ok
    assert counts(lab, names, "TXT") == [1, 1]
    assert (stats.queries, stats.cache_hits) == (2, 1)


def test_cancelled_batch_does_not_poison_another_asker(lab, zone):
    """The batch owns the slow question; another asker joins it; the batch is cancelled (its
    domain's deadline): the other asker still gets the answer (the question is asked again
    for it, as SharedOnce(inline=True) does), and nothing is left behind."""
    slow = f"slow2._domainkey.{zone}"
    lab.dns.add_records(slow, "TXT", ['"v=DKIM1; p=SLOW"'])
    lab.dns.set_behaviour(slow, "delay", delay=0.2)
    quick = f"sel1._domainkey.{zone}"

    async def main():
        c = DnsClient([ns(lab)], timeout=2)
        batch = asyncio.ensure_future(c.query_many([slow, quick], "TXT"))
        await asyncio.sleep(0)                  # the batch's queries are out
        other = asyncio.ensure_future(c.query(slow, "TXT"))
        await asyncio.sleep(0)                  # ... and the other asker waits on one
        batch.cancel()
        got = await other
        await asyncio.sleep(0)
        again = await c.query_many([slow, quick], "TXT")
        return batch.cancelled(), got, again, c.stats, idle(c)

    cancelled, got, again, stats, left = run(main)
    assert cancelled and got.records == ("v=DKIM1; p=SLOW",)
    assert again[0] == got and again[1].records == ("v=DKIM1; k=rsa; p=MINE",)
    assert counts(lab, [slow], "TXT") == [2]    # the cancelled query and the one for `other`
    assert left == (256, 0)


def test_cancelled_lone_batch_leaves_nothing_behind(lab, zone):
    slow = f"slow3._domainkey.{zone}"
    lab.dns.add_records(slow, "TXT", ['"v=DKIM1; p=SLOW"'])
    lab.dns.set_behaviour(slow, "delay", delay=0.2)
    drop = f"drop3._domainkey.{zone}"
    lab.dns.add_records(drop, "TXT", ['"v=DKIM1; p=X"'])
    lab.dns.set_behaviour(drop, "drop")

    async def main():
        c = DnsClient([ns(lab)], timeout=0.05, retries=5)
        batch = asyncio.ensure_future(
            c.query_many([slow, drop, slow, f"sel1._domainkey.{zone}"], "TXT"))
        await asyncio.sleep(0.12)               # first queries timed out: they go on in
        batch.cancel()                          # Tasks of their own, cancelled with the rest
        await asyncio.gather(batch, return_exceptions=True)
        await asyncio.sleep(0.5)                # whatever was left running would end by now
        return (batch.cancelled(), len(c._cache), c.cached(slow, "TXT"), c.cached(drop, "TXT"),
                idle(c))

    cancelled, entries, slow_cached, drop_cached, left = run(main)
    # the quick answer may have been settled before the cancel; the others are forgotten
    # (the repeated name's waiter is the batch's own: nobody else waits, nothing runs on)
    assert cancelled and entries <= 1 and slow_cached is drop_cached is None
    assert left == (256, 0)


def test_max_in_flight_is_honoured_without_deadlock(lab, unique_zone):
    """Several batches and single askers on a client with 3 slots: never more than 3
    questions in flight, and everyone is answered."""
    z = unique_zone()
    lab.dns.add_zone(z, "".join(f"h{i} A 127.0.1.{i + 1}\n" for i in range(40)))
    for i in range(0, 40, 4):
        lab.dns.set_behaviour(f"h{i}.{z}", "delay", delay=0.02)
    names = [f"h{i}.{z}" for i in range(40)]

    async def main():
        c = DnsClient([ns(lab)], timeout=2, max_in_flight=3)
        mux, real, most = c._servers[0], c._servers[0]._start, [0]

        def start(*args):
            qid = real(*args)
            most[0] = max(most[0], mux.in_flight)
            return qid
        mux._start = start
        jobs = [c.query_many(names[k:k + 10], "A") for k in range(0, 40, 5)]
        jobs += [c.query(n, "A") for n in names[::7]]
        return await asyncio.gather(*jobs), most[0], idle(c)

    results, most, left = run(main)
    batches = results[:8]
    assert all(r.records == (f"127.0.1.{int(r.name.split('.')[0][1:]) + 1}",)
               for batch in batches for r in batch)
    assert [len(b) for b in batches] == [10] * 7 + [5]
    assert counts(lab, names, "A") == [1] * 40
    assert most <= 3 and left == (3, 0)


def test_no_task_per_question(lab, zone):
    names = [f"{s}._domainkey.{zone}" for s in ("sel1", "s1", "s2", "nx", "nodata")] + [
        f"q{i}._domainkey.{zone}" for i in range(20)]

    async def main():
        loop = asyncio.get_running_loop()
        c = DnsClient([ns(lab)], timeout=2)
        real, created = loop.create_task, []
        loop.create_task = lambda *a, **k: created.append(1) or real(*a, **k)
        try:
            many = await c.query_many(names, "TXT")
        finally:
            del loop.create_task
        return many, created

    many, created = run(main)
    assert len(many) == 25 and {r.outcome for r in many[5:]} == {DnsOutcome.NXDOMAIN}
    assert created == []


def test_slots_first_in_line_collects_what_is_released_before_it_runs():
    """The max_in_flight bound (Slots): FIFO; a waiter asking for several gets every slot
    released before it runs again (asyncio.Semaphore woke a batch once per slot); nobody
    jumps the line while others wait; a cancelled waiter passes on what it was handed."""
    from scanner.dns.client import Slots

    async def main():
        slots = Slots(3)
        assert slots.take_now(5) == 3 and slots.take_now() == 0
        batch = asyncio.ensure_future(slots.take(4))
        single = asyncio.ensure_future(slots.take())
        await asyncio.sleep(0)
        slots.release(2)                        # both to the batch, first in line
        assert slots.take_now() == 0            # others wait: no jumping the line
        got_batch = await batch
        slots.release()                         # to the single waiter
        got_single = await single
        doomed = asyncio.ensure_future(slots.take(2))
        after = asyncio.ensure_future(slots.take())
        await asyncio.sleep(0)
        slots.release()                         # one of the batch's, handed to `doomed`,
        doomed.cancel()                         # cancelled before it runs: on to `after`
        got_after = await after
        slots.release(got_batch - 1 + got_single + got_after)
        return got_batch, got_single, doomed.cancelled(), got_after, slots.free

    assert run(main, timeout=5) == (2, 1, True, 1, 3)
