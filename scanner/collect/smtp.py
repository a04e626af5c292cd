"""SMTP probe stage: one shared probe per (MX host, IP, port, role).

A probe is at most three TCP connections, one after the other, each inside the per-IP
limiter slot, all under one probe deadline:

1. main session: greeting; EHLO (HELO fallback); on ``submission``, MAIL FROM:<> in clear
   (then RSET if accepted; never RCPT, DATA or AUTH); STARTTLS if advertised (``smtp``,
   ``submission``) or TLS first (``submissions``) with a modern client that does not
   verify during the handshake; EHLO again; QUIT;
2. legacy handshake: TLS 1.0/1.1 only at security level 0 (smtp.legacy_tls, and the
   certificate of a TLS-1.0-only server);
3. weak-cipher hello: a raw ClientHello offering only RC4/3DES/NULL/EXPORT suites.

2 and 3 run only when the main session got as far as a TLS handshake that did not time
out, so a tarpit costs one step timeout and a server without TLS costs one connection.
TLS sessions per TLS-capable endpoint: 2 full handshakes + 1 ClientHello.

A transient refusal (a 4yz greeting, or 421 at any later step: RFC 5321 4.2.5 "try again
later") is not an answer: the IP is throttled in the limiter for every domain that shares it,
and the main session is redone once after the limiter's jittered pause, if that fits before
the probe's and the domain's deadlines (an extra connection likewise). An endpoint this
host's own network keeps from being probed (no IPv6 route, outbound port 25 filtered:
scanner/collect/environment.py) costs no connection; its evidence names the note.
"""
from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

from scanner.collect.context import DOMAIN_DEADLINE, ScanContext
from scanner.collect.environment import PORT25
from scanner.evidence import MxEvidence, PortSpec
from scanner.evidence.smtp import Attempt, Failure, HandshakeAttempt, SmtpProbe, TlsFacts
from scanner.collect.smtp_session import (ProbeError, SmtpReply, SmtpSession, Transcript, abort,
                                          auth_mechanisms, classify, extensions_of, open_stream,
                                          transient_text)
from scanner.collect.smtp_tls import (LEGACY_OFFER, TrustStore, certificate_facts, dane_facts,
                                      legacy_context, modern_context, peer_chain_der, sni_for,
                                      weak_hello)

PROBE_DEADLINE_STEPS = 12   # the probe deadline, in step timeouts (three connections)
MAIL_FROM = "MAIL FROM:<>"


async def collect_smtp(ctx: ScanContext, mx: MxEvidence) -> tuple[SmtpProbe, ...]:
    """Probe every examined MX host x probed address x configured port (shared per scan)."""
    if mx.null_mx:
        return ()
    probes: list[SmtpProbe | None] = []
    jobs, at = [], []        # probes not finished yet (most domains share finished ones)
    for host in mx.hosts:
        for addr in host.addresses:
            if not addr.probed or not ctx.may_connect(addr.ip):
                continue
            for spec in ctx.options.ports:
                key = (host.name, addr.ip, spec.port, spec.role)
                known = ctx.probes.peek(key)     # finished: no Task for gather to wrap
                if known is not None:
                    probes.append(known)
                    continue
                factory = (_factory(ctx, host.name, addr.ip, spec)
                           if ctx.router is None or ctx.router.owns(addr.ip) else
                           ctx.router.factory(ctx, host.name, addr.ip, spec))
                at.append(len(probes))
                probes.append(None)
                jobs.append(ctx.probes.get(key, factory))
    for i, probe in zip(at, await asyncio.gather(*jobs)):
        probes[i] = probe
    return ctx.env.explain(probes)


def _factory(ctx: ScanContext, host: str, ip: str, spec: PortSpec) -> Callable[[], Awaitable[SmtpProbe]]:
    return lambda: probe_endpoint(ctx, host, ip, spec)


async def _shared(ctx: ScanContext, name: str, factory: Callable[[], Any]) -> Any:
    async def make() -> Any:
        return factory()
    return await ctx.once("smtp-tls").get(name, make)


