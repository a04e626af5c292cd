"""How results are kept in the store: shared evidence split out by digest and spliced back,
text compressed against per-scan dictionaries; every evidence of the judge-identity fixture
(81 varied domains) comes back byte for byte."""
from __future__ import annotations

import dataclasses
import json
import zlib
from typing import Any

import msgspec
import pytest

from scanner.errors import StoreError
from scanner.evidence import DomainEvidence, MxHostEvidence, SmtpProbe
from scanner.serde import dumps, from_jsonable, loads
from scanner.store_codec import (_SKELETON, DIGEST_CHARS, REF, SHARED_TYPES, SharedObjects,
                                 Splitter, _mirrored, _skeleton_by_text, _Unreadable, compress,
                                 decompress, dictionary, digest, needs_dictionary, ref_text,
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


def test_the_splitter_remembers_a_bounded_number_of_shared_objects():
    """The scan process's splitter sees every distinct probe of the list (one a domain with
    its own MX host), each alive in the scan's probe cache: what it remembers of them stays
    bounded; one forgotten is emitted again, the same (digest, text)."""
    ev = rich_evidence()
    splitter, probes, first = Splitter(), [], None
    for i in range(20_000):
        probe = dataclasses.replace(ev.smtp[0], host=f"mx{i}.example")
        probes.append(probe)         # alive, as in the scan's probe cache
        _, new = splitter.split(dataclasses.replace(ev, position=i, smtp=(probe,)))
        first = first or [n for n in new if '"mx0.example"' in n[1]]
    assert len(splitter._emitted) <= 1 << 14 and len(splitter._digests) <= 1 << 14
    _, again = splitter.split(dataclasses.replace(ev, position=0, smtp=(probes[0],)))
    assert [n for n in again if '"mx0.example"' in n[1]] == first


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


# ------------------------------------------- the skeleton written and read in one go
def _shared_by_text(evs: list[DomainEvidence]) -> list[DomainEvidence]:
    """The evidences with one object per shared text, as the scan process holds them."""
    seen: dict[str, object] = {}

    def one(obj):
        return seen.setdefault(dumps(obj), obj)
    return [dataclasses.replace(
        ev, smtp=tuple(one(p) for p in ev.smtp),
        mx=ev.mx and dataclasses.replace(ev.mx, hosts=tuple(one(h) for h in ev.mx.hosts)))
        for ev in evs]


def test_the_skeleton_is_the_text_the_slow_way_gives():
    """Encoded with the references in place of the shared objects, the skeleton is the very
    text that replacing each shared object's text in the whole evidence text gives."""
    evs = _shared_by_text(_evidences()) + [rich_evidence()]
    ev = rich_evidence()
    evs.append(dataclasses.replace(ev, smtp=(ev.smtp[0], ev.smtp[0])))   # one object twice
    splitter = Splitter()
    for ev in evs:
        skeleton, _ = splitter.split(ev)
        assert skeleton == _skeleton_by_text(ev)
        again, new = splitter.split(ev)                 # nothing encoded or emitted again
        assert again == skeleton and new == []


def test_a_lone_surrogate_takes_the_slow_way_to_the_same_text():
    ev = rich_evidence()
    odd = dataclasses.replace(ev, error="\udcff", smtp=(
        dataclasses.replace(ev.smtp[0], greeting="220 \ud800"),))
    skeleton, new = Splitter().split(odd)
    assert skeleton == _skeleton_by_text(odd) and REF in skeleton
    reader = _reader(dict(new))
    assert reader.full(skeleton) == dumps(odd) and reader.evidence(skeleton) == odd


def test_evidence_is_read_from_its_skeleton_with_one_object_per_shared_text():
    """Every fixture evidence read from its skeleton is the value the whole text decodes to
    (with and without filling in defaults), and the domains on the same MX hosts hold the
    same probe objects."""
    assert _SKELETON is not None              # the skeleton decoder exists for DomainEvidence
    splitter, stored = Splitter(), {}
    skeletons = []
    for ev in _shared_by_text(_evidences()):
        skeleton, new = splitter.split(ev)
        stored.update(new)
        skeletons.append(skeleton)
    for fill in (True, False):
        reader, decoded = _reader(stored), []
        for skeleton, case in zip(skeletons, CASES):
            direct = reader._from_skeleton(skeleton, fill) if REF in skeleton else None
            ev = reader.evidence(skeleton, complete=fill)
            assert ev == loads(DomainEvidence, case["evidence"], complete=fill)
            assert dumps(ev) == case["evidence"]
            if direct is not None:
                assert direct == ev
            decoded.append(ev)
        probes = [p for ev in decoded for p in ev.smtp]
        assert len({id(p) for p in probes}) == len({dumps(p) for p in probes}) < len(probes)


def test_a_reference_where_no_shared_object_belongs_is_read_the_slow_way():
    """A reference-like string the skeleton decoder does not meet where a shared object
    belongs (here: a hand-made row with a reference in a text field) makes it read the whole
    text instead, which gives whatever that text says."""
    skeleton, new = Splitter().split(rich_evidence())
    d = new[0][0]
    assert skeleton.endswith(',"error":""}')
    odd = skeleton[:-len('"error":""}')] + f'"error":{ref_text(d)}}}'
    reader = _reader(dict(new))
    with pytest.raises(_Unreadable):
        reader._from_skeleton(odd, True)
    assert reader.evidence(odd) == loads(DomainEvidence, reader.full(odd))
    assert reader.evidence(odd).error == json.loads(new[0][1])   # the object's text spliced in


def test_defaults_are_filled_in_old_skeletons_and_old_shared_objects():
    """A row stored by an older version lacks the fields added since, in the skeleton and in
    the shared objects: both get their defaults, as the whole text would."""
    ev = rich_evidence()
    skeleton, new = Splitter().split(ev)
    old_skeleton = skeleton.replace('"error":"",', "").replace('"hosts_capped":0,', "")
    old_shared = {d: t.replace('"transcript":', '"zz_unknown":1,"transcript":')
                  .replace('"starttls_injection":""', '"zz":0').replace('"addresses_capped":0', '"x":0')
                  for d, t in new}
    reader = _reader(old_shared)
    got = reader.evidence(old_skeleton)
    assert got == ev and dumps(got) == dumps(ev)
    assert "error" in vars(got) and "hosts_capped" in vars(got.mx)
    assert "starttls_injection" in vars(got.smtp[0])
    assert "addresses_capped" in vars(got.mx.hosts[0])


@dataclasses.dataclass(frozen=True)
class _Toy:
    """Shapes the evidence classes do not use (yet): each may hold a shared object."""
    name: str
    one: SmtpProbe | None = None
    pair: tuple[int, SmtpProbe] | None = None
    by_port: dict[str, SmtpProbe] = dataclasses.field(default_factory=dict)
    anything: Any = None


@dataclasses.dataclass(frozen=True)
class _Either:
    either: SmtpProbe | MxHostEvidence | None = None


def _read_toy(skeleton: str, reader: SharedObjects) -> _Toy:
    mirror, walk = _mirrored(_Toy)
    value = msgspec.json.decode(skeleton.replace(REF, "\\u0000"), type=mirror)
    return walk(value, lambda tp, ref: reader.object(tp, ref[1:]))


def test_skeletons_of_other_shapes_are_read_into_the_same_value():
    ev = rich_evidence()
    probe = ev.smtp[0]
    other = dataclasses.replace(probe, port=587, role="submission")
    toy = _Toy("t", probe, (1, other), {"25": probe, "587": other})
    skeleton, new = Splitter().split(toy)
    assert skeleton.count(REF) == 4 and len(new) == 2
    back = _read_toy(skeleton, _reader(dict(new)))
    assert back == toy and dumps(back) == dumps(toy)
    assert back.one is back.by_port["25"] and back.pair[1] is back.by_port["587"]
    # in an Any field a reference stays a string: not met where a shared object belongs
    odd = _Toy("t", anything=probe)
    skeleton, new = Splitter().split(odd)
    assert _read_toy(skeleton, _reader(dict(new))).anything == REF + new[0][0]
    with pytest.raises(_Unreadable, match="union"):
        _mirrored(_Either)
