"""Scan-level facts about the scanner's own network (CHECKS.md, "Scan environment").

What this host cannot reach (no IPv6 route, outbound port 25 filtered, an unusable resolver)
is said once per scan, as a note with an ID and a status, and never blamed on the domains:
their endpoints carry the note's ID (``SmtpProbe.environment``) and end `skipped` or `error`,
which the score leaves out. The MX hosts that throttled the scan (transient refusals, then a
per-IP backoff) are listed here too, with what they cost.

Plain data, stored with the scan (scanner/store.py) and shown by the reports; the collect
stage (scanner/collect/environment.py, scanner/collect/limiter.py) fills it in.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

ENV_IDS = ("env.ipv6", "env.port25", "env.resolver")
# pass: checked, usable; warn: this host's network prevented part of the scan; info: the
# operator stated it (--ip-version, --no-port25); skipped: not determined (nothing needed it)
NOTE_STATUSES = ("pass", "warn", "info", "skipped")
_RANK = {"skipped": 0, "pass": 1, "info": 2, "warn": 3}


@dataclass(frozen=True)
class EnvNote:
    id: str              # one of ENV_IDS
    status: str          # one of NOTE_STATUSES
    message: str         # one line: what was found and what it means for the scan
    domains: int = 0     # domains with an endpoint it kept from being probed (or explained)
    endpoints: int = 0   # SMTP endpoints (host, IP, port) it kept from being probed


@dataclass(frozen=True)
class ThrottledIp:
    ip: str
    hosts: tuple[str, ...]   # the MX host names seen on it
    refusals: int            # transient refusals it answered (4yz greetings, 421s)
    waited: float            # seconds connections to it spent waiting in its backoff
    reply: str = ""          # its first refusal, quoted


@dataclass(frozen=True)
class ScanEnvironment:
    notes: tuple[EnvNote, ...] = ()
    throttled: tuple[ThrottledIp, ...] = ()

    def note(self, note_id: str) -> EnvNote | None:
        return next((n for n in self.notes if n.id == note_id), None)

    def warnings(self) -> tuple[EnvNote, ...]:
        return tuple(n for n in self.notes if n.status == "warn")

    def merged(self, other: "ScanEnvironment") -> "ScanEnvironment":
        """Two parts of one scan (Dask shards) as one: per note the worse status (its
        message) with the counts added; throttled IPs joined by address."""
        notes = {n.id: n for n in self.notes}
        for n in other.notes:
            mine = notes.get(n.id)
            if mine is None:
                notes[n.id] = n
                continue
            top = n if _RANK.get(n.status, 0) > _RANK.get(mine.status, 0) else mine
            notes[n.id] = replace(top, domains=mine.domains + n.domains,
                                  endpoints=mine.endpoints + n.endpoints)
        ips = {t.ip: t for t in self.throttled}
        for t in other.throttled:
            mine = ips.get(t.ip)
            ips[t.ip] = t if mine is None else replace(
                mine, hosts=tuple(sorted(set(mine.hosts) | set(t.hosts))),
                refusals=mine.refusals + t.refusals, waited=round(mine.waited + t.waited, 1))
        order = {i: k for k, i in enumerate(ENV_IDS)}
        return ScanEnvironment(tuple(sorted(notes.values(), key=lambda n: order.get(n.id, 99))),
                               tuple(sorted(ips.values(), key=lambda t: (-t.waited, t.ip))))