class _Probe:
    """Mutable facts of one probe in progress; ``freeze()`` makes the evidence."""

    def __init__(self, host: str, ip: str, spec: PortSpec) -> None:
        self.f: dict[str, Any] = dict(host=host, ip=ip, port=spec.port, role=spec.role)
        self.transcript = Transcript()
        self.connections = 0
        self.tls_sessions = 0
        self.connected_at: float | None = None   # loop time of the main session's connect

    def fail(self, err: ProbeError) -> None:
        self.f.setdefault("failure", err.failure)
        self.f.setdefault("error", err.detail)
        self.transcript.add(f"!: {err.detail}")

    @property
    def transient(self) -> bool:
        return self.f.get("failure") is Failure.TRANSIENT

    def freeze(self) -> SmtpProbe:
        return SmtpProbe(**self.f, connections=self.connections, tls_sessions=self.tls_sessions,
                         transcript=self.transcript.freeze())


async def probe_endpoint(ctx: ScanContext, host: str, ip: str, spec: PortSpec) -> SmtpProbe:
    held = ctx.env.holds(ip, spec.port)
    if held is None and spec.port == PORT25:
        await ctx.env.port25_ready()
        held = ctx.env.holds(ip, spec.port)
    if held is not None:
        return ctx.env.not_probed(host, ip, spec.port, spec.role, *held)
    loop = asyncio.get_running_loop()
    deadline_at = loop.time() + ctx.options.timeout * PROBE_DEADLINE_STEPS
    p = await _attempt(ctx, host, ip, spec, deadline_at)
    if p.transient:
        p = await _redo(ctx, p, host, ip, spec, deadline_at)
    if p.f.get("environment") and not p.connections:   # held back while it waited for a slot
        return ctx.env.not_probed(host, ip, spec.port, spec.role, p.f["environment"], p.f["error"])
    tls: TlsFacts | None = p.f.get("tls")
    if tls is not None and p.transient:       # it asked us to go away: no more connections
        skipped = HandshakeAttempt(Attempt.ERROR, detail=f"not attempted: {p.f['error']}")
        p.f["legacy"] = p.f["weak_cipher"] = skipped
    elif tls is not None and tls.failure is not Failure.TIMEOUT:
        p.f["legacy"] = await _extra(ctx, p, deadline_at, _legacy_attempt(ctx, p, tls))
        p.f["weak_cipher"] = await _extra(ctx, p, deadline_at, _weak_attempt)
    probe = p.freeze()
    ctx.env.observe(probe)
    return probe


async def _attempt(ctx: ScanContext, host: str, ip: str, spec: PortSpec,
                   deadline_at: float) -> _Probe:
    """One main session under the probe's deadline."""
    p = _Probe(host, ip, spec)
    try:
        async with asyncio.timeout_at(deadline_at):
            await _main_session(ctx, p)
    except TimeoutError:
        if p.connected_at is None and ctx.limiter.is_throttled(ip):
            p.fail(ProbeError(Failure.TIMEOUT, "not connected before the probe deadline: the "
                              "address was backing off after transient refusals"))
        else:
            p.fail(ProbeError(Failure.TIMEOUT, "probe deadline reached"))
    return p


async def _redo(ctx: ScanContext, first: _Probe, host: str, ip: str, spec: PortSpec,
                deadline_at: float) -> _Probe:
    """A transient refusal (4yz greeting, 421 later): the IP is throttled for everyone
    (scanner/collect/limiter.py) and the probe redone once, after the limiter's pause, when
    the pause and a new session fit before the probe's and the domain's deadlines. The
    evidence is the last attempt's, with the first refusal quoted."""
    loop = asyncio.get_running_loop()
    refused_at = loop.time()
    refusal = first.f.get("error", "")
    pause = ctx.limiter.throttle(ip, host, refusal, first.connected_at)
    first.f["transient"] = refusal
    end = min(deadline_at, DOMAIN_DEADLINE.get())
    if refused_at + pause + 2 * ctx.options.timeout > end:
        first.transcript.add(f"*: not redone: a {pause:.1f}s pause would pass the deadline")
        return first
    second = await _attempt(ctx, host, ip, spec, deadline_at)
    if second.connected_at is None:         # never got to connect before the deadline
        first.transcript.add("*: not redone: the deadline passed while waiting to reconnect")
        return first
    if second.transient:
        ctx.limiter.throttle(ip, host, second.f.get("error", ""), second.connected_at)
    waited = round(second.connected_at - refused_at, 1)
    second.f["transient"], second.f["retried_after"] = refusal, waited
    second.connections += first.connections
    second.tls_sessions += first.tls_sessions
    both = Transcript()
    for line in first.transcript.freeze():
        both.add(line)
    both.add(f"*: transient refusal: redone after {waited:.1f}s")
    for line in second.transcript.freeze():
        both.add(line)
    second.transcript = both
    return second


