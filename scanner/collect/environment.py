"""The scanner's own network, found out once per scan (CHECKS.md, "Scan environment").

The first scan most people run is from a cloud VM, a laptop or a container: many have no
IPv6 route, most cloud providers filter outbound port 25. Without this module each domain
would carry those limits as its own errors. Here they are found once and said once:

- ``env.ipv6``: whether this host has a route to global IPv6, asked of the kernel without
  sending anything (``connect()`` on a UDP socket is a route lookup). An IPv6 address the
  kernel has no route to is not probed: its endpoints are ``skipped`` naming the note.
  ``--ip-version 4|6|both`` states the answer instead (the other family is not probed).
- ``env.port25``: outbound port 25 looks filtered when port-25 connections to
  ``PORT25_EVIDENCE`` different MX addresses time out (or fail as unreachable) while another
  port of the same address answers, and no port-25 connection has ever succeeded; or at once
  when a configured canary (``--port25-canary IP``, an address known to accept port 25)
  does not answer on 25. From then on port 25 is not attempted (the endpoints are ``error``
  naming the note: could not be tested, never a failure), and the domains whose port-25
  connections had already timed out are explained by it too. ``--no-port25`` states it.
- ``env.resolver``: the resolver cannot be used as configured: no answer, or SERVFAIL, for
  the root zone (asked once, beside the scan); or it strips DNSSEC records or does not
  support DNSSEC: the scan's DNSSEC validator says so through ``resolver_strips_dnssec``
  (ScanContext.create wires it), the first time the trust anchor's own DNSKEY RRset comes
  without RRSIG.

Collect only: the notes are facts about this host for the scan's report; the checks read
the note ID an endpoint carries and judge it (scanner/checks/smtp.py).
"""
from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace

from scanner.addresses import is_public_ip
from scanner.bounded import Bounded
from scanner.evidence.dns import DnsOutcome
from scanner.evidence.environment import EnvNote, ScanEnvironment
from scanner.evidence.smtp import Failure, SmtpProbe
from scanner.options import ScanOptions

GLOBAL_V6 = "2001:500:2f::f"   # f.root-servers.net: the route lookup asks for any global address
PORT25 = 25
PORT25_EVIDENCE = 5            # distinct MX addresses whose port 25 is silent while others answer
MAX_TRACKED = 10_000           # addresses remembered while port 25 is undecided
# beyond the resolver check's own lifetime, what the scan's end waits for its answer: the
# check's timers and settle's are due at about the same time, and settle's must not win
SETTLE_GRACE = 1.0
_SILENT = (Failure.TIMEOUT, Failure.UNREACHABLE)


