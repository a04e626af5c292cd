"""SharedOnce: one run per key, a finished entry answered without waiting, and one asker's
cancellation never cancels the work the others wait for."""
from __future__ import annotations

import asyncio

import pytest

from scanner.memo import SharedOnce


@pytest.mark.parametrize("inline, runs", [(False, 1), (True, 2)], ids=["task", "inline"])
def test_one_askers_cancellation_does_not_cancel_the_shared_work(inline, runs):
    """Inline, the cancelled asker was doing the work: it runs again for the one still
    waiting (safe to repeat), then is shared."""
    async def main():
        once: SharedOnce[str] = SharedOnce(inline=inline)
        release = asyncio.Event()
        ran = []

        async def work():
            ran.append(1)
            await release.wait()
            return "done"

        first = asyncio.ensure_future(once.get("k", work))
        second = asyncio.ensure_future(once.get("k", work))
        await asyncio.sleep(0)
        first.cancel()                  # e.g. its domain ran out of time
        await asyncio.sleep(0)
        release.set()
        got = await asyncio.wait_for(second, 2)
        third = await asyncio.wait_for(once.get("k", work), 2)
        return first.cancelled(), got, third, len(ran), (once.runs, once.hits)

    assert asyncio.run(main()) == (True, "done", "done", runs, (1, 2))


def _counting_tasks(loop, created):
    real = loop.create_task
    loop.create_task = lambda *a, **k: created.append(1) or real(*a, **k)


def test_finished_entry_is_returned_without_a_task():
    async def main():
        once: SharedOnce[int] = SharedOnce()

        async def work():
            return 7

        first = await once.get("k", work)
        loop = asyncio.get_running_loop()
        created = []
        _counting_tasks(loop, created)
        try:
            again = await once.get("k", work)
        finally:
            del loop.create_task
        return first, again, created, once.peek("k")

    assert asyncio.run(main()) == (7, 7, [], 7)


@pytest.mark.parametrize("inline", [False, True], ids=["task", "inline"])
def test_failed_work_is_shared_and_raised_to_each_asker(inline):
    async def main():
        once: SharedOnce[int] = SharedOnce(inline=inline)
        runs = []

        async def work():
            runs.append(1)
            await asyncio.sleep(0)          # the second asker joins while it is in flight
            raise ValueError("boom")

        together = await asyncio.gather(once.get("k", work), once.get("k", work),
                                        return_exceptions=True)
        outcomes = [str(e) for e in together if isinstance(e, ValueError)]
        try:
            await once.get("k", work)       # finished: raised again, not run again
        except ValueError as exc:
            outcomes.append(str(exc))
        return outcomes, len(runs), once.peek("k")

    assert asyncio.run(main()) == (["boom", "boom", "boom"], 1, None)


def test_inline_the_first_asker_does_the_work_without_a_new_task():
    async def main():
        once: SharedOnce[int] = SharedOnce(inline=True)
        release = asyncio.Event()

        async def work():
            await release.wait()
            return 5

        loop = asyncio.get_running_loop()
        first = asyncio.ensure_future(once.get("k", work))
        second = asyncio.ensure_future(once.get("k", work))
        await asyncio.sleep(0)
        created = []
        _counting_tasks(loop, created)
        try:
            release.set()
            got = await asyncio.gather(first, second)
        finally:
            del loop.create_task
        return got, created, (once.runs, once.hits), once.peek("k")

    assert asyncio.run(main()) == ([5, 5], [], (1, 1), 5)


def test_inline_a_cancelled_lone_asker_leaves_nothing_behind():
    async def main():
        once: SharedOnce[str] = SharedOnce(inline=True)
        gate = asyncio.Event()

        async def stuck():
            await gate.wait()
            return "never"

        async def quick():
            return "fresh"

        lone = asyncio.ensure_future(once.get("k", stuck))
        await asyncio.sleep(0)
        lone.cancel()
        await asyncio.sleep(0)
        return lone.cancelled(), len(once), await asyncio.wait_for(once.get("k", quick), 2)

    assert asyncio.run(main()) == (True, 0, "fresh")


@pytest.mark.parametrize("inline", [False, True], ids=["task", "inline"])
def test_a_finished_entry_keeps_nothing_of_the_asker_that_started_it(inline):
    """A cache entry remembers its result, not the Task that made it: a finished Task holds
    its coroutine and the Context it started in (in a scan, the first asking domain's DNS
    view and budget), so keeping it kept one domain's objects per entry, for as long as the
    entry lives (the validator's and probe caches: tens of thousands of entries). Inline,
    the work is handed to a Task only when its asker is cancelled: that Task is not kept
    either."""
    import contextvars
    import gc
    import weakref

    asker: contextvars.ContextVar = contextvars.ContextVar("asker")

    class Budget:      # stands for a domain's DomainBudget / DomainDns
        pass

    async def main():
        once: SharedOnce[str] = SharedOnce(inline=inline)
        budgets, tasks = [], []
        release = asyncio.Event()

        async def work(key):
            tasks.append(weakref.ref(asyncio.current_task()))
            if inline:
                await release.wait()
            return f"v{key}"

        async def domain(key):
            budget = Budget()
            budgets.append(weakref.ref(budget))
            asker.set(budget)
            return await once.get(key, lambda: work(key))

        for key in range(200):
            if inline:     # the first asker cancelled while a second waits: a Task takes over
                first = asyncio.ensure_future(domain(key))
                await asyncio.sleep(0)
                second = asyncio.ensure_future(once.get(key, lambda: work(key)))
                await asyncio.sleep(0)
                first.cancel()
                await asyncio.sleep(0)
                release.set()
                assert await second == f"v{key}"
                release.clear()
                del first, second    # (the cancelled asker's own Task holds its Context)
            else:          # each domain collected in a Task of its own, as in a scan
                assert await asyncio.ensure_future(domain(key)) == f"v{key}"
        await asyncio.sleep(0)
        gc.collect()
        return len(once), [b for b in budgets if b() is not None], \
            [t for t in tasks if t() is not None and t() is not asyncio.current_task()]

    size, budgets_alive, tasks_alive = asyncio.run(main())
    assert size == 200                   # every result still cached
    assert budgets_alive == [] and tasks_alive == []


@pytest.mark.parametrize("inline", [False, True], ids=["task", "inline"])
def test_finished_entries_hold_no_container_each(inline):
    """A finished entry is its outcome: no list of waiters is left behind per key (an empty
    list is ~56 bytes and a container for the garbage collector to track; the scan's caches
    hold 100,000s of finished entries)."""
    import gc

    async def main():
        once: SharedOnce[int] = SharedOnce(inline=inline)

        async def work(key):
            return key

        for key in range(50):          # warm up whatever is made once
            await once.get(key, lambda key=key: work(key))
        gc.collect()
        before = sum(type(o) is list for o in gc.get_objects())
        for key in range(50, 1050):
            await once.get(key, lambda key=key: work(key))
        gc.collect()
        return sum(type(o) is list for o in gc.get_objects()) - before

    assert asyncio.run(main()) < 10