# ------------------------------------------------------------------ the main session

async def _main_session(ctx: ScanContext, p: _Probe) -> None:
    timeout = ctx.options.timeout
    ip, port, role = p.f["ip"], p.f["port"], p.f["role"]
    writer = None
    async with ctx.connection(ip):
        held = ctx.env.holds(ip, port)     # learnt while this probe waited for its slot
        if held is not None:
            p.f["environment"], p.f["error"] = held
            return
        try:
            p.connections += 1
            p.connected_at = asyncio.get_running_loop().time()
            p.transcript.add(f"*: connect {ip}:{port} ({role})")
            reader, writer = await open_stream(ip, port, timeout)
            p.f["connected"] = True
            session = SmtpSession(reader, writer, timeout, p.transcript)
            if role == "submissions":
                if not await _handshake(ctx, p, session, await _modern_context(ctx)):
                    return
            greeting = await session.read_reply("greeting")
            p.f["greeting_code"], p.f["greeting"] = greeting.code, greeting.first[:120]
            if greeting.code != 220:
                p.fail(_greeting_error(greeting))
                await session.quit()
                return
            reply, refused = await session.ehlo(ctx.options.ehlo_name)
            used_helo = refused is not None
            p.f["ehlo_code"], p.f["used_helo"], p.f["ehlo_refused"] = reply.code, used_helo, refused
            exts = extensions_of(reply) if not used_helo else ()
            if role == "submissions":
                p.f["extensions_tls"] = exts
                p.f["auth_after_tls"] = auth_mechanisms(exts)
                await session.quit()
                return
            p.f["extensions"] = exts
            p.f["auth_before_tls"] = auth_mechanisms(exts)
            if role == "submission" and 200 <= reply.code < 300:
                mail = await session.command(MAIL_FROM)
                p.f["mail_from_code"] = mail.code
                if 200 <= mail.code < 300:
                    await session.command("RSET")
            if not any(e.split(" ", 1)[0] == "STARTTLS" for e in exts):
                await session.quit()
                return
            starttls = await session.command("STARTTLS")
            p.f["starttls_code"] = starttls.code
            if starttls.code != 220:
                p.fail(ProbeError(Failure.REJECTED, f"STARTTLS answered {starttls.code}"))
                await session.quit()
                return
            if not await _handshake(ctx, p, session, await _modern_context(ctx)):
                return
            again, _ = await session.ehlo(ctx.options.ehlo_name)
            exts_tls = extensions_of(again)
            p.f["extensions_tls"] = exts_tls
            p.f["auth_after_tls"] = auth_mechanisms(exts_tls)
            await session.quit()
        except ProbeError as err:
            p.fail(err)
        except TimeoutError:
            raise
        except Exception as exc:  # anything unexpected is this endpoint's error, not the scan's
            p.fail(classify(exc, "session"))
        finally:
            abort(writer)


def _greeting_error(greeting: SmtpReply) -> ProbeError:
    """A greeting other than 220: 4yz is a transient refusal (RFC 5321 4.2.5), the rest not."""
    if 400 <= greeting.code < 500:
        return ProbeError(Failure.TRANSIENT, transient_text("greeting", greeting))
    return ProbeError(Failure.BAD_GREETING, f"greeting {greeting.code}")


