"""The benchmark's synthetic mail world: a procedural DNS server and delaying SMTP servers.

Nothing is stored per domain: answers are computed from the name (``d000042.test`` ->
its MX, SPF, DMARC, DKIM), so a 100,000-domain world starts instantly and costs no memory.
Shape (by domain index modulo 10): 0-5 share provider A's MX pair, 6-7 provider B's pair,
8-9 have their own MX host. Every domain has SPF, DMARC (p=reject, rua) and a DKIM key at
selector ``sel1``. PTR records forward-confirm every MX address.

SMTP servers (straight on the event loop's selector, no asyncio transports or sslproto, lean
so they don't steal the scanner's CPU) delay every reply by ``delay`` seconds: greeting, EHLO,
STARTTLS, MAIL, RSET, QUIT. Roles per port: smtp
(STARTTLS, AUTH only after TLS), submissions (implicit TLS), submission (STARTTLS, MAIL
before TLS answered 530). TLS 1.2+ with lab-CA certificates (ECDSA P-256).

``--throttle N``: provider A's MX pair (the hosts most domains share) behaves like a provider
with a per-client connection limit: a connection arriving while N are open to that host is
greeted ``421 4.7.0 ... too many connections`` (on 465 after the TLS handshake, as Postfix
does) and closed. The stats count, per throttling host, the connections, the refusals and
the most simultaneous connections after its first refusal (``throttle ...`` keys).

Only loopback addresses are ever bound: DNS on 127.0.3.53, MX hosts on 127.20.x.y (providers)
and 127.21.x.y (own hosts). Run inside the bench's network namespace (see run.py) to use the
real ports 53/25/465/587 that trustymail and checkdmarc insist on.

    python bench/world.py --domains 2000 --delay-ms 20 --dir /tmp/w --stats /tmp/w/stats.json
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import resource
import signal
import socket
import ssl
import struct
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

try:
    import hostile                  # run as a script: bench/ is on sys.path
except ImportError:                 # imported as bench.world (tests)
    from bench import hostile

DNS_IP = "127.0.3.53"
ZONE = "test"
PROVIDERS = {"a": ("127.20.0.1", "127.20.0.2"), "b": ("127.20.1.1", "127.20.1.2")}
SOA = "ns.test. hostmaster.test. 1 3600 600 86400 300"
DKIM_SELECTOR = "sel1"
# A real 2048-bit RSA public key (SubjectPublicKeyInfo, base64): parsed by DKIM checkers.
_DKIM_KEY = None


def dkim_key() -> str:
    global _DKIM_KEY
    if _DKIM_KEY is None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
        der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        _DKIM_KEY = base64.b64encode(der).decode()
    return _DKIM_KEY


def domain_name(i: int) -> str:
    return f"d{i:06d}.{ZONE}"


# Domains per ten with their own MX host (default 2: the issue's 20%); the rest split as
# residues 0-5 -> provider A, 6-7 -> provider B. ``--own-per-10`` varies the number of
# distinct MX hosts at a fixed domain count (the linearity runs).
OWN_PER_10 = 2


def is_own(i: int) -> bool:
    return i % 10 >= 10 - OWN_PER_10


def own_ip(i: int) -> str:
    """The own MX host of domain i (only when is_own(i))."""
    k = (i // 10) * OWN_PER_10 + (i % 10 - (10 - OWN_PER_10))
    return f"127.{21 + k // 62500}.{(k // 250) % 250}.{k % 250 + 1}"


def mx_hosts(i: int) -> list[tuple[str, str]]:
    """(host name, IP) of domain i's MX hosts."""
    r = i % 10
    if is_own(i):
        return [(f"mx-{domain_name(i).split('.')[0]}.own.{ZONE}", own_ip(i))]
    if r <= 5:
        return [(f"mx{j + 1}.provider-a.{ZONE}", ip) for j, ip in enumerate(PROVIDERS["a"])]
    return [(f"mx{j + 1}.provider-b.{ZONE}", ip) for j, ip in enumerate(PROVIDERS["b"])]


def smtp_ips(n: int) -> list[tuple[str, str]]:
    """Every MX (host, IP) of an n-domain world: 4 provider hosts + one per self-hosted domain."""
    hosts = {h for i in range(min(n, 10)) for h in mx_hosts(i)}
    hosts |= {h for i in range(n) if is_own(i) for h in mx_hosts(i)}
    return sorted(hosts)


