"""How results are kept in the store: shared evidence split out by digest and spliced back,
text compressed against per-scan dictionaries; every evidence of the judge-identity fixture
(81 varied domains) comes back byte for byte."""
from __future__ import annotations

import dataclasses
import json
import zlib

import pytest

from scanner.errors import StoreError
from scanner.evidence import DomainEvidence, MxHostEvidence, SmtpProbe
from scanner.serde import dumps, from_jsonable
from scanner.store_codec import (DIGEST_CHARS, REF, SHARED_TYPES, SharedObjects, Splitter,
                                 compress, decompress, dictionary, digest, needs_dictionary,
                                 shared_in)

from .perf.test_judge_identity import CASES
from .test_serde import rich_evidence


def _evidences() -> list[DomainEvidence]:
    return [from_jsonable(DomainEvidence, json.loads(c["evidence"])) for c in CASES]


def _reader(store: dict[str, str]) -> SharedObjects:
    return SharedObjects(store.get)


def test_every_fixture_evidence_round_trips_through_skeleton_and_shared_objects():
    splitter, stored = Splitter(), {}
    evs = _evidences()
    skeletons = []
    for ev in evs:
        skeleton, new = splitter.split(ev)
        for d, text in new:
            assert d not in stored and digest(text) == d
            stored[d] = text
        skeletons.append(skeleton)
    reader = _reader(stored)
    for ev, skeleton, case in zip(evs, skeletons, CASES):
        assert reader.full(skeleton) == case["evidence"]      # the very text, spliced back
        back = reader.evidence(skeleton)
        assert back == ev
        assert dumps(back) == case["evidence"]
    probes = sum(len(ev.smtp) for ev in evs)
    hosts = sum(len(ev.mx.hosts) for ev in evs if ev.mx is not None)
    assert 0 < len(stored) < probes + hosts        # the fixture shares some (partner.test...)


def test_a_shared_object_is_emitted_once_and_referred_to_by_digest():
    ev = rich_evidence()
    other = dataclasses.replace(ev, position=8, input="other.test", domain="other.test")
    splitter = Splitter()
    first, new = splitter.split(ev)
    second, again = splitter.split(other)
    assert {type(json.loads(t)) for _, t in new} == {dict} and len(new) == 2   # probe, MX host
    assert again == []
    assert first.count('"' + REF) == 2 and second.count('"' + REF) == 2
    refs = {d for d, _ in new}
    assert all(f'"{REF}{d}"' in first and f'"{REF}{d}"' in second for d in refs)
    for field in ('"transcript"', '"addresses"'):       # a probe's, an MX host's
        assert field not in first and field not in second
        assert any(field in text for _, text in new)


def test_equal_objects_that_are_not_identical_share_one_digest():
    ev = rich_evidence()
    copy = from_jsonable(DomainEvidence, json.loads(dumps(ev)))
    assert copy.smtp[0] is not ev.smtp[0]
    splitter = Splitter()
    _, new = splitter.split(ev)
    _, again = splitter.split(copy)
    assert len(new) == 2 and again == []


def test_forgotten_objects_are_emitted_again():
    splitter = Splitter()
    _, new = splitter.split(rich_evidence())
    splitter.forget([d for d, _ in new])
    _, again = splitter.split(rich_evidence())
    assert again == new


def test_reader_fetches_each_shared_text_once():
    splitter, stored = Splitter(), {}
    ev = rich_evidence()
    skeletons = []
    for i in range(3):
        skeleton, new = splitter.split(dataclasses.replace(ev, position=i))
        stored.update(new)
        skeletons.append(skeleton)
    fetched = []
    reader = SharedObjects(lambda d: fetched.append(d) or stored.get(d))
    a, b, c = (reader.evidence(s) for s in skeletons)
    assert sorted(fetched) == sorted(stored)
    assert a.smtp == b.smtp == c.smtp == ev.smtp and a.mx.hosts == c.mx.hosts == ev.mx.hosts


def test_text_that_looks_like_a_reference_stays_text():
    """A server may send NUL bytes and base64: JSON escapes the NUL, so the stored text cannot
    turn into a reference (and a reference cannot be forged by a server)."""
    ev = rich_evidence()
    d = digest(dumps(ev.smtp[0]))
    hostile = dataclasses.replace(ev.smtp[0], greeting=f"{REF}{d}", transcript=(f'"{REF}{d}"',))
    ev = dataclasses.replace(ev, smtp=(hostile, ev.smtp[0]), dkim_selectors=(REF + d,))
    skeleton, new = Splitter().split(ev)
    back = _reader(dict(new)).evidence(skeleton)
    assert back == ev and back.smtp[0].greeting == REF + d and back.dkim_selectors == (REF + d,)


def test_a_missing_or_malformed_reference_is_a_store_error():
    skeleton, new = Splitter().split(rich_evidence())
    with pytest.raises(StoreError, match="not stored"):
        _reader({}).evidence(skeleton)
    bad = skeleton.replace(new[0][0], new[0][0][:DIGEST_CHARS - 2])
    with pytest.raises(StoreError, match="malformed reference"):
        _reader(dict(new)).evidence(bad)


def test_shared_objects_are_found_through_the_type_hints():
    ev = rich_evidence()
    assert SHARED_TYPES == {SmtpProbe, MxHostEvidence}
    assert list(shared_in(ev)) == [*ev.mx.hosts, *ev.smtp]
    assert list(shared_in(DomainEvidence(0, "x", "x.test"))) == []


def test_a_shared_object_met_twice_in_one_domain_is_stored_once():
    ev = rich_evidence()
    twice = dataclasses.replace(ev, smtp=(ev.smtp[0], ev.smtp[0]))
    skeleton, new = Splitter().split(twice)
    assert len(new) == 2 and skeleton.count('"' + REF) == 3
    assert _reader(dict(new)).full(skeleton) == dumps(twice)


def test_compression_with_and_without_a_dictionary():
    ev = rich_evidence()
    text = dumps(ev)
    zd = dictionary([text])
    other = dumps(dataclasses.replace(ev, domain="other.test", position=9))
    plain, with_dict = compress(other, None), compress(other, zd)
    assert not needs_dictionary(plain) and needs_dictionary(with_dict)
    assert len(with_dict) < len(plain) / 3
    assert decompress(plain, None) == other == decompress(with_dict, zd)
    with pytest.raises(StoreError, match="cannot be decompressed"):
        decompress(with_dict, dictionary(["something else entirely"]))
    with pytest.raises(StoreError, match="cannot be decompressed"):
        decompress(zlib.compress(b"x")[:-3] + b"\xff\xff\xff", None)
    surrogate = '{"a":"\udcff"}'
    assert decompress(compress(surrogate, None), None) == surrogate


def test_dictionary_keeps_the_last_32_kib():
    zd = dictionary(["a" * 40000, "tail"])
    assert len(zd) == 32 * 1024 and zd.endswith(b"tail")
