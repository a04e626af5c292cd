"""SharedOnce.get_many: the results and statistics of that many ``get`` calls, settled keys
handed to other askers at once, failures shared, a cancelled batch handing over only what
others wait for, and no "exception was never retrieved" left behind."""
from __future__ import annotations

import asyncio

import pytest

from scanner.memo import SharedOnce

from .conftest import run_without_loop_errors


def run(coro_fn, timeout=5):
    return run_without_loop_errors(coro_fn, timeout)


async def one(key):
    return f"one:{key}"


def test_order_counts_and_only_new_keys_run():
    async def main():
        once: SharedOnce[str] = SharedOnce()
        assert await once.get("c", lambda: one("c")) == "one:c"
        asked = []

        async def batch(keys, settle):
            asked.append(list(keys))
            for j, key in enumerate(keys):
                settle(j, f"many:{key}")

        got = await once.get_many(["a", "b", "a", "c"], batch, one)
        return got, asked, (once.runs, once.hits), once.peek("b")

    got, asked, stats, peeked = run(main)
    assert got == ["many:a", "many:b", "many:a", "one:c"]
    assert asked == [["a", "b"]]
    assert stats == (3, 2)      # a, b (and c before); a again and c are hits
    assert peeked == "many:b"


def test_a_settled_key_reaches_its_other_askers_before_the_batch_ends():
    async def main():
        once: SharedOnce[str] = SharedOnce()
        rest = asyncio.Event()
        other_got = []

        async def batch(keys, settle):
            settle(0, "A")
            await rest.wait()
            settle(1, "B")

        async def other():
            other_got.append(await once.get("a", lambda: one("a")))
            rest.set()

        together = asyncio.ensure_future(once.get_many(["a", "b"], batch, one))
        await asyncio.sleep(0)
        await other()                   # would hang if "a" waited for the whole batch
        return await together, other_got

    assert run(main) == (["A", "B"], ["A"])


def test_a_failing_batch_fails_its_unsettled_keys_for_everyone():
    async def main():
        once: SharedOnce[str] = SharedOnce()
        go = asyncio.Event()

        async def batch(keys, settle):
            settle(0, "A")
            await go.wait()
            raise ValueError("boom")

        together = asyncio.ensure_future(once.get_many(["a", "b"], batch, one))
        await asyncio.sleep(0)
        waiting = asyncio.ensure_future(once.get("b", lambda: one("b")))
        await asyncio.sleep(0)
        go.set()
        outcomes = await asyncio.gather(together, waiting, return_exceptions=True)
        return [repr(o) for o in outcomes], once.peek("a"), once.peek("b")

    outcomes, a, b = run(main)
    assert outcomes == ["ValueError('boom')"] * 2 and (a, b) == ("A", None)


def test_a_failure_of_a_joined_key_is_raised_in_order():
    async def main():
        once: SharedOnce[str] = SharedOnce()
        gate = asyncio.Event()

        async def failing():
            await gate.wait()
            raise KeyError("x")

        first = asyncio.ensure_future(once.get("x", failing))
        await asyncio.sleep(0)

        async def batch(keys, settle):
            settle(0, "Y")
            gate.set()

        outcomes = await asyncio.gather(once.get_many(["y", "x"], batch, one), first,
                                        return_exceptions=True)
        return [repr(o) for o in outcomes]

    assert run(main) == ["KeyError('x')"] * 2


@pytest.mark.parametrize("others_wait", [True, False], ids=["others-wait", "alone"])
def test_cancelled_batch_hands_over_only_keys_others_wait_for(others_wait):
    async def main():
        once: SharedOnce[str] = SharedOnce()
        handed = []

        async def batch(keys, settle):
            settle(0, "A")
            await asyncio.Event().wait()        # "b" and "c" never come

        async def factory(key):
            handed.append(key)
            return f"again:{key}"

        together = asyncio.ensure_future(once.get_many(["a", "b", "c", "b"], batch, factory))
        await asyncio.sleep(0)
        other = asyncio.ensure_future(once.get("b", factory)) if others_wait else None
        await asyncio.sleep(0)
        together.cancel()
        got = await other if other else None
        await asyncio.sleep(0)
        return together.cancelled(), got, handed, len(once), once.peek("a")

    cancelled, got, handed, entries, a = run(main)
    assert cancelled and a == "A"
    if others_wait:
        assert (got, handed, entries) == ("again:b", ["b"], 2)
    else:
        assert (got, handed, entries) == (None, [], 1)


def test_a_batch_that_never_settles_a_key_raises_instead_of_hanging():
    async def main():
        once: SharedOnce[str] = SharedOnce()

        async def batch(keys, settle):
            settle(1, "B")

        try:
            await once.get_many(["a", "b"], batch, one)
        except RuntimeError as exc:
            return str(exc), once.peek("b")

    message, b = run(main)
    assert "'a' was never settled" in message and b == "B"
