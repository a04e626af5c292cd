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
whole value. Reading splices the texts back (``SharedObjects``), which gives exactly the text
``serde.dumps`` wrote for the whole evidence, then decodes it as usual: sharing is invisible
to everything above the store. Which fields may hold these types is read from the type hints,
so evidence classes may grow fields freely; content addressing keeps sharing correct whatever
they hold (objects that differ are simply stored separately).

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
import typing
import weakref
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

from scanner.errors import StoreError
from scanner.evidence import DomainEvidence, MxHostEvidence, SmtpProbe
from scanner.serde import dumps, loads

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


class ByIdentity:
    """A value remembered per live object, by identity: ``id(obj)`` with a weak reference
    that drops the entry when the object dies (so an id cannot be reused under it). At most
    ``limit`` entries (beyond, it starts again empty). Objects without weak references are
    not remembered."""

    def __init__(self, limit: int = 1 << 17) -> None:
        self.limit = limit
        self._entries: dict[int, tuple[weakref.ref, Any]] = {}

    def get(self, obj: Any) -> Any:
        hit = self._entries.get(id(obj))
        return hit[1] if hit is not None and hit[0]() is obj else None

    def put(self, obj: Any, value: Any) -> None:
        entries, key = self._entries, id(obj)
        if len(entries) >= self.limit:
            entries.clear()

        def gone(ref: weakref.ref) -> None:
            entry = entries.get(key)
            if entry is not None and entry[0] is ref:
                del entries[key]
        try:
            entries[key] = (weakref.ref(obj, gone), value)
        except TypeError:     # a class without weak references
            pass


class Splitter:
    """Writes evidence as its skeleton plus the shared objects not handed out before.

    ``split(ev)`` -> (skeleton text, [(digest, text), ...] of shared objects this splitter
    has not emitted yet). A shared object met again by identity (the scan process's probes
    are one object per endpoint) is not hashed again. What was emitted is remembered by
    digest, up to ``limit`` digests (beyond, the oldest are forgotten and emitted again if
    met: the receiver stores a shared object idempotently)."""

    def __init__(self, limit: int = 1 << 17) -> None:
        self.limit = limit
        self._digests = ByIdentity(limit)     # object -> digest (its text is re-encoded:
        #                                       cheaper than holding every probe's text)
        self._emitted: OrderedDict[str, None] = OrderedDict()

    def split(self, ev: DomainEvidence) -> tuple[str, list[tuple[str, str]]]:
        skeleton = dumps(ev)
        new: list[tuple[str, str]] = []
        texts: dict[str, str] = {}
        for obj in shared_in(ev):
            text = dumps(obj)
            d = self._digests.get(obj)
            if d is None:
                d = digest(text)
                self._digests.put(obj, d)
            texts[text] = d
            if d not in self._emitted:
                new.append((d, text))
                self._emitted[d] = None
                if len(self._emitted) > self.limit:
                    self._emitted.popitem(last=False)
        # the longest first: a shared object inside another one stays in the outer's text
        for text in sorted(texts, key=len, reverse=True):
            skeleton = skeleton.replace(text, ref_text(texts[text]))
        return skeleton, new

    def forget(self, digests: list[str]) -> None:
        """These were not stored after all (the transaction failed): emit them again."""
        for d in digests:
            self._emitted.pop(d, None)


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

    def __call__(self, text: str) -> bytes:
        c = self._primed.copy()
        return c.compress(text.encode("utf-8", "surrogatepass")) + c.flush()


def compress(text: str, zdict: bytes | None) -> bytes:
    return Compressor(zdict)(text)


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


def dictionary(texts: list[str]) -> bytes:
    """A preset dictionary from sample texts: their concatenation, its last 32 KiB."""
    return "".join(texts).encode("utf-8", "surrogatepass")[-DICT_MAX:]


# ---------------------------------------------------------------------------- reading
class SharedObjects:
    """One scan's shared evidence texts while its rows are decoded, in a bounded LRU
    (``limit`` texts): each fetched and decompressed once for all the domains on a
    provider's MX hosts. ``fetch(digest)`` reads a shared object's text from the store
    (None: absent); ``pending`` holds texts received but not yet committed (the report
    worker's batch)."""

    def __init__(self, fetch: Callable[[str], str | None], limit: int = 4096) -> None:
        self.fetch, self.limit = fetch, limit
        self.pending: dict[str, str] = {}
        self._texts: OrderedDict[str, str] = OrderedDict()

    def text(self, d: str) -> str:
        text = self.pending.get(d)
        if text is not None:
            return text
        text = self._texts.get(d)
        if text is not None:
            self._texts.move_to_end(d)
            return text
        text = self.fetch(d)
        if text is None:
            raise StoreError(f"a stored result refers to shared evidence {d} that is not stored")
        self._texts[d] = text
        if len(self._texts) > self.limit:
            self._texts.popitem(last=False)
        return text

    def full(self, skeleton: str) -> str:
        """The evidence text ``serde.dumps`` wrote, from its skeleton."""
        if REF not in skeleton:
            return skeleton                        # nothing shared (or a row from before v4)
        text = _REF_RE.sub(lambda m: self.text(m.group(1)), skeleton)
        if REF in text:
            i = text.index(REF)
            raise StoreError(f"a stored result holds a malformed reference {text[i:i + 40]!r}")
        return text

    def evidence(self, skeleton: str, *, complete: bool = True) -> DomainEvidence:
        """A domain's evidence from its (decompressed) skeleton text (``complete``: see
        ``serde.loads``)."""
        return loads(DomainEvidence, self.full(skeleton), complete=complete)


_REF_RE = re.compile('"' + REF + "([A-Za-z0-9_-]{%d})\"" % DIGEST_CHARS)
