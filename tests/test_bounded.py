"""scanner/bounded.py: each memo shape stays within its bound and never answers for the wrong
key or object."""
from __future__ import annotations

import gc

from hypothesis import given
from hypothesis import strategies as st

from scanner.bounded import Bounded, HeldById, Lru, SecondSight, WeakById


class Obj:
    """A plain object (weak references allowed)."""


@given(st.lists(st.integers(0, 20), max_size=200), st.integers(1, 6))
def test_bounded_is_a_dict_within_its_limit(keys, limit):
    memo = Bounded(limit)
    for k in keys:
        if k in memo:
            assert memo[k] == -k
        else:
            assert memo.keep(k, -k) == -k
        assert len(memo) <= limit and memo[k] == -k


def test_bounded_keeps_its_entries_when_a_known_key_changes():
    memo = Bounded(2)
    memo.keep("a", 1)
    memo.keep("b", 1)
    memo.keep("b", 2)                      # full, but not a new key: nothing forgotten
    assert memo == {"a": 1, "b": 2}
    memo.keep("c", 3)
    assert memo == {"c": 3}


@given(st.lists(st.integers(0, 10), max_size=200), st.integers(1, 5))
def test_lru_drops_the_least_recently_used(ops, limit):
    memo, model = Lru(limit), []              # model: keys, least recently used first
    for k in ops:
        if memo.hit(k) is not None:
            model.remove(k)
        else:
            memo.keep(k, str(k))
            if len(model) == limit:
                model.pop(0)
        model.append(k)
        assert list(memo) == model and all(memo[m] == str(m) for m in model)


def test_lru_hit_of_a_kept_none_is_the_default():
    memo = Lru(2)
    memo.keep("a", None)
    assert memo.hit("a", "d") is None and memo.hit("b", "d") == "d"


def test_held_by_id_holds_and_answers_for_that_object_only():
    memo = HeldById(2)
    a, twin = Obj(), Obj()
    assert memo.put(a, "A") == "A"
    assert memo.get(a) == "A" and memo.get(twin) is None and memo.get(twin, 0) == 0
    ident = id(a)
    del a
    gc.collect()
    assert any(id(o) == ident for o in memo.held())       # still held: its id not reused


def test_held_by_id_is_bounded():
    memo = HeldById(3)
    objs = [Obj() for _ in range(10)]
    for i, o in enumerate(objs):
        memo.put(o, i)
        memo.put(o, i)                                    # again: not a new entry
        assert len(memo) <= 3 and memo.get(o) == i
    memo.clear()
    assert len(memo) == 0 and memo.get(objs[-1]) is None


def test_held_by_id_none_is_an_object_like_any_other():
    memo = HeldById(2)
    assert memo.get(None, "d") == "d"
    memo.put(None, "n")
    assert memo.get(None) == "n"


def test_weak_by_id_forgets_the_dead():
    memo = WeakById(4)
    a = Obj()
    memo.put(a, "A")
    assert memo.get(a) == "A" and len(memo) == 1
    del a
    gc.collect()
    assert len(memo) == 0
    memo.put(1, "int")                                    # no weak references: not kept
    assert memo.get(1) is None


def test_weak_by_id_is_bounded():
    memo, objs = WeakById(3), [Obj() for _ in range(10)]
    for o in objs:
        memo.put(o, 1)
        assert len(memo) <= 3 and memo.get(o) == 1


def test_second_sight():
    met = SecondSight(2)
    assert not met.seen(1) and met.seen(1) and 1 in met
    assert not met.seen(2)
    assert not met.seen(3) and len(met) == 1              # full: emptied, then noted
    assert not met.seen(1)