# ---------------------------------------------------------------------------- DNS data
class World:
    """Name -> records, computed. ``answer`` returns (rcode, [(rdtype, texts)], soa?)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.ptr: dict[str, str] = {}     # filled lazily by reverse lookups

    def index(self, label: str) -> int | None:
        if len(label) == 7 and label[0] == "d" and label[1:].isdigit():
            i = int(label[1:])
            return i if i < self.n else None
        return None

    def node(self, name: str) -> dict[str, list[str]] | None:
        """Records at ``name`` (type -> texts); {} for an empty non-terminal; None: NXDOMAIN;
        ``hostile.SILENT``: no answer at all (hostile domains, bench/hostile.py)."""
        labels = name.split(".")
        if labels[-1] != ZONE:
            return None
        if hostile.PER_100:
            found = hostile.node(self.index, name, labels)
            if found is not NotImplemented:
                return found
        if name == ZONE:
            return {"SOA": [SOA], "NS": ["ns.test."]}
        if name == f"ns.{ZONE}":
            return {"A": [DNS_IP]}
        if len(labels) == 3 and labels[1].startswith("provider-"):
            p = labels[1][len("provider-"):]
            if labels[0] == "_spf" and p in PROVIDERS:
                return hostile.provider_spf(name, {
                    "TXT": [f"v=spf1 ip4:{PROVIDERS[p][0]} ip4:{PROVIDERS[p][1]} -all"]})
            if labels[0] in ("mx1", "mx2") and p in PROVIDERS:
                return {"A": [PROVIDERS[p][int(labels[0][2]) - 1]]}
            return None
        if name.startswith("provider-") and len(labels) == 2:
            return {}
        if len(labels) == 3 and labels[1] == "own" and labels[0].startswith("mx-"):
            i = self.index(labels[0][3:])
            return {"A": [own_ip(i)]} if i is not None and is_own(i) else None
        if name == f"own.{ZONE}":
            return {}
        i = self.index(labels[-2])
        if i is None:
            return None
        d = domain_name(i)
        if name == d:
            r = i % 10
            spf = ("v=spf1 mx -all" if is_own(i) else
                   "v=spf1 include:_spf.provider-a.test -all" if r <= 5 else
                   "v=spf1 include:_spf.provider-b.test -all")
            return {"MX": [f"{10 * (j + 1)} {h}." for j, (h, _) in enumerate(mx_hosts(i))],
                    "TXT": [spf], "SOA": [SOA], "NS": ["ns.test."]}
        if name == f"_dmarc.{d}":
            return {"TXT": [f"v=DMARC1; p=reject; rua=mailto:dmarc@{d}"]}
        if name == f"{DKIM_SELECTOR}._domainkey.{d}":
            return {"TXT": [f"v=DKIM1; k=rsa; p={dkim_key()}"]}
        if name == f"_domainkey.{d}":
            return {}
        return None

    def reverse(self, name: str) -> dict[str, list[str]] | None:
        parts = name.split(".")
        if len(parts) != 6 or parts[0:4] == [] or parts[-2:] != ["in-addr", "arpa"]:
            return None
        ip = ".".join(reversed(parts[:4]))
        for p, ips in PROVIDERS.items():
            if ip in ips:
                return {"PTR": [f"mx{ips.index(ip) + 1}.provider-{p}.{ZONE}."]}
        if ip.startswith("127.2") and not ip.startswith("127.20."):
            a, b, c = (int(x) for x in ip.split(".")[1:])
            k = (a - 21) * 62500 + b * 250 + (c - 1)
            i = (k // OWN_PER_10) * 10 + (10 - OWN_PER_10) + k % OWN_PER_10 if OWN_PER_10 else self.n
            if i < self.n:
                return {"PTR": [f"mx-{domain_name(i).split('.')[0]}.own.{ZONE}."]}
        return None


def _txt(text: str) -> str:
    """Zone-file form of a TXT value: split into <=255-byte quoted strings."""
    return " ".join(f'"{text[k:k + 255]}"' for k in range(0, len(text), 255))


# ---------------------------------------------------------------------------- DNS wire fast path
# The dnspython path (from_wire, make_response, rrset.from_text, to_wire) costs ~300 us of CPU
# per query, which on a 2-core bench machine steals the tool's second core. The fast path below
# parses the plain queries every tool sends and writes the same response bytes by hand,
# reproducing dnspython's renderer exactly (name compression included: first occurrence of a
# suffix wins, offsets <= 0x3FFF, case-insensitive match, SRV targets uncompressed). Anything
# it does not recognise returns _SLOW and goes to the dnspython path unchanged.
# tests/perf/test_bench_world.py compares both paths byte for byte.
_SLOW = object()
_SAFE = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"   # never escaped by to_text
_SAFE_DOT = _SAFE + b"."
_FOLD = str.maketrans("0123456789", "#" * 10)
_QUERY_FLAGS = 0x0100 | 0x0020 | 0x0010       # RD, AD, CD: what a plain query may carry
_OPT_RR = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"     # make_response(our_payload=1232)
_TC_OPT_RR = b"\x00\x00\x29\x20\x00\x00\x00\x00\x00\x00\x00"  # make_response() default: 8192
_CLASS_TTL = b"\x00\x01\x00\x00\x01\x2c"       # IN, TTL 300
_SOA_RR_HEAD = b"\x00\x06" + _CLASS_TTL
_TYPE_CODE = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28,
              "SRV": 33}
_type_text: dict[int, str] = {}


def _rdtype_text(code: int) -> str:
    text = _type_text.get(code)
    if text is None:
        text = _type_text[code] = dns.rdatatype.to_text(code)
    return text


def _wire_name(text: str) -> tuple[str, tuple[bytes, ...]] | None:
    """An absolute name of plain labels -> (lower-case key without the final dot, labels)."""
    if text == ".":
        return "", ()
    if not text.endswith(".") or len(text) > 254:
        return None
    labels = tuple(label.encode() for label in text[:-1].split("."))
    for label in labels:
        if not 0 < len(label) < 64 or label.translate(None, _SAFE):
            return None
    return text[:-1].lower(), labels


def _uint(text: str, bits: int) -> int | None:
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value < 1 << bits else None


def _encode_rdata(rdtype: str, text: str) -> tuple | None:
    """One record's rdata as parts: bytes, or (key, labels) for a name to compress; None: slow."""
    if rdtype == "TXT":
        if not text or not (text.isascii() and text.isprintable()) or '"' in text or "\\" in text:
            return None
        raw = text.encode()
        return (b"".join(bytes([len(raw[k:k + 255])]) + raw[k:k + 255]
                         for k in range(0, len(raw), 255)),)
    if rdtype == "A":
        try:
            packed = socket.inet_pton(socket.AF_INET, text)
        except OSError:
            return None
        return (packed,) if socket.inet_ntop(socket.AF_INET, packed) == text else None
    if rdtype == "AAAA":
        try:
            packed = socket.inet_pton(socket.AF_INET6, text)
        except OSError:
            return None
        return (packed,) if socket.inet_ntop(socket.AF_INET6, packed) == text else None
    fields = text.split(" ")
    if rdtype in ("PTR", "NS", "CNAME") and len(fields) == 1:
        name = _wire_name(fields[0])
        return None if name is None else (name,)
    if rdtype == "MX" and len(fields) == 2:
        pref, name = _uint(fields[0], 16), _wire_name(fields[1])
        return None if pref is None or name is None else (struct.pack("!H", pref), name)
    if rdtype == "SRV" and len(fields) == 4:
        ints, name = [_uint(f, 16) for f in fields[:3]], _wire_name(fields[3])
        if None in ints or name is None:
            return None
        target = b"".join(bytes([len(label)]) + label for label in name[1]) + b"\x00"
        return (struct.pack("!HHH", *ints) + target,)     # dnspython never compresses SRV
    if rdtype == "SOA" and len(fields) == 7:
        mname, rname = _wire_name(fields[0]), _wire_name(fields[1])
        ints = [_uint(f, 32) for f in fields[2:]]
        if mname is None or rname is None or None in ints:
            return None
        return (mname, rname, struct.pack("!IIIII", *ints))
    return None


