"""How a result is kept in the history database: evidence shared by many domains stored once
per scan, and every stored text compressed (scanner/store.py does the SQL).

Why: a 2,000-domain bench scan added 35.9 KB per domain to the store, most of it repetition.
The SMTP probe of a provider's MX endpoint was stored again with every domain that uses it
(1,236 of those 2,000 domains use the same two hosts), and each domain's findings repeat the
same messages. A nightly scan of 100,000 domains added 3.6 GB.

**Shared evidence.** Instances of ``SHARED_TYPES`` are evidence of a probe whose result does
not depend on which domain asked: one (host, IP, port) SMTP session, one MX host with its
addresses and reverse DNS. The collect stage shares them by identity within a scan; here
they are content-addressed, so the scan process, the report worker and a Dask shard agree
without talking: a shared object's JSON text is stored once per scan under its digest, and in
a domain's evidence text each occurrence of that text is replaced by the JSON string
``"\\x00<digest>"`` (``Splitter``). serde never writes a raw control character (JSON escapes
them), so a raw NUL cannot be mistaken for text a server sent, and a JSON object's text
cannot occur inside a JSON string (its quotes would be escaped there): every occurrence is a
whole value. Splicing the texts back (``SharedObjects.full``) gives exactly the text
``serde.dumps`` wrote for the whole evidence: sharing is invisible to everything above the
store. Which fields may hold these types is read from the type hints, so evidence classes
may grow fields freely; content addressing keeps sharing correct whatever they hold (objects
that differ are simply stored separately).

**In one go.** Neither side goes through the whole text when it need not (on the bench, 80%
of the domains use six probes of the same two providers; the skeleton is a third of the
whole text): the skeleton is encoded with the references standing in the value where the
shared objects were (``Splitter.split``), and decoded into mirror dataclasses whose
references are then exchanged for one decoded object per shared text, which all the domains
referring to it hold (``SharedObjects.evidence``). What these do not handle (a lone
surrogate, a malformed row) takes the whole-text way, to the same text and value.

**Compression.** zlib (standard library), with a preset dictionary per scan and column: the
texts of one typical domain of the scan (valid, scanned, with SMTP evidence), so every other
row is compressed against what it most likely repeats. A stored value is the zlib stream
itself; its header says whether it needs the dictionary and which (zlib checks the Adler-32
of the dictionary it is given). Rows written before this format are JSON text and are read as
such: the column type tells them apart (TEXT vs BLOB).
"""
from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import re
import types
import typing
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import msgspec

from scanner.bounded import Lru, WeakById
from scanner.errors import StoreError
from scanner.evidence import DomainEvidence, MxHostEvidence, SmtpProbe
from scanner.serde import complete, dumps, encode, loads

SHARED_TYPES: frozenset[type] = frozenset({SmtpProbe, MxHostEvidence})
REF = "\x00"                 # first character of a reference string
DIGEST_CHARS = 22            # 128-bit BLAKE2b, URL-safe base64 without padding
KINDS = ("evidence", "findings", "verdict", "shared")
# zlib level 3 with memLevel 8: against a dictionary, level 6 made a bench domain's rows 20%
# smaller (1.0 vs 1.2 KB) for twice the instructions (callgrind: 1.67 vs 0.94 M a domain)
LEVEL, MEM_LEVEL = 3, 8
DICT_MAX = 32 * 1024         # zlib uses at most the last 32 KiB of a preset dictionary


def digest(text: str) -> str:
    """The content address of a shared object's JSON text."""
    raw = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    return base64.urlsafe_b64encode(raw)[:DIGEST_CHARS].decode("ascii")


def ref_text(d: str) -> str:
    """The JSON text standing for a shared object in a domain's evidence."""
    return f'"{REF}{d}"'