async def _modern_context(ctx: ScanContext) -> ssl.SSLContext:
    return await _shared(ctx, "modern-context", modern_context)


async def _legacy_context(ctx: ScanContext) -> ssl.SSLContext | None:
    return await _shared(ctx, "legacy-context", legacy_context)


async def _start_tls(session: SmtpSession, sslctx: ssl.SSLContext, host: str) -> ssl.SSLObject:
    t = session.timeout
    async with asyncio.timeout(t):   # ours fires first, so a stalled handshake reads as TIMEOUT
        session.drop_plaintext()
        await session.writer.start_tls(sslctx, server_hostname=sni_for(host),
                                       ssl_handshake_timeout=t + 5)
    return session.writer.get_extra_info("ssl_object")


async def _handshake(ctx: ScanContext, p: _Probe, session: SmtpSession,
                     sslctx: ssl.SSLContext) -> bool:
    """The main TLS handshake; records TlsFacts either way. True when it completed."""
    p.tls_sessions += 1
    p.transcript.add("*: TLS handshake")
    try:
        sslobj = await _start_tls(session, sslctx, p.f["host"])
    except Exception as exc:
        _injected(p, session)
        err = classify(exc, "TLS handshake")
        if err.failure in (Failure.RESET, Failure.UNREACHABLE, Failure.PROTOCOL):
            err = ProbeError(Failure.TLS, err.detail)
        p.f["tls"] = TlsFacts(completed=False, failure=err.failure, error=err.detail)
        p.fail(ProbeError(err.failure, err.detail))
        return False
    _injected(p, session)
    chain, trusted, trust_error = await _chain_facts(ctx, sslobj, dane=p.f["role"] == "smtp")
    cipher = (sslobj.cipher() or ("",))[0]
    p.f["tls"] = TlsFacts(completed=True, version=sslobj.version() or "", cipher=cipher,
                          chain=chain, trusted=trusted, trust_error=trust_error)
    p.transcript.add(f"*: {sslobj.version()} {cipher}")
    return True


def _injected(p: _Probe, session: SmtpSession) -> None:
    """Record plaintext a STARTTLS server sent before the handshake (see drop_plaintext);
    on an implicit-TLS port there is no plaintext phase to inject into."""
    if session.injected and p.f["role"] != "submissions":
        p.f.setdefault("starttls_injection", session.injected)


async def _chain_facts(ctx: ScanContext, sslobj: ssl.SSLObject, *, dane: bool = False):
    """The presented chain's facts, and whether it is trusted. ``dane``: with the digests
    DANE matching needs (port 25, RFC 7672)."""
    ders = peer_chain_der(sslobj)
    if not ders:
        return (), None, "no certificate presented"
    chain = tuple(certificate_facts(d) for d in ders)
    if dane:
        chain = dane_facts(chain, ders)
    store: TrustStore = await _shared(ctx, "trust-store", lambda: TrustStore.load(ctx.options.ca_file))

    async def verify() -> tuple[bool | None, str]:
        return store.verify(ders, datetime.now(timezone.utc))

    key = tuple(c.sha256 for c in chain)
    trusted, reason = await ctx.once("smtp-cert-verify").get(key, verify)
    return chain, trusted, reason


# ------------------------------------------------------------------ extra connections

async def _extra(ctx: ScanContext, p: _Probe, deadline_at: float, attempt) -> HandshakeAttempt:
    """Open a fresh connection up to the TLS point, then run ``attempt(session)``. Refused
    transiently, the IP is throttled and the connection tried once more (time permitting)."""
    result = await _extra_once(ctx, p, deadline_at, attempt)
    if isinstance(result, HandshakeAttempt):
        return result
    err, started = result
    pause = ctx.limiter.throttle(p.f["ip"], p.f["host"], err.detail, started)
    if asyncio.get_running_loop().time() + pause + 2 * ctx.options.timeout < deadline_at:
        again = await _extra_once(ctx, p, deadline_at, attempt)
        if isinstance(again, HandshakeAttempt):
            return again
        ctx.limiter.throttle(p.f["ip"], p.f["host"], again[0].detail, again[1])
    return HandshakeAttempt(Attempt.ERROR, detail=f"{err.detail} (transient refusal)")


