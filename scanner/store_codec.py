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
without talking: a shared object's JSON text is stored once per scan under its digest, and a
domain's evidence holds the JSON string ``"\\x00<digest>"`` in its place (``Splitter``).
serde never writes a raw control character (JSON escapes them), so a raw NUL cannot be
mistaken for text a server sent; ``json.loads(strict=False)`` reads it, and ``serde``'s
decoders hand it to a resolver (``SharedObjects``), which decodes each shared object once
and gives every domain the same object. Which fields hold these types is read from the type
hints, so evidence classes may grow fields freely; content addressing keeps sharing correct
whatever they hold (objects that differ are simply stored separately).

**Compression.** zlib (standard library), with a preset dictionary per scan and column: the
texts of one typical domain of the scan (valid, scanned, with SMTP evidence), so every other
row is compressed against what it most likely repeats. A stored value is the zlib stream
itself; its header says whether it needs the dictionary and which (zlib checks the Adler-32
of the dictionary it is given). Rows written before this format are JSON text and are read as
such: the column type tells them apart (TEXT vs BLOB).
"""
from __future__ import annotations

import base64
import hashlib
import json
import weakref
import zlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from scanner.errors import StoreError
from scanner.evidence import DomainEvidence, MxHostEvidence, SmtpProbe
from scanner.serde import dumps, dumps_split, from_jsonable

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
    are one object per endpoint) is neither encoded nor hashed again. What was emitted is
    remembered by digest, up to ``limit`` digests (beyond, the oldest are forgotten and
    emitted again if met: the receiver stores a shared object idempotently)."""

    def __init__(self, limit: int = 1 << 17) -> None:
        self.limit = limit
        self._digests = ByIdentity(limit)
        self._emitted: OrderedDict[str, None] = OrderedDict()
        self._new: list[tuple[str, str]] = []

    def split(self, ev: DomainEvidence) -> tuple[str, list[tuple[str, str]]]:
        self._new = []
        skeleton = dumps_split(ev, SHARED_TYPES, self._intern)
        new, self._new = self._new, []
        return skeleton, new

    def forget(self, digests: list[str]) -> None:
        """These were not stored after all (the transaction failed): emit them again."""
        for d in digests:
            self._emitted.pop(d, None)

    def _intern(self, obj: Any) -> str:
        d = self._digests.get(obj)
        text = None
        if d is None:
            text = dumps(obj)
            d = digest(text)
            self._digests.put(obj, d)
        if d not in self._emitted:
            self._new.append((d, dumps(obj) if text is None else text))
            self._emitted[d] = None
            if len(self._emitted) > self.limit:
                self._emitted.popitem(last=False)
        return ref_text(d)


class SharedTexts:
    """``dumps`` of evidence whose shared objects are met again and again (the decoded
    results of one scan share them; so does the scan process): each shared object's JSON
    text is written once and reused while the object lives. ``full(ev) == dumps(ev)``."""

    def __init__(self, limit: int = 1 << 14) -> None:
        self._texts = ByIdentity(limit)

    def full(self, ev: DomainEvidence) -> str:
        return dumps_split(ev, SHARED_TYPES, self._text)

    def _text(self, obj: Any) -> str:
        text = self._texts.get(obj)
        if text is None:
            text = dumps(obj)
            self._texts.put(obj, text)
        return text


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
    """One scan's shared objects while its rows are decoded: each decoded once and kept in a
    bounded LRU (``limit`` objects), so every domain on a provider's MX hosts gets the same
    objects. ``fetch(digest)`` reads a shared object's text from the store (None: absent);
    ``pending`` holds texts received but not yet committed (the report worker's batch)."""

    def __init__(self, fetch: Callable[[str], str | None], limit: int = 4096) -> None:
        self.fetch, self.limit = fetch, limit
        self.pending: dict[str, str] = {}
        self._objects: OrderedDict[tuple[type, str], Any] = OrderedDict()

    def text(self, d: str) -> str:
        text = self.pending.get(d)
        if text is None:
            text = self.fetch(d)
        if text is None:
            raise StoreError(f"a stored result refers to shared evidence {d} that is not stored")
        return text

    def resolve(self, cls: type, ref: str) -> Any:
        """serde's resolver: the object a reference string stands for."""
        if len(ref) != DIGEST_CHARS + 1 or ref[0] != REF:
            raise StoreError(f"a stored result holds a malformed reference {ref[:40]!r}")
        key = (cls, ref[1:])
        obj = self._objects.get(key)
        if obj is not None:
            self._objects.move_to_end(key)
            return obj
        obj = from_jsonable(cls, _loads(self.text(ref[1:])))
        self._objects[key] = obj
        if len(self._objects) > self.limit:
            self._objects.popitem(last=False)
        return obj

    def evidence(self, skeleton: str) -> DomainEvidence:
        """A domain's evidence from its (decompressed) skeleton text."""
        return from_jsonable(DomainEvidence, _loads(skeleton), self.resolve)


_loads = json.JSONDecoder(strict=False).decode   # references hold a raw NUL