class Splitter:
    """Writes evidence as its skeleton plus the shared objects not handed out before.

    ``split(ev)`` -> (skeleton text, [(digest, text), ...] of shared objects this splitter
    has not emitted yet). A shared object met again by identity (the scan process's probes
    are one object per endpoint) is neither encoded nor hashed again. What was emitted is remembered by digest, up to ``limit`` digests (beyond, the oldest
    are forgotten and emitted again if met: the receiver stores a shared object
    idempotently). Each object remembered costs ~0.8 KB (its digest, the weak reference
    and its callback): 2**14 of them ~14 MB. A list has about as many shared objects as
    probes of MX hosts of its own (0.8 a domain on the bench), so a bound above the list's
    size was no bound: 2**17 grew ~0.7 KB a domain up to ~110 MB; only the hot objects (a
    provider's hosts) are met again, and re-emitting one now and then is cheap."""

    def __init__(self, limit: int = 1 << 14) -> None:
        self.limit = limit
        self._digests = WeakById(limit)     # object -> digest (its text is encoded again
        #                                       when needed: cheaper than holding them all)
        self._emitted: Lru = Lru(limit)        # in the order emitted (never refreshed)

    def split(self, ev: DomainEvidence) -> tuple[str, list[tuple[str, str]]]:
        """The skeleton is encoded in one go, the shared objects standing in the value
        given to msgspec as their references (``msgspec.Raw``, written as it is): the
        same text as ``_skeleton_by_text`` (a test compares), without encoding the shared
        objects again or searching the whole text for each of them (on the bench, split
        took 3.6% of the scan process's CPU that way). What msgspec cannot encode (a lone
        surrogate: ``dumps`` falls back to the json module) takes that slower way."""
        new: list[tuple[str, str]] = []
        raws: dict[int, msgspec.Raw] = {}       # id(shared object in ev) -> its reference

        def ref(obj: Any) -> msgspec.Raw:
            raw = raws.get(id(obj))
            if raw is not None:
                return raw
            d, text = self._digests.get(obj), None
            if d is None:
                text = dumps(obj)
                d = digest(text)
                self._digests.put(obj, d)
            if d not in self._emitted:
                new.append((d, dumps(obj) if text is None else text))
                self._emitted.keep(d, None)
            raw = raws[id(obj)] = msgspec.Raw(ref_text(d).encode("ascii"))
            return raw
        try:
            return encode(_with_refs(ev, ref)).decode("utf-8"), new
        except (TypeError, ValueError, UnicodeError, AttributeError, msgspec.EncodeError):
            for obj in shared_in(ev):       # (the ones the walk had not reached)
                ref(obj)
            return _skeleton_by_text(ev), new

    def forget(self, digests: list[str]) -> None:
        """These were not stored after all (the transaction failed): emit them again."""
        for d in digests:
            self._emitted.pop(d, None)


def _with_refs(obj: Any, ref: Callable[[Any], msgspec.Raw]) -> Any:
    """``obj`` with each shared object in it replaced by ``ref(shared object)``: the
    dataclasses on the way copied (their other fields the same objects), the rest as it
    is. Walks the fields ``shared_in`` walks, in the same order."""
    cls = obj.__class__
    if cls in SHARED_TYPES:
        return ref(obj)
    if cls is tuple or cls is list:
        return [_with_refs(v, ref) for v in obj]
    if cls is dict:
        return {k: _with_refs(v, ref) for k, v in obj.items()}
    names = _HOLDERS.get(cls)
    if names is None:
        names = _HOLDERS[cls] = _holders(cls) if dataclasses.is_dataclass(cls) else ()
    if not names:
        return obj
    copy = object.__new__(cls)
    attrs = copy.__dict__      # (AttributeError with __slots__: the caller's fallback)
    attrs.update(obj.__dict__)
    for name in names:
        if name in attrs:      # (a field left unset stays unset: msgspec leaves it out)
            attrs[name] = _with_refs(attrs[name], ref)
    return copy


_HOLDERS: dict[type, tuple[str, ...]] = {}     # class -> _holders(class), () if no dataclass


def _skeleton_by_text(ev: DomainEvidence) -> str:
    """The skeleton the slow way: the whole evidence encoded, then each shared object's
    text replaced by its reference (the longest first: a shared object inside another one
    stays in the outer one's text)."""
    skeleton = dumps(ev)
    texts = {dumps(obj): None for obj in shared_in(ev)}
    for text in sorted(texts, key=len, reverse=True):
        skeleton = skeleton.replace(text, ref_text(digest(text)))
    return skeleton