async def _extra_once(ctx: ScanContext, p: _Probe, deadline_at: float,
                      attempt) -> HandshakeAttempt | tuple[ProbeError, float]:
    """One extra connection: its HandshakeAttempt, or the ProbeError of a transient refusal
    with the loop time the connection was opened."""
    timeout = ctx.options.timeout
    ip, port, role = p.f["ip"], p.f["port"], p.f["role"]
    writer = None
    started = 0.0
    try:
        async with asyncio.timeout_at(deadline_at), ctx.connection(ip):
            try:
                p.connections += 1
                started = asyncio.get_running_loop().time()
                reader, writer = await open_stream(ip, port, timeout)
                session = SmtpSession(reader, writer, timeout, Transcript())
                if role != "submissions":
                    greeting = await session.read_reply("greeting")
                    if greeting.code != 220:
                        raise _greeting_error(greeting)
                    await session.ehlo(ctx.options.ehlo_name)
                    reply = await session.command("STARTTLS")
                    if reply.code != 220:
                        raise ProbeError(Failure.REJECTED, f"STARTTLS answered {reply.code}")
                p.tls_sessions += 1
                try:
                    return await attempt(ctx, p, session)
                finally:
                    _injected(p, session)
            finally:
                abort(writer)
    except ProbeError as err:
        if err.failure is Failure.TRANSIENT:
            return err, started
        return HandshakeAttempt(Attempt.ERROR, detail=err.detail)
    except TimeoutError:
        return HandshakeAttempt(Attempt.ERROR, detail="probe deadline reached")
    except Exception as exc:
        return HandshakeAttempt(Attempt.ERROR, detail=classify(exc, "connect").detail)


def _legacy_attempt(ctx: ScanContext, p: _Probe, main: TlsFacts):
    async def attempt(ctx: ScanContext, p: _Probe, session: SmtpSession) -> HandshakeAttempt:
        sslctx = await _legacy_context(ctx)
        if sslctx is None:
            return HandshakeAttempt(Attempt.NOT_TESTED, offered=LEGACY_OFFER,
                                    detail="not testable with the local TLS library")
        try:
            sslobj = await _start_tls(session, sslctx, p.f["host"])
        except (TimeoutError, asyncio.TimeoutError):
            return HandshakeAttempt(Attempt.ERROR, offered=LEGACY_OFFER,
                                    detail="legacy handshake timed out")
        except Exception as exc:
            return HandshakeAttempt(Attempt.REFUSED, offered=LEGACY_OFFER,
                                    detail=classify(exc, "legacy handshake").detail)
        version, cipher = sslobj.version() or "", (sslobj.cipher() or ("",))[0]
        p.transcript.add(f"*: legacy handshake accepted: {version} {cipher}")
        if main.completed:
            return HandshakeAttempt(Attempt.ACCEPTED, version=version, cipher=cipher,
                                    offered=LEGACY_OFFER)
        chain, trusted, trust_error = await _chain_facts(ctx, sslobj, dane=p.f["role"] == "smtp")
        greeting_code = None
        if p.f["role"] == "submissions":
            try:
                greeting_code = (await session.read_reply("greeting")).code
            except Exception:   # the facts above stand; reachability stays undetermined
                pass
        return HandshakeAttempt(Attempt.ACCEPTED, version=version, cipher=cipher,
                                offered=LEGACY_OFFER, chain=chain, trusted=trusted,
                                trust_error=trust_error, greeting_code=greeting_code)
    return attempt


async def _weak_attempt(ctx: ScanContext, p: _Probe, session: SmtpSession) -> HandshakeAttempt:
    session.drop_plaintext()     # injected bytes must not pass for the ServerHello
    result = await weak_hello(session.reader, session.writer, sni_for(p.f["host"]),
                              ctx.options.timeout)
    p.transcript.add(f"*: weak-cipher hello {result.outcome}"
                     + (f": {result.cipher}" if result.cipher else ""))
    return result
