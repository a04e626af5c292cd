"""Hostile domains for the bench world (bench/isolation.py): a share of the world's domains
that attack the scanner, beside the ordinary ones, so a run shows whether innocent domains
are harmed. Index i is hostile when ``(i * 37) % 100 < per_100``; its kind is ``KINDS[(i * 37 // 100) % 4]`` (the kinds in equal shares):

- ``tarpit``: its MX host accepts connections on every port and never says a word;
- ``fan-out``: ten MX hosts of two addresses each, all tarpits (60 SMTP endpoints);
- ``slow-dns``: its MX and SPF records are answered, everything else under it is silent,
  and its SPF record leads pyspf to names (macros, includes, an mx of ten exchanges) that
  are never answered;
- ``huge``: ~60 KB TXT answers (over TCP) at the domain, at _dmarc and at every DKIM
  selector (24 of them: ~1.4 MB of record text for one domain).

Tarpits listen on 127.30.0.1-20; silent names live under ``silent.test``.
"""
from __future__ import annotations

import asyncio
import socket

SILENT = object()          # the DNS server sends no answer at all
KINDS = ("tarpit", "fan-out", "slow-dns", "huge")
TARPITS = [f"127.30.0.{k}" for k in range(1, 21)]
HUGE_TXT = ["x" * 1990 + f"{k:02d}" for k in range(29)]       # ~58 KB in one RRset
_FAN = [f"fan{j}.hostile.test" for j in range(10)]

PER_100 = 0


def kind(i: int) -> str | None:
    if PER_100 and (i * 37) % 100 < PER_100:
        return KINDS[(i * 37 // 100) % 4]
    return None


def node(index, name: str, labels: list[str]):
    """Records at ``name`` when a hostile rule owns it (``index(label)`` reads a domain
    label); ``NotImplemented`` when the ordinary world does."""
    if name.endswith(".silent.test") or name == "silent.test":
        return SILENT
    if name.endswith(".hostile.test"):
        first = labels[0]
        if first == "tarpit":
            return {"A": [TARPITS[0]]}
        if first.startswith("fan") and first[3:].isdigit() and int(first[3:]) < 10:
            j = int(first[3:])
            return {"A": [TARPITS[2 * j], TARPITS[2 * j + 1]]}
        if first == "fan":
            return {"MX": [f"{j} {h}." for j, h in enumerate(_FAN)]}
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
    if what == "fan-out":
        return ({"MX": [f"{j} {h}." for j, h in enumerate(_FAN)], "TXT": ["v=spf1 mx -all"]}
                if own else NotImplemented)
    if what == "slow-dns":
        if not own:
            return SILENT
        return {"MX": ["10 mx.silent.test."],
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