def shared_in(obj: Any) -> Iterator[Any]:
    """The instances of ``SHARED_TYPES`` in ``obj`` (outermost ones; not looked into), found
    through the fields whose type hints may hold one."""
    cls = obj.__class__
    if cls in SHARED_TYPES:
        yield obj
    elif cls is tuple or cls is list:
        for v in obj:
            yield from shared_in(v)
    elif cls is dict:
        for v in obj.values():
            yield from shared_in(v)
    elif dataclasses.is_dataclass(cls):
        for name in _holders(cls):
            yield from shared_in(getattr(obj, name))


@functools.cache
def _holders(cls: type) -> tuple[str, ...]:
    """The fields of dataclass ``cls`` whose type may hold a shared object."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:   # unresolvable hints: look into every field
        return tuple(f.name for f in dataclasses.fields(cls))
    return tuple(f.name for f in dataclasses.fields(cls) if _may_hold(hints.get(f.name, Any)))


@functools.cache
def _may_hold(tp: Any) -> bool:
    if tp is Any or tp in SHARED_TYPES:
        return True
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if tp in _visiting:          # a class that holds itself: its other fields decide
            return False
        _visiting.add(tp)
        try:
            return any(_may_hold(t) for t in _field_types(tp))
        finally:
            _visiting.discard(tp)
    return any(_may_hold(a) for a in typing.get_args(tp))


_visiting: set[type] = set()


def _field_types(cls: type) -> tuple:
    try:
        hints = typing.get_type_hints(cls)
    except Exception:
        return (Any,)
    return tuple(hints.get(f.name, Any) for f in dataclasses.fields(cls))


# ------------------------------------------------------------------------ compression
class Compressor:
    """Compresses texts against one preset dictionary (or none). Priming a zlib compressor
    with a dictionary hashes all of it, so that is done once and the primed state copied
    for each text."""

    def __init__(self, zdict: bytes | None) -> None:
        self.zdict = zdict
        self._primed = zlib.compressobj(LEVEL, zlib.DEFLATED, 15, MEM_LEVEL,
                                        zlib.Z_DEFAULT_STRATEGY, *([zdict] if zdict else []))

    def __call__(self, text: str | bytes) -> bytes:
        c = self._primed.copy()
        return c.compress(utf8(text)) + c.flush()


def compress(text: str | bytes, zdict: bytes | None) -> bytes:
    return Compressor(zdict)(text)


def utf8(text: str | bytes) -> bytes:
    """A text as stored: UTF-8, a lone surrogate passed through. Bytes are taken as they
    are: the report worker stores the skeleton it read from the pipe, and findings come
    from msgspec as UTF-8 (``serde.dumps_utf8``), without a round trip through str."""
    return text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")


def needs_dictionary(blob: bytes) -> bool:
    """The zlib header's FDICT flag (RFC 1950 2.2)."""
    return len(blob) >= 2 and bool(blob[1] & 0x20)


def decompress(blob: bytes, zdict: bytes | None) -> str:
    try:
        d = zlib.decompressobj(15, zdict) if zdict else zlib.decompressobj(15)
        data = d.decompress(blob) + d.flush()
    except zlib.error as exc:
        raise StoreError(f"a stored row cannot be decompressed ({exc})") from None
    return data.decode("utf-8", "surrogatepass")


def dictionary(texts: list[str | bytes]) -> bytes:
    """A preset dictionary from sample texts: their concatenation, its last 32 KiB."""
    return b"".join(map(utf8, texts))[-DICT_MAX:]