def _put_name(out: bytearray, name: tuple[str, tuple[bytes, ...]], table: dict[str, int]) -> None:
    """dns.name.Name.to_wire with a compression table keyed by lower-case text."""
    key, labels = name
    for label in labels:
        pos = table.get(key)
        if pos is not None:
            out += (0xC000 | pos).to_bytes(2, "big")
            return
        if len(out) <= 0x3FFF:
            table[key] = len(out)
        out.append(len(label))
        out += label
        dot = key.find(".")
        key = key[dot + 1:] if dot >= 0 else ""
    out.append(0)


_SOA_RDATA = _encode_rdata("SOA", SOA)
_SOA_OWNER = {"test.": _wire_name("test."), "in-addr.arpa.": _wire_name("in-addr.arpa.")}


class DnsServer:
    """UDP + TCP on DNS_IP:port; answers from World (fast path by hand, dnspython otherwise)."""

    def __init__(self, world: World, port: int, stats: Counter, delay: float = 0.0) -> None:
        self.world, self.port, self.stats = world, port, stats
        self.delay = delay   # seconds before every answer: a recursive resolver's round trip
        # Encoded rdata per (type, text). No response cache: the fast path costs about what a
        # cache hit did, tools rarely repeat a question (mxaudit: 0.2% hits), and a cache keyed
        # on the lower-cased query echoed the first query's 0x20 case to later ones.
        self._rdata: dict[tuple[str, str], tuple | None] = {}
    async def start(self) -> None:
        # UDP straight on the selector: one wake-up drains every waiting datagram (asyncio's
        # datagram transport reads one per wake-up and costs ~30 us per query around answer())
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        # room for bursts from a tool with hundreds of queries in flight (default ~200 KB)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        sock.bind((DNS_IP, self.port))
        self._udp = sock

        def send(wire: bytes, addr) -> None:
            try:
                sock.sendto(wire, addr)
            except (BlockingIOError, InterruptedError):   # full send buffer: wait for room
                loop.create_task(loop.sock_sendto(sock, wire, addr))
            except OSError:
                pass

        def readable() -> None:
            for _ in range(256):          # then let the TCP and SMTP servers have the loop
                try:
                    data, addr = sock.recvfrom(65535)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError:
                    continue
                wire = self.answer(data, tcp=False)
                if wire:
                    if self.delay:
                        loop.call_later(self.delay, send, wire, addr)
                    else:
                        send(wire, addr)

        loop.add_reader(sock, readable)
        self._tcp_server = await asyncio.start_server(self._tcp, DNS_IP, self.port, backlog=1024)

    async def _tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                (length,) = struct.unpack("!H", await reader.readexactly(2))
                wire = self.answer(await reader.readexactly(length), tcp=True)
                if wire and self.delay:
                    await asyncio.sleep(self.delay)
                if wire:
                    writer.write(struct.pack("!H", len(wire)) + wire)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def answer(self, data: bytes, *, tcp: bool, fast: bool = True) -> bytes | None:
        """Response bytes for one query (None: no answer). ``fast=False``: dnspython only."""
        self.stats["dns_queries"] += 1
        if fast:
            wire = self._fast_answer(data, tcp)
            if wire is not _SLOW:
                return wire
        return self._slow_answer(data, tcp)

    def _slow_answer(self, data: bytes, tcp: bool) -> bytes | None:
        try:
            q = dns.message.from_wire(data)
            if q.question:   # query shapes (digits folded), to see what a tool asks
                shape = "".join("#" if c.isdigit() else c for c in q.question[0].name.to_text().lower())
                self.stats[f"q {dns.rdatatype.to_text(q.question[0].rdtype)} {shape}"] += 1
            return self._build(q, tcp)
        except Exception:
            return None

    def _fast_answer(self, data: bytes, tcp: bool):
        """``_slow_answer``'s bytes for a plain query, built by hand; _SLOW if not plain."""
        size = len(data)
        if size < 17:
            return _SLOW
        flags = (data[2] << 8) | data[3]
        if flags & ~_QUERY_FLAGS or data[4:10] != b"\x00\x01\x00\x00\x00\x00" or data[10]:
            return _SLOW                    # QR/opcode/odd bits, QDCOUNT != 1, AN/NS records
        arcount = data[11]
        pos, labels = 12, []
        while True:                         # the question name: plain labels only
            length = data[pos] if pos < size else 64
            if length == 0:
                break
            if length > 63:
                return _SLOW                # compression pointer, reserved label type, truncated
            labels.append(data[pos + 1:pos + 1 + length])
            pos += 1 + length
        qend = pos + 5
        if not labels or qend - 12 > 259 or data[qend - 2:qend] != b"\x00\x01":
            return _SLOW                    # root, too long (>255 bytes of name), not class IN
        raw = b".".join(labels)
        if raw.translate(None, _SAFE_DOT) or raw.count(b".") != len(labels) - 1:
            return _SLOW                    # a character to_text would escape
        if arcount == 0:
            if qend != size:
                return _SLOW
            payload = -1
        elif (arcount == 1 and size == qend + 11 and data[qend] == 0
              and data[qend + 1:qend + 3] == b"\x00\x29" and data[qend + 9:qend + 11] == b"\x00\x00"):
            payload = (data[qend + 3] << 8) | data[qend + 4]    # plain OPT: no options
        else:
            return _SLOW
        qtype = (data[qend - 4] << 8) | data[qend - 3]
        rdtype = _rdtype_text(qtype)
        name = raw.decode().lower()
        shape = f"q {rdtype} {name.translate(_FOLD)}."   # counted once we know we answer
        try:
            if name.endswith(".in-addr.arpa"):
                node, soa_owner = self.world.reverse(name), "in-addr.arpa."
            elif name == ZONE or name.endswith("." + ZONE):
                node, soa_owner = self.world.node(name), "test."
            else:
                node = soa_owner = None
        except Exception:
            self.stats[shape] += 1
            return None                     # as _slow_answer: the world failed, no answer
        if node is hostile.SILENT:
            self.stats["dns_dropped"] += 1
            return None
        rdatas = ()
        if soa_owner is None:
            rcode = 5                       # REFUSED
        elif node is None:
            rcode = 3                       # NXDOMAIN
        else:
            rcode = 0
            texts = node.get(rdtype)
            if texts is not None:
                if not texts or len(set(texts)) != len(texts):
                    return _SLOW            # empty or duplicate rdata: dnspython's quirks
                rdatas = []
                for text in texts:
                    key = (rdtype, text)
                    parts = self._rdata.get(key, _SLOW)
                    if parts is _SLOW:
                        if len(self._rdata) > 200_000:
                            self._rdata.clear()
                        parts = self._rdata[key] = _encode_rdata(rdtype, text)
                    if parts is None:
                        return _SLOW        # a type or value the fast path cannot encode
                    rdatas.append(parts)
        self.stats[shape] += 1
        head = data[:2] + ((0x8400 | (flags & 0x0100) | rcode).to_bytes(2, "big"))
        opt = _OPT_RR if payload >= 0 else b""
        out = bytearray(head)
        out += b"\x00\x01\x00\x00\x00\x00\x00\x00"   # counts, filled in below
        out += data[12:qend]                          # the question, case as received
        table = None
        if rdatas:
            rr_head = b"\xc0\x0c" + _TYPE_CODE[rdtype].to_bytes(2, "big") + _CLASS_TTL
            for parts in rdatas:
                out += rr_head
                mark = len(out)
                out += b"\x00\x00"
                for part in parts:
                    if part.__class__ is bytes:
                        out += part
                    else:
                        if table is None:
                            table = self._question_table(name)
                        _put_name(out, part, table)
                out[mark:mark + 2] = (len(out) - mark - 2).to_bytes(2, "big")
            out[6:8] = len(rdatas).to_bytes(2, "big")
        elif soa_owner is not None:
            table = self._question_table(name)
            _put_name(out, _SOA_OWNER[soa_owner], table)
            out += _SOA_RR_HEAD
            mark = len(out)
            out += b"\x00\x00"
            _put_name(out, _SOA_RDATA[0], table)
            _put_name(out, _SOA_RDATA[1], table)
            out += _SOA_RDATA[2]
            out[mark:mark + 2] = (len(out) - mark - 2).to_bytes(2, "big")
            out[9] = 1
        if opt:
            out[11] = 1
            out += opt
        limit = 65535 if tcp else (max(512, payload) if payload >= 0 else 512)
        if soa_owner is not None and len(out) > limit:   # too big: the question alone, TC
            tc = data[:2] + ((0x8600 | (flags & 0x0100)).to_bytes(2, "big"))
            return (tc + b"\x00\x01\x00\x00\x00\x00" + (b"\x00\x01" if opt else b"\x00\x00")
                    + data[12:qend] + (_TC_OPT_RR if opt else b""))
        return bytes(out)

    @staticmethod
    def _question_table(name: str) -> dict[str, int]:
        """Compression offsets of the question name's suffixes (the question is at offset 12)."""
        table, pos = {}, 12
        while True:
            table[name] = pos
            dot = name.find(".")
            if dot < 0:
                return table
            pos += dot + 1
            name = name[dot + 1:]

    def _build(self, q: dns.message.Message, tcp: bool) -> bytes | None:
        if q.flags & dns.flags.QR or len(q.question) != 1:
            return None
        question = q.question[0]
        resp = dns.message.make_response(q, our_payload=1232)
        resp.flags |= dns.flags.AA
        resp.flags &= ~dns.flags.RA
        name = question.name.to_text(omit_final_dot=True).lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        if name.endswith(".in-addr.arpa"):
            node, soa_origin = self.world.reverse(name), "in-addr.arpa."
        elif name == ZONE or name.endswith("." + ZONE):
            node, soa_origin = self.world.node(name), "test."
        else:
            resp.set_rcode(dns.rcode.REFUSED)
            return resp.to_wire()
        if node is hostile.SILENT:
            return None
        if node is None:
            resp.set_rcode(dns.rcode.NXDOMAIN)
        elif rdtype in node:
            texts = [_txt(t) if rdtype == "TXT" else t for t in node[rdtype]]
            resp.answer.append(dns.rrset.from_text(question.name, 300, "IN", rdtype, *texts))
        if not resp.answer:
            resp.authority.append(dns.rrset.from_text(soa_origin, 300, "IN", "SOA", SOA))
        limit = 65535 if tcp else (max(512, q.payload) if q.edns >= 0 else 512)
        try:
            return resp.to_wire(max_size=limit)
        except dns.exception.TooBig:
            tc = dns.message.make_response(q)
            tc.flags |= dns.flags.AA | dns.flags.TC
            return tc.to_wire()


