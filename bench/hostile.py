"""Hostile domains for the bench world (bench/isolation.py): a share of the world's domains
that attack the scanner, beside the ordinary ones, so a run shows whether innocent domains
are harmed. Index i is hostile when ``(i * 37) % 100 < per_100``; its kind is ``KINDS[(i * 37 // 100) % 4]`` (the kinds in equal shares):

- ``tarpit``: its MX host accepts connections on every port and never says a word;
- ``fan-out``: ten MX hosts of two addresses each, all tarpits (60 SMTP endpoints);
- ``slow-dns``: its MX and SPF records are answered, everything else under it is silent,
  and its SPF record leads pyspf (evaluating the five addresses of its MX host, where
  connections are refused) to names (macros, includes, an mx of ten exchanges) that are
  never answered;
- ``huge``: ~60 KB TXT answers (over TCP) at the domain, at _dmarc and at every DKIM
  selector (24 of them: ~1.4 MB of record text for one domain).

Tarpits listen on 127.30.0.1-20; silent names live under ``silent.test``. With
``CLUSTER_OF`` (``--cluster``) the hostile domains come first, in a row (an attacker's
domains sorted together in a list), rather than spread out.
"""
from __future__ import annotations

import asyncio
import socket

SILENT = object()          # the DNS server sends no answer at all
KINDS = ("tarpit", "fan-out", "slow-dns", "huge")
TARPITS = [f"127.30.0.{k}" for k in range(1, 21)]


def fan_ip(i: int, j: int) -> str:
    """Address j (0-19) of fan-out domain i's MX hosts: 127.32.0.0/11, a tarpit too."""
    k = (i % 2000) * 20 + j
    return f"127.{32 + k // 62500}.{(k // 250) % 250}.{k % 250 + 1}"


def tarpit_ips(n: int) -> list[str]:
    """Every tarpit address of an n-domain world."""
    ips = list(TARPITS)
    for i in range(n):
        if kind(i) == "fan-out":
            ips += [fan_ip(i, j) for j in range(20)]
    return ips
HUGE_TXT = ["x" * 1990 + f"{k:02d}" for k in range(29)]       # ~58 KB in one RRset
_FAN = [f"fan{j}.hostile.test" for j in range(10)]

PER_100 = 0
CLUSTER_OF = 0      # > 0: the hostile domains are the first PER_100% of this many, in a row


def kind(i: int) -> str | None:
    if CLUSTER_OF:
        return KINDS[i % 4] if i < PER_100 * CLUSTER_OF // 100 else None
    if PER_100 and (i * 37) % 100 < PER_100:
        return KINDS[(i * 37 // 100) % 4]
    return None


def provider_spf(name: str, records: dict) -> dict:
    """In a hostile world, provider B's SPF include ends with an ``exists`` macro, as large
    providers' do: pyspf must ask per connecting address, beyond what the walk cached, so
    innocent domains' SPF evaluation needs lookups of its own (and, before issue 14, a
    thread of the pool hostile domains filled)."""
    if PER_100 and name == "_spf.provider-b.test":
        return {"TXT": [records["TXT"][0].replace(" -all", " exists:%{i}._x.provider-b.test -all")]}
    return records


def node(index, name: str, labels: list[str]):
    """Records at ``name`` when a hostile rule owns it (``index(label)`` reads a domain
    label); ``NotImplemented`` when the ordinary world does."""
    if name.endswith(".silent.test") or name == "silent.test":
        return SILENT
    if name.endswith("._x.provider-b.test"):
        return {"A": ["127.0.0.2"]}
    if name.endswith(".hostile.test"):
        first = labels[0]
        if first == "tarpit":
            return {"A": [TARPITS[0]]}
        if first.startswith("fan") and first[3:].isdigit() and int(first[3:]) < 10:
            j = int(first[3:])
            k = index(labels[1]) if len(labels) == 4 else None    # fan3.d000042.hostile.test
            if k is None:
                return {"A": [TARPITS[2 * j], TARPITS[2 * j + 1]]}
            return {"A": [fan_ip(k, 2 * j), fan_ip(k, 2 * j + 1)]}
        if first == "fan":
            return {"MX": [f"{j} {h}." for j, h in enumerate(_FAN)]}
        if first == "refusing":           # nothing listens there: connections are refused
            return {"A": [f"127.31.0.{k}" for k in range(1, 6)]}
        return None
    if len(labels) < 2:
        return NotImplemented
    i = index(labels[-2])
    what = None if i is None else kind(i)
    if what is None:
        return NotImplemented
    own = len(labels) == 2
    if what == "tarpit":
        return ({"MX": ["10 tarpit.hostile.test."], "TXT": ["v=spf1 mx -all"]} if own
                else NotImplemented)
    if what == "fan-out":        # twenty addresses of its own: the per-IP limit does not help
        return ({"MX": [f"{j} fan{j}.{labels[0]}.hostile.test." for j in range(10)],
                 "TXT": ["v=spf1 mx -all"]} if own else NotImplemented)
    if what == "slow-dns":
        if not own:
            return SILENT
        return {"MX": ["10 refusing.hostile.test."],
                "TXT": ["v=spf1 a:%{i}.silent.test exists:%{i}.e.silent.test "
                        "mx:fan.hostile.test include:inc.silent.test -all"]}
    # huge
    if own:
        return {"MX": ["10 mx1.provider-a.test."], "TXT": ["v=spf1 -all"] + HUGE_TXT}
    if labels[0] == "_dmarc" or (len(labels) == 4 and labels[1] == "_domainkey"):
        return {"TXT": HUGE_TXT}
    return NotImplemented


class Tarpit:
    """Accepts on the three SMTP ports of an address and never speaks; reads and drops what
    the client sends, closes when the client does."""

    def __init__(self, ip: str, ports: list[int]) -> None:
        self.ip, self.ports = ip, ports
        self.held: set[socket.socket] = set()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for port in self.ports:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.ip, port))
            sock.listen(256)
            sock.setblocking(False)
            loop.add_reader(sock.fileno(), self._accept, loop, sock)

    def _accept(self, loop, listener: socket.socket) -> None:
        for _ in range(64):
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError, OSError):
                return
            conn.setblocking(False)
            self.held.add(conn)
            loop.add_reader(conn.fileno(), self._readable, loop, conn)

    def _readable(self, loop, conn: socket.socket) -> None:
        try:
            data = conn.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(conn.fileno())
            self.held.discard(conn)
            conn.close()