# ---------------------------------------------------------------------------- reading
class SharedObjects:
    """One scan's shared evidence while its rows are decoded: each shared object's text
    fetched and decompressed once, and decoded once into one object that every domain
    referring to it holds (they are frozen dataclasses: nothing changes them), in bounded
    LRUs (``limit`` texts, ``objects`` objects, ~6 KB each on the bench: a provider's MX
    hosts stay, a domain's own ones pass). ``fetch(digest)`` reads a shared object's text from the store (None:
    absent); ``pending`` holds texts received but not yet committed (the report worker's
    batch)."""

    def __init__(self, fetch: Callable[[str], str | None], limit: int = 4096,
                 objects: int = 256) -> None:
        self.fetch, self.limit = fetch, limit
        self.pending: dict[str, str] = {}
        self._texts: Lru = Lru(limit)
        self._objects: Lru = Lru(objects)

    def text(self, d: str) -> str:
        text = self.pending.get(d)
        if text is not None:
            return text
        text = self._texts.hit(d)
        if text is not None:
            return text
        text = self.fetch(d)
        if text is None:
            raise StoreError(f"a stored result refers to shared evidence {d} that is not stored")
        return self._texts.keep(d, text)

    def object(self, tp: type, d: str) -> Any:
        """The shared object of type ``tp`` stored under digest ``d`` (defaults filled in:
        ``serde.complete``)."""
        obj = self._objects.hit(d)
        if obj is not None and obj.__class__ is tp:
            return obj
        return self._objects.keep(d, loads(tp, self.text(d)))

    def full(self, skeleton: str) -> str:
        """The evidence text ``serde.dumps`` wrote, from its skeleton."""
        if REF not in skeleton:
            return skeleton                        # nothing shared (or a row from before v4)
        text = _REF_RE.sub(lambda m: self.text(m.group(1)), skeleton)
        if REF in text:
            i = text.index(REF)
            raise StoreError(f"a stored result holds a malformed reference {text[i:i + 40]!r}")
        return text

    def evidence(self, skeleton: str | bytes, *, complete: bool = True) -> DomainEvidence:
        """A domain's evidence from its (decompressed) skeleton text, or its UTF-8
        (``complete``: see ``serde.loads``): the skeleton decoded as it is, with the shared
        objects put in place of their references (``_from_skeleton``); what that cannot
        read (a lone surrogate, a malformed or missing reference...) is spliced back into
        the whole text and decoded as such, which gives the same value or the error."""
        if _SKELETON is not None and _RAW_REF[type(skeleton)] in skeleton:
            try:
                return self._from_skeleton(skeleton, complete)
            except (_Unreadable, StoreError, UnicodeError, msgspec.ValidationError,
                    msgspec.DecodeError):
                pass
        if isinstance(skeleton, bytes):
            skeleton = skeleton.decode("utf-8", "surrogatepass")
        return loads(DomainEvidence, self.full(skeleton), complete=complete)

    def _from_skeleton(self, skeleton: str | bytes, fill: bool) -> DomainEvidence:
        """Why: the whole text is three times the skeleton on the bench (24.6 vs 8.6 KB a
        domain, six SMTP probes and two MX hosts of the same two providers in most), so
        decoding it made the same probe objects again for every domain, and the garbage
        collector walked them all. Decoded as a skeleton (``_mirrored``), a reference is
        just a string, which ``resolve`` exchanges for the shared object. msgspec takes no
        raw NUL, so each is written as JSON's escape first; then every one must be met as
        a reference where a shared object belongs, or the text is read the slow way (a
        reference-like string elsewhere is a server's text, whose NUL JSON had escaped:
        that is why the raw ones are counted)."""
        walk = _SKELETON[1]
        kind = type(skeleton)
        escaped = skeleton.replace(_RAW_REF[kind], _ESCAPED_NUL[kind])
        refs = (len(escaped) - len(skeleton)) // 5     # (every raw NUL: 5 characters more)
        value = _skeleton_decoder().decode(escaped)
        if fill:
            complete(value)        # (the shared objects are filled in when decoded)
        met = 0

        def resolve(tp: type, ref: str) -> Any:
            nonlocal met
            if len(ref) != 1 + DIGEST_CHARS or ref[0] != REF:
                raise _Unreadable(ref)
            met += 1
            return self.object(tp, ref[1:])
        ev = walk(value, resolve)
        if met != refs:
            raise _Unreadable(f"{refs} references, {met} where shared objects belong")
        return ev


_REF_RE = re.compile('"' + REF + "([A-Za-z0-9_-]{%d})\"" % DIGEST_CHARS)
_RAW_REF = {str: REF, bytes: REF.encode()}
_ESCAPED_NUL = {str: "\\u0000", bytes: b"\\u0000"}     # JSON's NUL


