"""An authoritative DNS server for the loopback lab (UDP and TCP, asyncio, dnspython).

The scanner must only ever talk to its configured nameservers, so lab tests point it at this
server (``--nameserver 127.0.0.1:PORT``) and every domain of a test world lives here. The
server is deliberately small but honest about the protocol details the scanner depends on:

* AA answers; CNAME chains followed inside served zones (bounded: a loop returns what it has);
* NXDOMAIN vs NOERROR/NODATA with the zone SOA in the authority section; empty
  non-terminals are NODATA; wildcards (``*.zone``) are synthesised;
* names outside every zone get REFUSED (we are not a resolver);
* EDNS payload honoured over UDP, TC set on oversize replies so clients retry over TCP;
  TCP uses two-byte length framing, several (also pipelined) queries per connection;
* per-name fault injection (SERVFAIL, REFUSED, silence, delay) for error-path tests;
* garbage is ignored: nothing a client sends may take the server down;
* DNSSEC (RFC 4035 3.1) for zones signed by scanner/lab/signing.py: with the DO bit, every
  RRset comes with its RRSIGs and every denial or wildcard expansion with its NSEC/NSEC3
  proof (scanner/lab/dns_proofs.py); a DS question is answered from the parent zone when
  both sides are served here (RFC 4035 3.1.4.1: parent and child on the same server), and
  a name below a delegation to a zone not served here gets a referral.

Zones may be changed from any thread while the server runs (a lock guards them), because
tests build worlds from the pytest thread while the server lives on the lab loop thread.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import socket
import struct
import threading
from collections.abc import Sequence

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zone

from scanner.lab import dns_proofs

__all__ = ["LabDnsServer", "BEHAVIOURS"]

log = logging.getLogger(__name__)

BEHAVIOURS = ("normal", "servfail", "refused", "drop", "delay", "servfail_without_cd")
# "servfail_without_cd": SERVFAIL unless the query has the CD bit, as a validating resolver
# answers for data it judges bogus (RFC 4035 3.2.2)
# How the server treats the DO bit (``dnssec_mode``): "full" answers with DNSSEC records and
# echoes DO (RFC 3225 3); "strip" echoes DO but removes RRSIG/NSEC/NSEC3 (a middlebox that
# mangles answers); "none" ignores DO (an old or non-DNSSEC resolver).
DNSSEC_MODES = ("full", "strip", "none")
_DNSSEC_RECORDS = (dns.rdatatype.RRSIG, dns.rdatatype.NSEC, dns.rdatatype.NSEC3)
MAX_CNAME_HOPS = 16
_OUR_PAYLOAD = 1232  # the DNS-flag-day value; what we advertise, not what we honour
_DEFAULT_SOA = "ns.{o} hostmaster.{o} 1 3600 600 86400 300"


def _key(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower() or "."


class LabDnsServer:
    """Authoritative server for the lab's zones; UDP and TCP on the same port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.query_counts: collections.Counter = collections.Counter()          # without DO
        self.signed_query_counts: collections.Counter = collections.Counter()   # with DO
        self.dnssec_mode = "full"
        self._zones: dict[dns.name.Name, dns.zone.Zone] = {}
        self._behaviours: dict[str, tuple[str, float]] = {}
        self._lock = threading.RLock()
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    # ----------------------------------------------------------------- zone data
    @property
    def lock(self) -> threading.RLock:
        """Held while zones are read or changed (scanner/lab/signing.py signs under it)."""
        return self._lock

    @property
    def zones(self) -> dict[dns.name.Name, dns.zone.Zone]:
        """The served zones by origin (the live dict: hold ``lock`` to use it)."""
        return self._zones

    def add_zone(self, origin: str, text: str) -> None:
        """Load zone-file text (relative names, ``$TTL`` fine); replaces a zone of the same origin.

        A missing SOA is synthesised and the default TTL is 300 unless the text sets ``$TTL``,
        so short test zones need not spell either out.
        """
        origin_name = dns.name.from_text(origin)
        zone = dns.zone.from_text("$TTL 300\n" + text, origin=origin_name, relativize=False, check_origin=False)
        self._ensure_soa(zone)
        with self._lock:
            self._zones[origin_name] = zone

    def add_records(self, name: str, rdtype: str, values: Sequence[str], ttl: int = 300,
                    *, replace: bool = False) -> None:
        """Add records to the zone enclosing ``name`` (creating a zone at its parent if none).

        Records accumulate like in a zone file; ``replace=True`` drops the existing rrset of
        that type first (e.g. to publish a new MTA-STS policy id mid-test).
        """
        qname = dns.name.from_text(name)
        with self._lock:
            zone = self._find_zone(qname)
            if zone is None:
                parent = qname.parent() if len(qname) > 2 else qname
                zone = dns.zone.Zone(parent, relativize=False)
                self._ensure_soa(zone)
                self._zones[parent] = zone
            rdtype_v = dns.rdatatype.from_text(rdtype)
            if replace:
                zone.delete_rdataset(qname, rdtype_v)
            if not values:
                return
            rdataset = zone.find_rdataset(qname, rdtype_v, create=True)
            for value in values:
                rdata = dns.rdata.from_text(dns.rdataclass.IN, rdtype_v, value, origin=zone.origin,
                                            relativize=False)
                rdataset.add(rdata, ttl)
            rdataset.update_ttl(ttl)

    def set_behaviour(self, name: str, behaviour: str, *, delay: float = 0.0) -> None:
        """Fault injection for every query of exactly ``name``; ``"normal"`` clears it."""
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}; expected one of {BEHAVIOURS}")
        key = _key(dns.name.from_text(name))
        with self._lock:
            if behaviour == "normal":
                self._behaviours.pop(key, None)
            else:
                self._behaviours[key] = (behaviour, delay)

    @staticmethod
    def _ensure_soa(zone: dns.zone.Zone) -> None:
        if zone.get_rdataset(zone.origin, dns.rdatatype.SOA) is None:
            o = zone.origin.to_text() if len(zone.origin) > 1 else ""   # the root: "ns."
            soa = zone.find_rdataset(zone.origin, dns.rdatatype.SOA, create=True)
            soa.add(dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.SOA, _DEFAULT_SOA.format(o=o)), 300)

    def _find_zone(self, name: dns.name.Name) -> dns.zone.Zone | None:
        """The zone with the longest origin enclosing ``name`` (caller holds the lock)."""
        for i in range(len(name)):
            zone = self._zones.get(name.split(len(name) - i)[1])
            if zone is not None:
                return zone
        return None

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Bind UDP and TCP on the same port (with ``port=0``: retry until both are free)."""
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        for _ in range(20):
            transport, _proto = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self), local_addr=(self.host, self.port), family=family)
            port = transport.get_extra_info("sockname")[1]
            try:
                self._tcp = await asyncio.start_server(self._serve_tcp, self.host, port, family=family)
            except OSError:
                transport.close()
                if self.port:
                    raise
                continue
            self._udp = transport
            self.port = port
            return
        raise OSError("could not find a port free for both UDP and TCP")

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._tcp is not None:
            await self._tcp.wait_closed()
            self._tcp = None

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ----------------------------------------------------------------- transports
    async def _answer_udp(self, data: bytes, addr) -> None:
        wire = await self._answer(data, tcp=False)
        if wire is not None and self._udp is not None:
            self._udp.sendto(wire, addr)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Length-framed queries; each one answered in its own task so a dropped or delayed
        query does not hold up the others on the connection."""
        self._tasks.add(asyncio.current_task())
        write_lock = asyncio.Lock()

        async def one(data: bytes) -> None:
            wire = await self._answer(data, tcp=True)
            if wire is not None:
                async with write_lock:
                    writer.write(struct.pack("!H", len(wire)) + wire)
                    await writer.drain()

        try:
            while True:
                (length,) = struct.unpack("!H", await reader.readexactly(2))
                self._spawn(one(await reader.readexactly(length)))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except asyncio.CancelledError:
            pass  # stop(): end quietly (3.11's streams callback chokes on a cancelled handler task)
        finally:
            self._tasks.discard(asyncio.current_task())
            writer.close()

    # ----------------------------------------------------------------- the query path
    async def _answer(self, data: bytes, *, tcp: bool) -> bytes | None:
        """Wire in, wire out (``None``: stay silent). Never raises."""
        try:
            query = dns.message.from_wire(data)
        except Exception:  # garbage of any shape: ignore, like a real server would
            log.debug("ignoring unparsable packet of %d bytes", len(data))
            return None
        try:
            if query.flags & dns.flags.QR:
                return None  # a response: never answer those (no reflection loops)
            response = await self._respond(query)
            if response is None:
                return None
            return self._to_wire(query, response, tcp=tcp)
        except Exception:
            log.exception("lab DNS server failed on a query")
            return None

    def _to_wire(self, query: dns.message.Message, response: dns.message.Message, *, tcp: bool) -> bytes:
        limit = 65535 if tcp else (max(512, query.payload) if query.edns >= 0 else 512)
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            truncated = dns.message.make_response(query, our_payload=_OUR_PAYLOAD)
            truncated.flags |= dns.flags.AA | dns.flags.TC
            truncated.set_rcode(response.rcode())
            return truncated.to_wire(max_size=limit)

    async def _respond(self, query: dns.message.Message) -> dns.message.Message | None:
        response = dns.message.make_response(query, our_payload=_OUR_PAYLOAD)
        if query.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
            return response
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        do = query.edns >= 0 and bool(query.ednsflags & dns.flags.DO)
        counts = self.signed_query_counts if do else self.query_counts
        counts[(_key(question.name), dns.rdatatype.to_text(question.rdtype))] += 1
        with self._lock:
            behaviour, delay = self._behaviours.get(_key(question.name), ("normal", 0.0))
        if behaviour == "drop":
            return None
        if behaviour == "servfail_without_cd" and not query.flags & dns.flags.CD:
            behaviour = "servfail"
        if behaviour in ("servfail", "refused"):
            response.set_rcode(dns.rcode.SERVFAIL if behaviour == "servfail" else dns.rcode.REFUSED)
            return response
        if behaviour == "delay":
            await asyncio.sleep(delay)
        if question.rdclass != dns.rdataclass.IN:
            response.set_rcode(dns.rcode.REFUSED)
            return response
        dnssec = do and self.dnssec_mode != "none"
        if dnssec:
            response.ednsflags |= dns.flags.DO
        with self._lock:
            self._resolve(question.name, question.rdtype, response, dnssec=dnssec)
        if dnssec and self.dnssec_mode == "strip":
            for section in (response.answer, response.authority):
                section[:] = [r for r in section if r.rdtype not in _DNSSEC_RECORDS]
        return response

    def _zone_for(self, qname: dns.name.Name, qtype: int) -> dns.zone.Zone | None:
        """The zone answering (qname, qtype): the deepest enclosing one, except that a DS
        at a zone apex is the parent's record (RFC 4035 3.1.4.1)."""
        zone = self._find_zone(qname)
        if zone is not None and qtype == dns.rdatatype.DS and zone.origin == qname and len(qname) > 1:
            return self._find_zone(qname.parent()) or zone
        return zone

    def _resolve(self, qname: dns.name.Name, qtype: int, response: dns.message.Message,
                 *, dnssec: bool = False) -> None:
        """Fill ``response`` for (qname, qtype), chasing CNAMEs within served zones."""
        zone = self._zone_for(qname, qtype)
        if zone is None:
            response.set_rcode(dns.rcode.REFUSED)
            return
        response.flags |= dns.flags.AA
        name = qname
        for hop in range(MAX_CNAME_HOPS):
            signed = dnssec and dns_proofs.is_signed(zone)
            cut = self._cut(zone, name, qtype)
            if cut is not None:
                if hop == 0:
                    self._referral(zone, cut, response, signed)
                return
            rdatasets, source = self._lookup(zone, name)
            if rdatasets is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
                self._add_soa(zone, response, signed)
                if signed:
                    self._add_proof(response, dns_proofs.nxdomain_proof(zone, name))
                return
            wanted = [r for r in rdatasets if qtype == dns.rdatatype.ANY or r.rdtype == qtype]
            if wanted:
                for rdataset in wanted:
                    self._add_answer(response, name, rdataset, zone if signed else None, source)
                if signed and source != name:
                    self._add_proof(response, dns_proofs.wildcard_answer_proof(zone, name, source))
                return
            cname = next((r for r in rdatasets if r.rdtype == dns.rdatatype.CNAME), None)
            if cname is None:
                self._add_soa(zone, response, signed)  # NODATA
                if signed:
                    wildcard = source if source != name else None
                    self._add_proof(response, dns_proofs.nodata_proof(zone, name, qtype, wildcard))
                return
            self._add_answer(response, name, cname, zone if signed else None, source)
            if signed and source != name:
                self._add_proof(response, dns_proofs.wildcard_answer_proof(zone, name, source))
            name = cname[0].target
            zone = self._find_zone(name)
            if zone is None:
                return  # the chain leaves our zones: the client resolves the rest
        # too many hops (a loop): return the chain collected so far

    @staticmethod
    def _cut(zone: dns.zone.Zone, name: dns.name.Name, qtype: int) -> dns.name.Name | None:
        """A delegation point of ``zone`` at or above ``name`` (the DS at the cut itself
        is answered here, as the parent's record)."""
        cut = None
        probe = name
        while probe != zone.origin and probe.is_subdomain(zone.origin):
            if zone.get_rdataset(probe, dns.rdatatype.NS) is not None:
                cut = probe
            probe = probe.parent()
        if cut is not None and cut == name and qtype == dns.rdatatype.DS:
            return None
        return cut

    def _referral(self, zone: dns.zone.Zone, cut: dns.name.Name, response: dns.message.Message,
                  signed: bool) -> None:
        """NS of a child zone not served here (RFC 1034 4.3.2), with its DS or the proof
        that there is none when the parent is signed (RFC 4035 3.1.4)."""
        response.flags &= ~dns.flags.AA
        self._add_section(response.authority, cut, zone.get_rdataset(cut, dns.rdatatype.NS), response)
        if signed:
            ds = dns_proofs._with_sigs(zone, cut, dns.rdatatype.DS)
            self._add_proof(response, ds or dns_proofs.nodata_proof(zone, cut, dns.rdatatype.DS))

    def _add_proof(self, response: dns.message.Message, records) -> None:
        for owner, rdataset in records:
            self._add_section(response.authority, owner, rdataset, response)

    @staticmethod
    def _add_section(section, owner: dns.name.Name, rdataset, response: dns.message.Message) -> None:
        rrset = response.find_rrset(section, owner, dns.rdataclass.IN, rdataset.rdtype,
                                    rdataset.covers, create=True)
        if not len(rrset):
            rrset.update(rdataset)

    @staticmethod
    def _add_answer(response: dns.message.Message, name: dns.name.Name, rdataset,
                    signed_zone: dns.zone.Zone | None = None, source: dns.name.Name | None = None) -> None:
        """The RRset at ``name`` (synthesised from ``source`` for a wildcard), with its
        RRSIGs when ``signed_zone`` is given (they keep the wildcard's Labels count)."""
        if rdataset.rdtype == dns.rdatatype.RRSIG:
            return          # only with the RRset they cover
        rrset = response.find_rrset(response.answer, name, dns.rdataclass.IN, rdataset.rdtype, create=True)
        if len(rrset):
            return  # already present: a CNAME loop came back around
        rrset.update(rdataset)
        if signed_zone is not None:
            sig = dns_proofs.signatures(signed_zone, source or name, rdataset.rdtype)
            if sig is not None:
                sigs = response.find_rrset(response.answer, name, dns.rdataclass.IN,
                                           dns.rdatatype.RRSIG, rdataset.rdtype, create=True)
                sigs.update(sig)

    def _add_soa(self, zone: dns.zone.Zone, response: dns.message.Message, signed: bool = False) -> None:
        soa = zone.get_rdataset(zone.origin, dns.rdatatype.SOA)
        if soa is not None:
            rrset = dns.rrset.RRset(zone.origin, dns.rdataclass.IN, dns.rdatatype.SOA)
            rrset.update(soa)
            rrset.update_ttl(min(soa.ttl, soa[0].minimum))
            response.authority.append(rrset)
            if signed:
                sig = dns_proofs.signatures(zone, zone.origin, dns.rdatatype.SOA)
                if sig is not None:
                    self._add_section(response.authority, zone.origin, sig, response)

    @staticmethod
    def _lookup(zone: dns.zone.Zone, name: dns.name.Name) -> tuple[list | None, dns.name.Name]:
        """The rdatasets owned by ``name`` ([] for an empty non-terminal, None for NXDOMAIN),
        with wildcard synthesis from the closest encloser (RFC 4592); and the owner they
        came from (the wildcard's name when synthesised)."""
        node = zone.get_node(name)
        if node is not None and len(node.rdatasets):
            return list(node.rdatasets), name
        names = [n for n, nd in zone.nodes.items() if len(nd.rdatasets)]
        if any(n.is_subdomain(name) and n != name for n in names):
            return [], name  # empty non-terminal
        encloser = name.parent()
        while encloser != zone.origin and not any(n.is_subdomain(encloser) for n in names):
            encloser = encloser.parent()
        source = dns.name.Name((b"*",) + encloser.labels)
        wildcard = zone.get_node(source)
        if wildcard is not None and len(wildcard.rdatasets):
            return list(wildcard.rdatasets), source
        return None, name


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: LabDnsServer) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr) -> None:
        self.server._spawn(self.server._answer_udp(data, addr))

    def error_received(self, exc: Exception) -> None:  # e.g. ICMP port unreachable: harmless
        log.debug("lab DNS UDP error: %s", exc)