# ---------------------------------------------------------------------------- SMTP
@dataclass
class SmtpRole:
    name: str           # smtp | submissions | submission
    port: int


_LINE_LIMIT = 1 << 16      # asyncio.StreamReader's default: a longer line closes the session
_IDLE_TIMEOUT = 30.0       # seconds waiting for a command line before the session is closed
_HANDSHAKE_TIMEOUT = 60.0  # asyncio's TLS handshake and shutdown timeouts
_SHUTDOWN_TIMEOUT = 30.0
_SSL_AGAIN = (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError, InterruptedError)


class SmtpSession:
    """One SMTP connection straight on the selector: a non-blocking socket (an ssl.SSLSocket
    once TLS is up), a reader callback, timers; no transport, protocol or task objects.

    asyncio's transports and its pure-Python TLS layer (sslproto: memory BIOs, a state
    machine, several callbacks per record) cost more than the SMTP dialogue itself; here
    OpenSSL reads and writes the socket directly. What a client sees is what the stream
    version (``await reader.readline()``, ``await asyncio.sleep(delay)``, ``write``) did:
    command lines handled one at a time, in order, each reply sent ``delay`` seconds after
    its line was taken up, the next buffered line taken up once the reply is written; TCP
    NODELAY; TLS from the host's context with asyncio's timeouts (handshake 60 s; on close a
    close_notify, then up to 30 s for the peer's); after a plain EOF the lines already
    received are still answered, then the connection is closed; over TLS an EOF closes it.
    """

    __slots__ = ("host", "role", "loop", "sock", "fd", "tls", "state", "buf", "busy", "eof",
                 "handle", "waiting_since", "idle", "out", "writing", "refused")

    def __init__(self, host: "SmtpHost", sock: socket.socket, role: str) -> None:
        self.host, self.role, self.loop = host, role, host.loop
        self.sock, self.fd = sock, sock.fileno()
        self.tls = False
        self.state = "open"        # handshake | open | shutdown | closed
        self.buf = self.out = b""
        self.busy = True           # a reply is pending or TLS is being set up: read, don't act
        self.eof = self.writing = False
        self.handle = self.idle = None
        self.waiting_since = 0.0
        self.refused = not host.admit()
        self.loop.add_reader(self.fd, self._readable)
        if role == "submissions":
            self._start_tls()
        else:
            self._established()

    # ------------------------------------------------------------ TLS set-up and tear-down
    def _start_tls(self) -> None:
        if self.state == "flush-then-tls":
            self.loop.add_reader(self.fd, self._readable)
        self.sock = self.host.tls.wrap_socket(self.sock, server_side=True,
                                              do_handshake_on_connect=False)
        self.state = "handshake"
        self._timer(_HANDSHAKE_TIMEOUT, self._abort)

    def _handshake(self) -> None:
        if self.state != "handshake":
            return
        try:
            self.sock.do_handshake()
        except ssl.SSLWantReadError:
            return
        except ssl.SSLWantWriteError:
            return self._want_write()
        except (OSError, ValueError):
            return self._abort()
        self._cancel_timer()
        self.state, self.tls = "open", True
        if self.role == "submissions":
            self._established()
        else:
            self.host.stats["tls_sessions"] += 1
            self.busy = False
            self._next()
        self._readable()           # records that came with the client's last flight

    def _established(self) -> None:
        stats = self.host.stats
        stats["smtp_connections"] += 1
        if self.role == "submissions":
            stats["tls_sessions"] += 1
        if self.refused:
            self._later(REFUSAL, "quit")
            return
        self._later(self.host.greeting, None)

    def _close(self) -> None:
        """Plain: FIN once the output is flushed. TLS: close_notify first (as asyncio)."""
        if self.state in ("closed", "shutdown"):
            return
        self._cancel_timer()
        if self.tls and not self.eof:
            self.state = "shutdown"
            self._timer(_SHUTDOWN_TIMEOUT, self._abort)
            self._shutdown()
        elif self.out:
            self.state = "shutdown"            # _writable closes once flushed
        else:
            self._abort()

    def _shutdown(self) -> None:
        if self.out:
            return                             # _writable comes back here
        try:
            self.sock.unwrap()
        except ssl.SSLWantReadError:
            return
        except ssl.SSLWantWriteError:
            return self._want_write()
        except (OSError, ValueError):
            pass
        self._abort()

    def _abort(self) -> None:
        if self.state == "closed":
            return
        self.state = "closed"
        self.host.release()
        self._cancel_timer()
        if self.idle is not None:
            self.idle.cancel()
            self.idle = None
        loop = self.loop
        loop.remove_reader(self.fd)
        if self.writing:
            loop.remove_writer(self.fd)
        try:
            self.sock.close()
        except OSError:
            pass

    # ------------------------------------------------------------ timers
    def _timer(self, after: float, callback) -> None:
        self._cancel_timer()
        self.handle = self.loop.call_later(after, callback)

    def _cancel_timer(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None

    def _idle(self) -> None:
        self.idle = None
        if self.state != "open" or self.busy:
            return
        due = self.waiting_since + _IDLE_TIMEOUT
        if self.loop.time() >= due:
            self._close()
        else:
            self.idle = self.loop.call_at(due, self._idle)

    # ------------------------------------------------------------ the dialogue
    def _later(self, text: str, action: str | None) -> None:
        self.busy = True
        delay = self.host.delay
        if delay:
            self.handle = self.loop.call_later(delay, self._send, text, action)
        else:       # not inline: a long pipelined burst would recurse _send -> _next -> ...
            self.handle = self.loop.call_soon(self._send, text, action)

    def _send(self, text: str, action: str | None) -> None:
        self.handle = None
        if self.state != "open":
            return
        self._write(text.encode())
        if self.state != "open":
            return
        if action is None:
            self.busy = False
            self._next()
        elif action == "quit":
            self._close()
        elif self.out:         # starttls: the 220 must leave in plaintext before the handshake
            self.state = "flush-then-tls"
            self.loop.remove_reader(self.fd)
        else:
            self._start_tls()

    def _next(self) -> None:
        """Take up the next complete line, if any; else wait for one (or close at EOF)."""
        buf = self.buf
        nl = buf.find(b"\n")
        if nl < 0:
            if len(buf) > _LINE_LIMIT:
                return self._close()
            if not self.eof:
                self.waiting_since = self.loop.time()
                if self.idle is None:
                    self.idle = self.loop.call_at(self.waiting_since + _IDLE_TIMEOUT, self._idle)
                return
            if not buf:
                return self._close()
            line, self.buf = buf, b""          # a last line without its newline
        elif nl > _LINE_LIMIT:
            return self._close()
        else:
            line, self.buf = buf[:nl + 1], buf[nl + 1:]
        self._later(*self.host.answer(line, self.role, self.tls))

    # ------------------------------------------------------------ socket events
    def _readable(self) -> None:
        state = self.state
        if state == "handshake":
            return self._handshake()
        if state == "shutdown":
            return self._shutdown() if self.tls and not self.eof else None
        if state != "open":
            return
        sock, got = self.sock, False
        while True:
            try:
                data = sock.recv(262144)
            except _SSL_AGAIN:
                break
            except (OSError, ValueError):
                return self._abort()
            if not data:
                self.eof = True
                if self.tls:               # an SSL transport closes itself on EOF
                    return self._abort()
                self.loop.remove_reader(self.fd)
                break
            self.buf += data
            got = True
            if not self.tls:
                break                      # one read per wake-up, as asyncio's transport
        if (got or self.eof) and not self.busy:
            self._next()

    def _write(self, data: bytes) -> None:
        if self.out:
            self.out += data
            return
        try:
            sent = self.sock.send(data)
        except _SSL_AGAIN:
            sent = 0
        except (OSError, ValueError):
            return self._abort()
        if sent < len(data):
            self.out = data[sent:] if not self.tls else data   # SSL retries the same buffer
            self._want_write()

    def _want_write(self) -> None:
        if not self.writing:
            self.writing = True
            self.loop.add_writer(self.fd, self._writable)

    def _writable(self) -> None:
        if self.state == "handshake" and not self.out:
            self.writing = False
            self.loop.remove_writer(self.fd)
            return self._handshake()
        if self.out:
            data, self.out = self.out, b""
            self.writing = False
            self.loop.remove_writer(self.fd)
            self._write(data)
            if self.out:
                return
        else:
            self.writing = False
            self.loop.remove_writer(self.fd)
        if self.state == "flush-then-tls":
            self._start_tls()
        elif self.state == "shutdown":
            self._shutdown() if self.tls and not self.eof else self._abort()


REFUSAL = "421 4.7.0 bench: too many connections from this client, try again later\r\n"


class SmtpHost:
    """One MX host: three listeners sharing a TLS context (implicit TLS on submissions).
    ``limit``: connections allowed open at once (0: no limit); beyond it, a 421."""

    def __init__(self, hostname: str, ip: str, tls: ssl.SSLContext, delay: float,
                 stats: Counter, limit: int = 0) -> None:
        self.hostname, self.ip, self.tls, self.delay, self.stats = hostname, ip, tls, delay, stats
        self.limit, self.open, self.refusing = limit, 0, False
        self.greeting = f"220 {hostname} ESMTP bench\r\n"
        caps = [hostname, "SIZE 10240000", "8BITMIME", "PIPELINING"]
        self.ehlo = {tls: "".join(f"250-{c}\r\n" for c in caps) + f"250 {last}\r\n"
                     for tls, last in ((False, "STARTTLS"), (True, "AUTH PLAIN LOGIN"))}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.listeners: list[socket.socket] = []

    async def start(self, roles: list[SmtpRole]) -> None:
        self.loop = loop = asyncio.get_running_loop()
        for role in roles:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.ip, role.port))
            sock.listen(256)
            sock.setblocking(False)
            loop.add_reader(sock.fileno(), self._accept, sock, role.name)
            self.listeners.append(sock)

    def _accept(self, listener: socket.socket, role: str) -> None:
        for _ in range(256):        # asyncio's accept loop: up to backlog per wake-up
            try:
                conn, _addr = listener.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError:         # out of descriptors and the like: try on the next wake-up
                return
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            SmtpSession(self, conn, role)

    def admit(self) -> bool:
        """A connection was accepted: whether it is served (within the limit) or refused."""
        self.open += 1
        if not self.limit:
            return True
        key = f"throttle {self.hostname} {self.ip}"
        self.stats[f"{key} connections"] += 1
        if self.refusing:
            peak = f"{key} peak after first refusal"
            self.stats[peak] = max(self.stats[peak], self.open)
        if self.open <= self.limit:
            return True
        self.refusing = True
        self.stats[f"{key} refused"] += 1
        self.stats["throttle_refused"] += 1
        return False

    def release(self) -> None:
        self.open -= 1

    def answer(self, line: bytes, role: str, tls: bool) -> tuple[str, str | None]:
        """(reply, action) for one command line; action: None, "starttls" or "quit".

        Commands match on their first four bytes, any case. EHLO/HELO offer STARTTLS before
        TLS and AUTH after it; STARTTLS once (again: 502); MAIL before TLS on submission: 530.
        """
        verb = line[:4].upper()
        if verb == b"EHLO" or verb == b"HELO":
            return self.ehlo[tls], None
        if verb == b"STAR" and not tls:
            return "220 2.0.0 Ready to start TLS\r\n", "starttls"
        if verb == b"MAIL":
            if role == "submission" and not tls:
                return "530 5.7.0 Must issue a STARTTLS command first\r\n", None
            return "250 2.1.0 Ok\r\n", None
        if verb == b"RSET" or verb == b"NOOP":
            return "250 2.0.0 Ok\r\n", None
        if verb == b"QUIT":
            return "221 2.0.0 Bye\r\n", "quit"
        return "502 5.5.2 Error: command not recognized\r\n", None

    async def stop(self) -> None:
        for sock in self.listeners:
            self.loop.remove_reader(sock.fileno())
            sock.close()
        self.listeners = []