class _Unreadable(Exception):
    """A skeleton (or a type) that ``SharedObjects._from_skeleton`` does not read: the
    evidence is read from its whole text instead."""


def _mirrored(tp: Any) -> tuple[Any, Callable[[Any, Callable], Any]]:
    """(the type a skeleton holds where a value of type ``tp`` is, ``walk``), where
    ``walk(value, resolve)`` turns what msgspec decoded for that type into the ``tp``
    value, each reference (a string where a shared object belongs) exchanged for
    ``resolve(shared type, reference)``. A dataclass that may hold a shared object gets a
    mirror dataclass: the same fields and defaults, retyped this way. Raises _Unreadable
    for a shape this does not describe (a union of two such types, a ``__post_init__``)."""
    got = _MIRRORS.get(tp)
    if got is None:
        got = _MIRRORS[tp] = _mirror(tp)
    return got


_MIRRORS: dict[Any, tuple[Any, Callable]] = {}
_mirroring: set[type] = set()
_NONE = type(None)


def _same(value: Any, resolve: Callable) -> Any:
    return value


def _mirror(tp: Any) -> tuple[Any, Callable[[Any, Callable], Any]]:
    if tp in SHARED_TYPES:
        return str, lambda value, resolve: resolve(tp, value)
    if tp is Any or not _may_hold(tp):
        return tp, _same          # (a reference found in an Any field: counted as unmet)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _mirror_class(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not _NONE]
        if len(rest) != 1:
            raise _Unreadable(f"{tp}: a union of several types")
        inner, walk = _mirrored(rest[0])
        return (typing.Optional[inner],
                lambda value, resolve: None if value is None else walk(value, resolve))
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        inner, walk = _mirrored(args[0])
        return (tuple[inner, ...],
                lambda value, resolve: tuple([walk(v, resolve) for v in value]))
    if origin is tuple and args:
        inner, walks = zip(*map(_mirrored, args))
        return (tuple[inner],
                lambda value, resolve: tuple([w(v, resolve) for w, v in zip(walks, value)]))
    if origin is dict and len(args) == 2:
        inner, walk = _mirrored(args[1])
        return (dict[args[0], inner],
                lambda value, resolve: {k: walk(v, resolve) for k, v in value.items()})
    raise _Unreadable(f"{tp}: not a shape skeletons are decoded into")


def _mirror_class(cls: type) -> tuple[type, Callable[[Any, Callable], Any]]:
    if cls in _mirroring or hasattr(cls, "__post_init__"):
        raise _Unreadable(f"{cls.__name__}: holds itself, or has a __post_init__")
    _mirroring.add(cls)
    try:
        hints = typing.get_type_hints(cls)
        holders = set(_holders(cls))
        specs, walks = [], []
        for f in dataclasses.fields(cls):
            if not f.init:
                raise _Unreadable(f"{cls.__name__}.{f.name}: not an __init__ field")
            tp = hints.get(f.name, Any)
            if f.name in holders:
                tp, walk = _mirrored(tp)
                if walk is not _same:
                    walks.append((f.name, walk))
            specs.append((f.name, tp, dataclasses.field(default=f.default,
                                                        default_factory=f.default_factory)))
    finally:
        _mirroring.discard(cls)
    mirror = dataclasses.make_dataclass(f"{cls.__name__}Skeleton", specs, frozen=True)
    mirror.__module__ = __name__

    def walk(value: Any, resolve: Callable) -> Any:
        """The ``cls`` instance with the mirror's attributes (the ones it has: an unset
        field stays unset, as msgspec leaves it), its holders walked."""
        obj = object.__new__(cls)
        attrs = obj.__dict__
        attrs.update(value.__dict__)
        for name, inner in walks:
            if name in attrs:
                attrs[name] = inner(attrs[name], resolve)
        return obj
    return mirror, walk


@functools.cache
def _skeleton_decoder() -> msgspec.json.Decoder:
    return msgspec.json.Decoder(_SKELETON[0])


def _evidence_mirror() -> tuple[type, Callable] | None:
    try:
        return _mirrored(DomainEvidence)
    except (_Unreadable, NameError):    # then every skeleton is read the slow way
        return None


_SKELETON = _evidence_mirror()