def has_route(ip: str, lookup: Callable[[int, str], None] | None = None) -> bool:
    """Whether the kernel has a route to ``ip``. ``connect()`` on a UDP socket picks the
    route and the source address and sends nothing (RFC 768 has no handshake)."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    try:
        (lookup or _udp_connect)(family, ip)
    except OSError:
        return False
    return True


def _udp_connect(family: int, ip: str) -> None:
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.connect((ip, 9))   # discard port: nothing is sent on a UDP connect


class NetworkEnvironment:
    """One scan's view of its own network: what to skip, and the notes at the end."""

    def __init__(self, options: ScanOptions, *, route: Callable[[str], bool] = has_route) -> None:
        self.options = options
        self._route = route
        self._v6_global: bool | None = None
        self._routes: Bounded = Bounded(MAX_TRACKED)     # ip -> routed
        # port 25: "unknown" until a port-25 connection succeeds ("open") or the evidence
        # says filtered ("filtered"); --no-port25 states it
        self.port25 = "filtered" if options.no_port25 else "unknown"
        self._port25_why = "--no-port25 given" if options.no_port25 else ""
        self._tracked: dict[str, list[bool]] = {}   # ip -> [port 25 silent, another port answered]
        self._evidence: set[str] = set()
        self.port25_attempts = 0                    # connections attempted to port 25
        self._canary: asyncio.Task | None = None
        self._resolver: asyncio.Task | None = None
        self._resolver_due = 0.0                    # loop time the check's question expires
        self._resolver_note: EnvNote | None = None
        self._dnssec_stripped = ""
        self.domains: Counter = Counter()           # note ID -> domains it explains
        self.endpoints: Counter = Counter()         # note ID -> endpoints not probed
        self._silent_domains = 0                    # domains done with a silent port 25, undecided
        # collection in several processes (scanner/run/collector.py): told each port-25
        # decision and each new piece of filter evidence, so the scan decides as one
        self.on_port25: Callable[[str, str], None] | None = None
        self.on_evidence: Callable[[str], None] | None = None

    # ------------------------------------------------------------------ the scan's start and end
    def start(self, ctx, *, resolver: bool = True) -> None:
        """Inside the event loop, at the scan's start: the route lookup, and the resolver
        and canary checks beside the scan (they never hold it up). ``resolver=False``: one
        of several collector processes that leaves the resolver check to the first."""
        if self.options.ip_version == "auto":
            self._v6_global = self._route(GLOBAL_V6)
        if resolver:
            self._resolver = asyncio.ensure_future(self._check_resolver(ctx))
            self._resolver_due = asyncio.get_running_loop().time() + ctx.dns.lifetime
        if self.options.port25_canary and self.port25 == "unknown":
            self._canary = asyncio.ensure_future(self._check_canary())

    async def settle(self) -> None:
        """At the scan's normal end: let the resolver check finish (it started with the
        scan; only a resolver that does not answer keeps it: until the question's lifetime
        from the check's start has passed, and ``SETTLE_GRACE`` more, so a silent resolver
        is reported as such, not as undetermined)."""
        if self._resolver is not None and not self._resolver.done():
            left = self._resolver_due - asyncio.get_running_loop().time()
            try:
                await asyncio.wait_for(asyncio.shield(self._resolver),
                                       max(left, 0.0) + SETTLE_GRACE)
            except (TimeoutError, asyncio.TimeoutError):
                pass

    def stop(self) -> None:
        for task in (self._resolver, self._canary):
            if task is not None and not task.done():
                task.cancel()

    # ------------------------------------------------------------------ what not to probe
    def holds(self, ip: str, port: int) -> tuple[str, str] | None:
        """(note ID, reason) when this host's network keeps ``ip``:``port`` from being
        probed; None to probe it."""
        v6 = ":" in ip
        stated = self.options.ip_version
        if stated == "4" and v6:
            return "env.ipv6", "not probed: IPv6 left out (--ip-version 4)"
        if stated == "6" and not v6:
            return "env.ipv6", "not probed: IPv4 left out (--ip-version 6)"
        if v6 and stated == "auto" and not self._routed(ip):
            return "env.ipv6", "not probed: this host has no route to IPv6 addresses like this one"
        if port == PORT25 and self.port25 == "filtered":
            return "env.port25", f"not probed: outbound port 25 looks filtered from this host ({self._port25_why})"
        return None

    def _routed(self, ip: str) -> bool:
        known = self._routes.get(ip)
        if known is None:
            known = self._routes.keep(ip, self._v6_global if is_public_ip(ip) and
                                      self._v6_global is False else self._route(ip))
        return known

    def not_probed(self, host: str, ip: str, port: int, role: str, note: str,
                   reason: str) -> SmtpProbe:
        """The evidence of an endpoint this host's network kept from being probed."""
        self.endpoints[note] += 1
        return SmtpProbe(host=host, ip=ip, port=port, role=role, environment=note, error=reason,
                         transcript=(f"*: {reason} ({note})",))

    async def port25_ready(self) -> None:
        """A port-25 probe waits for the canary's answer (one connect timeout at most)."""
        if self._canary is not None and not self._canary.done():
            await asyncio.shield(self._canary)

    # ------------------------------------------------------------------ learning from probes
    def observe(self, p: SmtpProbe) -> None:
        """A finished probe: evidence for or against a port-25 filter on this host."""
        if p.port == PORT25:
            self.port25_attempts += p.connections
        if self.port25 != "unknown" or not p.connections:
            return
        if p.port == PORT25 and p.connected:
            self._decide("open", "")
            return
        if len(self._tracked) >= MAX_TRACKED and p.ip not in self._tracked:
            return
        seen = self._tracked.setdefault(p.ip, [False, False])
        if p.port == PORT25:
            seen[0] = seen[0] or _silent(p)
        elif p.connected:
            seen[1] = True
        if seen[0] and seen[1]:
            if self.on_evidence is not None and p.ip not in self._evidence:
                self.on_evidence(p.ip)
            self.add_evidence(p.ip)

    def add_evidence(self, ip: str) -> None:
        """``ip``'s port 25 is silent while another of its ports answered (seen here, or by
        another collector process of the scan)."""
        if self.port25 != "unknown":
            return
        self._evidence.add(ip)
        if len(self._evidence) >= PORT25_EVIDENCE:
            self._decide("filtered", f"port-25 connections to {len(self._evidence)} different "
                          "MX addresses timed out while their other ports answered")

    def _decide(self, state: str, why: str) -> None:
        if self.port25 != "unknown":
            return
        self.port25, self._port25_why = state, why
        self._tracked.clear()
        if state == "filtered":
            self.domains["env.port25"] += self._silent_domains
        if self.on_port25 is not None:
            self.on_port25(state, why)

    def decide(self, state: str, why: str) -> None:
        """The port-25 verdict reached elsewhere in the scan (another collector process)."""
        self._decide(state, why)

    # ------------------------------------------------------------------ several processes
    def state(self) -> dict:
        """What this process learnt, for ``absorb`` in the process that reports the scan."""
        return {"port25": self.port25, "why": self._port25_why,
                "attempts": self.port25_attempts, "v6": self._v6_global,
                "domains": dict(self.domains), "endpoints": dict(self.endpoints),
                "resolver": None if self._resolver_note is None else
                [self._resolver_note.status, self._resolver_note.message],
                "dnssec": self._dnssec_stripped}

    def absorb(self, state: dict) -> None:
        """Add one collector process's ``state``: counts summed, a filtered port 25 over an
        open one (each process learns the verdict as soon as any decides), the first
        resolver and IPv6 answers."""
        self.port25_attempts += state["attempts"]
        self.domains.update(state["domains"])
        self.endpoints.update(state["endpoints"])
        if state["port25"] != "unknown" and (self.port25 == "unknown"
                                             or state["port25"] == "filtered" != self.port25):
            self.port25, self._port25_why = state["port25"], state["why"]
        if self._v6_global is None:
            self._v6_global = state["v6"]
        if self._resolver_note is None and state["resolver"] is not None:
            self._resolver_note = EnvNote("env.resolver", *state["resolver"])
        self._dnssec_stripped = self._dnssec_stripped or state["dnssec"]

    def explain(self, probes: Iterable[SmtpProbe]) -> tuple[SmtpProbe, ...]:
        """One domain's probes at its end: port-25 connections that timed out are put down
        to a filter found meanwhile, and the domain is counted under the notes it carries."""
        out = []
        filtered = self.port25 == "filtered"
        silent = False
        for p in probes:
            if p.port == PORT25 and not p.environment and _silent(p):
                silent = True
                if filtered:
                    p = replace(p, environment="env.port25")
            out.append(p)
        for note in {p.environment for p in out if p.environment}:
            self.domains[note] += 1
        if silent and not filtered:
            self._silent_domains += 1
        return tuple(out)

    # ------------------------------------------------------------------ checks beside the scan
    async def _check_resolver(self, ctx) -> None:
        try:
            result = await ctx.dns.query(".", "NS")
        except Exception as exc:   # a scan-level note must never take the scan down
            self._resolver_note = EnvNote("env.resolver", "skipped",
                                          f"not determined ({type(exc).__name__}: {exc})"[:200])
            return
        if result.outcome in (DnsOutcome.TIMEOUT, DnsOutcome.ERROR):
            self._resolver_note = EnvNote("env.resolver", "warn",
                                          f"the resolver does not answer ({result.outcome}: "
                                          f"{result.detail or 'no answer for the root zone'})")
        elif result.outcome is DnsOutcome.SERVFAIL:
            self._resolver_note = EnvNote("env.resolver", "warn",
                                          "the resolver answers SERVFAIL for the root zone: it "
                                          "cannot resolve (broken upstream or failed validation)")
        elif result.outcome is DnsOutcome.REFUSED:
            self._resolver_note = EnvNote("env.resolver", "pass",
                                          "the nameserver refuses the root zone: not a recursive "
                                          "resolver, fine for the zones it serves")
        else:
            self._resolver_note = EnvNote("env.resolver", "pass", "the resolver answers for the root zone")

    def resolver_strips_dnssec(self, detail: str) -> None:
        """Hook for DNSSEC validation: the resolver strips DNSSEC records (RRSIG, DNSKEY, DS),
        so validation cannot work through it (DNSSEC checks are then indeterminate)."""
        self._dnssec_stripped = self._dnssec_stripped or detail[:200]

    async def _check_canary(self) -> None:
        from scanner.collect.smtp_session import abort, open_stream, ProbeError
        ip = self.options.port25_canary
        writer = None
        try:
            _, writer = await open_stream(ip, PORT25, self.options.timeout)
        except ProbeError as err:
            if err.failure in _SILENT:
                self._decide("filtered", f"the canary {ip} did not answer on port 25: {err.detail}")
            return
        finally:
            abort(writer)
        self._decide("open", "")

    # ------------------------------------------------------------------ the notes
    def summary(self, throttled=()) -> ScanEnvironment:
        return ScanEnvironment((self._ipv6_note(), self._port25_note(), self._resolver_note_now()),
                               tuple(throttled))

    def _ipv6_note(self) -> EnvNote:
        stated = self.options.ip_version
        n, d = self.endpoints["env.ipv6"], self.domains["env.ipv6"]
        if stated != "auto":
            left = {"4": "IPv6 addresses not probed", "6": "IPv4 addresses not probed",
                    "both": "IPv4 and IPv6 probed without checking for a route"}[stated]
            return EnvNote("env.ipv6", "info", f"stated by --ip-version {stated}: {left}", d, n)
        if self._v6_global is False or n:
            why = ("this host has no route to global IPv6" if self._v6_global is False else
                   "this host has no route to some IPv6 addresses")
            return EnvNote("env.ipv6", "warn", f"{why}: {n} IPv6 endpoint(s) of {d} domain(s) not "
                           "probed (skipped; those domains are judged on their IPv4 addresses)", d, n)
        if self._v6_global is None:
            return EnvNote("env.ipv6", "skipped", "not determined")
        return EnvNote("env.ipv6", "pass", "this host has a route to global IPv6")

    def _port25_note(self) -> EnvNote:
        d, n = self.domains["env.port25"], self.endpoints["env.port25"]
        if self.options.no_port25:
            return EnvNote("env.port25", "info", f"stated by --no-port25: port 25 not probed "
                           f"({n} endpoint(s) of {d} domain(s) left as could not be tested)", d, n)
        if self.port25 == "filtered":
            return EnvNote("env.port25", "warn",
                           f"outbound port 25 looks filtered from this host: {self._port25_why}; "
                           f"port 25 was then no longer attempted ({self.port25_attempts} "
                           f"connection(s) attempted in all); {d} domain(s) affected, their "
                           "port-25 checks could not be tested (error, not scored)", d, n)
        if self.port25 == "open":
            return EnvNote("env.port25", "pass", "outbound port 25 works from this host")
        return EnvNote("env.port25", "skipped", "not determined (no port-25 connection succeeded "
                       "or gave evidence of a filter)")

    def _resolver_note_now(self) -> EnvNote:
        if self._dnssec_stripped:
            found = self._dnssec_stripped
            if not found.startswith("the resolver"):
                found = f"the resolver strips DNSSEC records: {found}"
            return EnvNote("env.resolver", "warn", f"{found}; DNSSEC cannot be validated "
                           "through it (DNSSEC checks are indeterminate: error, not scored)")
        return self._resolver_note or EnvNote("env.resolver", "skipped", "not determined")


def _silent(p: SmtpProbe) -> bool:
    """A connection that never got an answer from the peer: timed out or unreachable."""
    return bool(p.connections) and not p.connected and p.failure in _SILENT