def tls_contexts(directory: Path) -> tuple[str, dict[str, ssl.SSLContext]]:
    """Issue the world's three certificates from a lab CA; returns (CA path, context per group)."""
    from scanner.lab.ca import LabCA

    ca = LabCA(directory / "ca")
    contexts = {}
    for group, names in (("a", [f"mx1.provider-a.{ZONE}", f"mx2.provider-a.{ZONE}"]),
                         ("b", [f"mx1.provider-b.{ZONE}", f"mx2.provider-b.{ZONE}"]),
                         ("own", [f"*.own.{ZONE}"])):
        cert = ca.issue(names, key="ec256", stem=f"bench-{group}")
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cert.cert_path, cert.key_path)
        contexts[group] = ctx
    return str(ca.cert_path), contexts


async def serve(args: argparse.Namespace) -> None:
    stats: Counter = Counter()
    world = World(args.domains)
    if args.smtp:
        dkim_key()
    await DnsServer(world, args.dns_port, stats, args.dns_delay_ms / 1000).start()
    ca_path, contexts = tls_contexts(Path(args.dir))
    roles = [SmtpRole("smtp", args.smtp_port), SmtpRole("submissions", args.submissions_port),
             SmtpRole("submission", args.submission_port)]
    hosts = smtp_ips(args.domains) if args.smtp else []
    for hostname, ip in hosts:
        group = "own" if ".own." in hostname else hostname.split(".")[1][-1]
        limit = args.throttle if group == "a" else 0
        await SmtpHost(hostname, ip, contexts[group], args.delay_ms / 1000, stats,
                       limit).start(roles)
    if hostile.PER_100 and args.smtp:
        for ip in hostile.tarpit_ips(args.domains):
            await hostile.Tarpit(ip, [r.port for r in roles]).start()

    def dump(*_: object) -> None:
        usage = resource.getrusage(resource.RUSAGE_SELF)   # the world's own CPU, to tell
        figures = dict(stats, world_cpu_s=usage.ru_utime + usage.ru_stime)   # if it is the bottleneck
        Path(args.stats).write_text(json.dumps(figures))
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, dump)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print(json.dumps({"ready": True, "ca": ca_path, "smtp_hosts": len(hosts),
                      "dns": f"{DNS_IP}:{args.dns_port}"}), flush=True)
    await stop.wait()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--domains", type=int, default=2000)
    p.add_argument("--delay-ms", type=float, default=20.0)
    p.add_argument("--dns-delay-ms", type=float, default=0.0,
                   help="delay every DNS answer (a recursive resolver's uncached round trip)")
    p.add_argument("--own-per-10", type=int, default=2, choices=range(0, 11),
                   help="domains per ten with their own MX host (default 2)")
    p.add_argument("--dir", required=True)
    p.add_argument("--stats", required=True)
    p.add_argument("--dns-port", type=int, default=53)
    p.add_argument("--smtp-port", type=int, default=25)
    p.add_argument("--submissions-port", type=int, default=465)
    p.add_argument("--submission-port", type=int, default=587)
    p.add_argument("--no-smtp", dest="smtp", action="store_false",
                   help="DNS only (memory runs): MX hosts refuse connections")
    p.add_argument("--throttle", type=int, default=0, metavar="N",
                   help="provider A's MX pair answers 421 beyond N open connections")
    p.add_argument("--hostile-per-100", type=int, default=0,
                   help="hostile domains per hundred (bench/hostile.py; default 0)")
    p.add_argument("--cluster", action="store_true",
                   help="the hostile domains first, in a row (bench/hostile.py)")
    args = p.parse_args(argv)
    global OWN_PER_10
    OWN_PER_10 = args.own_per_10
    hostile.PER_100 = args.hostile_per_100
    hostile.CLUSTER_OF = args.domains if args.cluster else 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(serve(args))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
