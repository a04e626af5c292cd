"""Checks: smtp.* (CHECKS.md, "SMTP"), one finding per probed endpoint (host+IP+port).

Conventions, the same for every check here:

- Null-MX domain: one ``skipped`` finding for the domain.
- A private address that was not probed has no SmtpProbe, so it gets no finding
  (``mx.public_address`` reports it).
- A check that does not apply to the port's role (e.g. ``smtp.starttls`` on an implicit-TLS
  port) yields ``skipped`` for that endpoint, never nothing: every endpoint shows up in
  every smtp.* check.
- A check whose precondition was not met because of an *earlier* observed problem (the
  endpoint was unreachable, it offers no TLS) yields ``skipped`` naming the check that
  reports the problem, so one fault is counted once. When the facts are missing for an
  unexplained reason (the session died before the step) it yields ``error``.
- Port 25 of an MX host whose ``dane.tlsa`` passes is authenticated by DANE, not the web
  PKI (RFC 7672 3.1.1): ``smtp.cert_trusted`` is ``info`` there, and where a DANE-EE record
  matched, ``smtp.cert_hostname`` and ``smtp.cert_expiry`` too. Submission ports keep the
  PKI verdicts.
- An endpoint the scanner's own network kept from being probed (``SmtpProbe.environment``:
  env.ipv6, env.port25; CHECKS.md "Scan environment") is never blamed on the domain:
  ``smtp.reachable`` says why (``skipped`` for an IPv6 address when the host was probed on
  another address, ``error`` when nothing of the host could be probed or port 25 is
  filtered), every other check ``skipped`` naming it. Neither status is scored.
- A transient refusal (4yz greeting, 421 later: RFC 5321 4.2.5) that persisted after the
  probe was redone is ``error`` with the reply quoted, never ``fail``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone

from scanner.checks._certnames import hostname_matches
from scanner.checks._dane import dane_hosts
from scanner.evidence import DomainEvidence
from scanner.evidence.smtp import Attempt, CertificateFacts, Failure, SmtpProbe
from scanner.checks._probe_memo import Judged, ProbeMemo
from scanner.findings import Finding, Status, subject_endpoint
from scanner.registry import CheckSpec, Outcome, Stamped, check, per_evidence, spec_of, stamp

STARTTLS_ROLES = ("smtp", "submission")
IMPLICIT_ROLES = ("submissions",)
SUBMISSION_ROLES = ("submission",)
# The per-endpoint checks and the roles each judges (None: every role; an endpoint of another
# role is `skipped`, not applicable). The rating reads it to know which checks an endpoint the
# scanner's own network kept from being probed left untested (scanner/rating.py, rule 11).
ENDPOINT_ROLES: dict[str, tuple[str, ...] | None] = {
    "smtp.reachable": None, "smtp.starttls": STARTTLS_ROLES, "smtp.implicit_tls": IMPLICIT_ROLES,
    "smtp.tls_version": None, "smtp.legacy_tls": None, "smtp.weak_cipher": None,
    "smtp.cert_trusted": None, "smtp.cert_hostname": None, "smtp.cert_expiry": None,
    "smtp.cert_key": None, "smtp.auth_before_tls": STARTTLS_ROLES, "smtp.auth_mechanisms": None,
    "smtp.submission_tls_required": SUBMISSION_ROLES,
}
MODERN_VERSIONS = ("TLSv1.2", "TLSv1.3")
CLEARTEXT_AUTH = ("PLAIN", "LOGIN")
WEAK_AUTH = ("CRAM-MD5", "DIGEST-MD5")
EXPIRY_WARN = timedelta(days=14)
MIN_KEY_BITS = {"RSA": 2048, "DSA": 2048, "EC": 256}

Judgement = tuple[Status, str]   # (status, message) of one subject
_ERROR_FAILURES = (Failure.TIMEOUT, Failure.RESET, Failure.UNREACHABLE, Failure.PROTOCOL)


def _per_endpoint(ev: DomainEvidence, check_id: str, judge: Callable[[SmtpProbe], Judgement],
                  roles: tuple[str, ...] | None = None, *, reports_held: bool = False,
                  context: object = None, dane: Dane | None = None) -> Iterable[Outcome]:
    """One finding of ``check_id`` per endpoint. ``judge`` must be a pure function of the probe
    and of ``context`` (the scan time for smtp.cert_expiry, None for the others): its finding
    is remembered for every domain with an equal probe (``_MEMO``) and reused while the context
    is the same. What depends on the rest of the domain's evidence is applied on top, never
    remembered: ``dane`` (the verdict as DANE sees it, see ``_dane_aware``) and the endpoints
    the scanner's network held back (``reports_held``: this check, smtp.reachable, says why an
    endpoint was not probed; the others skip it pointing there)."""
    if ev.mx is not None and ev.mx.null_mx:
        return [Outcome(Status.SKIPPED, "null MX: the domain accepts no mail")]
    spec = spec_of(check_id)
    out = []
    for probe, judged in zip(ev.smtp, _judged(ev)):
        applies = roles is None or probe.role in roles
        if applies and probe.environment and not probe.connections:
            status, message = (_held(ev, probe) if reports_held else
                               (Status.SKIPPED, f"not evaluated: not probed ({probe.environment}, "
                                                "see smtp.reachable)"))
            out.append(stamp(spec, Outcome(status, message, _subject(probe)), ""))
            continue
        hit = judged.get(check_id)
        if hit is not None and hit[0] == context:
            finding = hit[1]
        else:
            status, message = (judge(probe) if applies else
                               (Status.SKIPPED, f"not applicable to a {probe.role} port"))
            finding = stamp(spec, Outcome(status, message, _subject(probe)), "")
            judged[check_id] = (context, finding)
        if dane is not None and applies:
            finding = dane(probe, finding, spec)
        out.append(finding)
    return Stamped(out)


_MEMO = ProbeMemo()


@per_evidence
def _judged(ev: DomainEvidence) -> tuple[Judged, ...]:
    """The memo of each of the domain's probes, in ``ev.smtp``'s order (looked up once for the
    13 checks)."""
    return tuple(_MEMO.of(p) for p in ev.smtp)


def _subject(p: SmtpProbe) -> str:
    return subject_endpoint(p.host, p.ip, p.port)


def _held(ev: DomainEvidence, p: SmtpProbe) -> Judgement:
    """An endpoint the scanner's own network kept from being probed."""
    why = f"{p.error or 'not probed'} ({p.environment})"
    if p.environment == "env.ipv6":
        if any(o.host == p.host and o.connections for o in ev.smtp):
            return Status.SKIPPED, f"{why}; {p.host} is judged on the addresses that were probed"
        return Status.ERROR, f"{why}; no address of {p.host} could be probed: not tested"
    return Status.ERROR, f"{why}: could not be tested"


def _transient(p: SmtpProbe) -> str:
    """How a transient refusal went: redone (after how long) or not."""
    if p.retried_after is None:
        return "not redone: no time left before the deadline"
    first = f" (first: {p.transient})" if p.transient and p.transient != p.error else ""
    return f"again after the probe was redone {p.retried_after:g}s later{first}"


def _reached(p: SmtpProbe) -> bool:
    return p.greeting_code == 220


def _unreached() -> Judgement:
    return Status.SKIPPED, "not evaluated: endpoint not reachable (see smtp.reachable)"


def _ehlo_transient(p: SmtpProbe) -> bool:
    return p.ehlo_refused is not None and 400 <= p.ehlo_refused < 500


def _ehlo_unknown(p: SmtpProbe) -> Judgement:
    """EHLO refused for now (4yz): HELO was used (RFC 5321 3.2), so the extensions are unknown."""
    return Status.ERROR, (f"EHLO answered {p.ehlo_refused} (transient), HELO used instead: "
                          "the extensions are unknown")


def _why(p: SmtpProbe) -> str:
    return f"{p.failure}: {p.error}" if p.error else str(p.failure or "session ended")


def _tls_session(p: SmtpProbe):
    """(version, cipher, chain, trusted, trust_error, legacy_only) of the best completed
    handshake: the main one, else the legacy retry. None when no handshake completed."""
    if p.tls is not None and p.tls.completed:
        t = p.tls
        return t.version, t.cipher, t.chain, t.trusted, t.trust_error, False
    lg = p.legacy
    if lg is not None and lg.outcome is Attempt.ACCEPTED:
        return lg.version, lg.cipher, lg.chain, lg.trusted, lg.trust_error, True
    return None


def _no_tls(p: SmtpProbe) -> Judgement:
    """The reason there is no TLS session to judge, as a skipped/error verdict."""
    if not p.connected or (p.role != "submissions" and not _reached(p)):
        return _unreached()
    owner = "smtp.implicit_tls" if p.role == "submissions" else "smtp.starttls"
    if p.tls is None and p.role != "submissions" and p.ehlo_code is None:
        return Status.ERROR, f"not evaluated: session ended before EHLO ({_why(p)})"
    return Status.SKIPPED, f"not evaluated: no TLS session (see {owner})"


# ---------------------------------------------------------------- reachability and TLS

@check("smtp.reachable", title="SMTP endpoint reachable", category="transport",
       reference="RFC 5321 4.2",
       remediation="Make the MX host accept TCP connections on this port and greet with 220.")
def reachable(ev: DomainEvidence) -> Iterable[Outcome]:
    def judge(p: SmtpProbe) -> Judgement:
        if _reached(p):
            if p.transient:
                return Status.PASS, (f"220 greeting: {p.greeting} (once the probe was redone "
                                     f"{p.retried_after:g}s after a transient refusal: {p.transient})")
            return Status.PASS, f"220 greeting: {p.greeting}"
        if p.greeting_code is not None and 400 <= p.greeting_code < 500:
            return Status.ERROR, (f"transient refusal: greeting {p.greeting_code} {p.greeting}, "
                                  f"{_transient(p)}")
        if p.greeting_code is not None:
            return Status.FAIL, f"greeting {p.greeting_code} instead of 220: {p.greeting}"
        if not p.connected:
            if p.failure is Failure.REFUSED:
                return Status.FAIL, "connection refused"
            if p.environment:
                return Status.ERROR, (f"could not connect ({_why(p)}); put down to this host's "
                                      f"network ({p.environment}: outbound port 25 looks filtered)")
            return Status.ERROR, f"could not connect ({_why(p)})"
        if p.failure is Failure.TLS:
            lg = p.legacy
            if lg is not None and lg.greeting_code == 220:
                return Status.PASS, (f"220 greeting, but only over {lg.version} "
                                     "(see smtp.tls_version)")
            return Status.ERROR, ("no greeting: the TLS handshake failed before it "
                                  "(see smtp.implicit_tls)")
        if p.failure is Failure.TIMEOUT:
            return Status.ERROR, f"no greeting before the deadline ({p.error or 'tarpit?'})"
        return Status.ERROR, f"no greeting ({_why(p)})"

    return _per_endpoint(ev, "smtp.reachable", judge, reports_held=True)


@check("smtp.starttls", title="STARTTLS offered and working", category="transport",
       reference="RFC 3207",
       remediation="Advertise STARTTLS in EHLO and configure a working TLS certificate.")
def starttls(ev: DomainEvidence) -> Iterable[Outcome]:
    def judge(p: SmtpProbe) -> Judgement:
        if not _reached(p):
            return _unreached()
        if p.ehlo_code is None:
            return Status.ERROR, f"session ended before EHLO ({_why(p)})"
        if _ehlo_transient(p):
            return _ehlo_unknown(p)
        if not p.starttls_offered:
            how = "HELO session (EHLO refused)" if p.used_helo else "not advertised in EHLO"
            return Status.FAIL, f"STARTTLS {how}"
        if p.starttls_code is None:
            return Status.ERROR, f"session ended before STARTTLS ({_why(p)})"
        if p.starttls_code != 220:
            return Status.FAIL, f"STARTTLS advertised but answered {p.starttls_code}"
        if p.starttls_injection:
            return Status.FAIL, ("plaintext after the 220 to STARTTLS, before the TLS handshake "
                                 f"({p.starttls_injection}): discarded; a server that sends "
                                 "it, or a man in the middle injecting it, could forge the "
                                 "post-TLS dialogue (RFC 3207 4.2 and 6; CVE-2011-0411 class)")
        return _handshake_verdict(p)

    return _per_endpoint(ev, "smtp.starttls", judge, STARTTLS_ROLES)


@check("smtp.implicit_tls", title="Implicit TLS before the greeting", category="transport",
       reference="RFC 8314 3.3",
       remediation="Serve TLS directly on this port (no STARTTLS), with a valid certificate.")
def implicit_tls(ev: DomainEvidence) -> Iterable[Outcome]:
    def judge(p: SmtpProbe) -> Judgement:
        if not p.connected:
            return _unreached()
        if p.tls is None:
            return Status.ERROR, f"no TLS handshake attempted ({_why(p)})"
        return _handshake_verdict(p)

    return _per_endpoint(ev, "smtp.implicit_tls", judge, IMPLICIT_ROLES)


def _handshake_verdict(p: SmtpProbe) -> Judgement:
    t = p.tls
    if t is None:
        return Status.ERROR, "no TLS handshake recorded"
    if t.completed:
        return Status.PASS, f"TLS handshake completed ({t.version}, {t.cipher})"
    lg = p.legacy
    if lg is not None and lg.outcome is Attempt.ACCEPTED:
        return Status.PASS, (f"TLS handshake completed only with {lg.version} "
                             f"(see smtp.tls_version); a modern client failed: {t.error}")
    if t.failure is Failure.TIMEOUT:
        return Status.ERROR, f"TLS handshake timed out ({t.error})"
    return Status.FAIL, f"TLS handshake failed: {t.error or t.failure}"


@check("smtp.tls_version", title="TLS 1.2 or newer negotiated", category="transport",
       reference="RFC 8996, RFC 8997",
       remediation="Enable TLS 1.2 and TLS 1.3 on the mail server.")
def tls_version(ev: DomainEvidence) -> Iterable[Outcome]:
    def judge(p: SmtpProbe) -> Judgement:
        s = _tls_session(p)
        if s is None:
            if p.tls is not None and p.legacy is not None and p.legacy.outcome is Attempt.ERROR:
                return Status.ERROR, f"could not determine: legacy retry failed ({p.legacy.detail})"
            return _no_tls(p)
        version, cipher, *_, legacy_only = s
        if legacy_only or version not in MODERN_VERSIONS:
            return Status.FAIL, f"only {version} ({cipher}): TLS 1.2+ handshake failed"
        return Status.PASS, f"negotiated {version} ({cipher})"

    return _per_endpoint(ev, "smtp.tls_version", judge)


def _attempt_judge(p: SmtpProbe, attempt, accepted: Judgement, refused: Judgement) -> Judgement:
    if attempt is None or (attempt.outcome is not Attempt.ACCEPTED and _tls_session(p) is None):
        # no handshake worked at all: "refuses legacy TLS" would be a hollow pass
        return _no_tls(p)
    if attempt.outcome is Attempt.ACCEPTED:
        return accepted
    if attempt.outcome is Attempt.REFUSED:
        return refused
    if attempt.outcome is Attempt.NOT_TESTED:
        return Status.ERROR, f"not tested: {attempt.detail}"
    return Status.ERROR, f"could not determine: {attempt.detail}"


@check("smtp.legacy_tls", title="TLS 1.0/1.1 refused", category="transport",
       reference="RFC 8996",
       remediation="Disable TLS 1.0 and TLS 1.1 on the mail server.")
def legacy_tls(ev: DomainEvidence) -> Iterable[Outcome]:
    def judge(p: SmtpProbe) -> Judgement:
        lg = p.legacy
        return _attempt_judge(
            p, lg,
            (Status.WARN, f"accepts {lg.version} ({lg.cipher}) when offered alone" if lg else ""),
            (Status.PASS, f"refuses {lg.offered or 'TLS 1.0/1.1'}" if lg else ""))

    return _per_endpoint(ev, "smtp.legacy_tls", judge)


@check("smtp.weak_cipher", title="No weak cipher suites", category="transport",
       reference="BOD 18-01",
       remediation="Disable RC4, 3DES, NULL and EXPORT cipher suites.")
def weak_cipher(ev: DomainEvidence) -> Iterable[Outcome]:
    def judge(p: SmtpProbe) -> Judgement:
        w = p.weak_cipher
        return _attempt_judge(
            p, w,
            (Status.FAIL, f"accepts {w.cipher} ({w.version})" if w else ""),
            (Status.PASS, f"refuses {w.offered or 'RC4, 3DES, NULL and EXPORT suites'}"
             if w else ""))

    return _per_endpoint(ev, "smtp.weak_cipher", judge)


# ---------------------------------------------------------------- certificate

def _cert_judge(fn: Callable[[SmtpProbe, tuple[CertificateFacts, ...], bool | None, str], Judgement]
                ) -> Callable[[SmtpProbe], Judgement]:
    def judge(p: SmtpProbe) -> Judgement:
        s = _tls_session(p)
        if s is None:
            return _no_tls(p)
        _, _, chain, trusted, trust_error, _ = s
        if not chain:
            return Status.ERROR, "the server presented no certificate"
        return fn(p, chain, trusted, trust_error)
    return judge


Dane = Callable[[SmtpProbe, Finding, CheckSpec], Finding]


def _dane_aware(ev: DomainEvidence, *, ee_only: bool) -> Dane | None:
    """The finding turned to ``info`` on port 25 where DANE authenticates the server (see the
    module docstring; ``ee_only``: only where a DANE-EE record matched). None when no MX host
    of the domain passes DANE."""
    hosts = dane_hosts(ev)
    if not any(d.passed for d in hosts.values()):
        return None

    def judged(p: SmtpProbe, f: Finding, spec: CheckSpec) -> Finding:
        dane = hosts.get(p.host) if p.role == "smtp" else None
        if (dane is None or not dane.passed or f.status is Status.SKIPPED
                or (ee_only and not dane.ee_matched(p))):
            return f
        return stamp(spec, Outcome(Status.INFO, (f"DANE authenticates this server (dane.tlsa, "
                                                 f"RFC 7672 3.1.1); web PKI: {f.status}: "
                                                 f"{f.message}"), f.subject), "")
    return judged


@check("smtp.cert_trusted", title="Certificate chain trusted", category="transport",
       reference="RFC 5280",
       remediation="Use a certificate issued by a public CA and serve the full chain.")
def cert_trusted(ev: DomainEvidence) -> Iterable[Outcome]:
    def fn(p, chain, trusted, trust_error) -> Judgement:
        if trusted is True:
            return Status.PASS, f"chain verifies (issuer: {chain[0].issuer})"
        if trusted is False:
            kind = "self-signed certificate" if chain[0].self_issued else "chain does not verify"
            return Status.FAIL, f"{kind}: {trust_error}"
        return Status.ERROR, f"could not verify the chain: {trust_error or 'unknown'}"

    return _per_endpoint(ev, "smtp.cert_trusted", _cert_judge(fn),
                         dane=_dane_aware(ev, ee_only=False))


@check("smtp.cert_hostname", title="Certificate matches the MX host name", category="transport",
       reference="RFC 6125",
       remediation="Issue the certificate for the MX host name (subjectAltName).")
def cert_hostname(ev: DomainEvidence) -> Iterable[Outcome]:
    def fn(p, chain, trusted, trust_error) -> Judgement:
        leaf = chain[0]
        names = ", ".join(leaf.dns_names) or leaf.common_name or "(none)"
        if hostname_matches(p.host, leaf):
            return Status.PASS, f"{p.host} matches the certificate ({names})"
        return Status.FAIL, f"{p.host} does not match the certificate names: {names}"

    return _per_endpoint(ev, "smtp.cert_hostname", _cert_judge(fn),
                         dane=_dane_aware(ev, ee_only=True))


def _parse_time(text: str) -> datetime | None:
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


@check("smtp.cert_expiry", title="Certificate within its validity period", category="transport",
       reference="RFC 5280",
       remediation="Renew the certificate (and automate renewal).")
def cert_expiry(ev: DomainEvidence) -> Iterable[Outcome]:
    now = _parse_time(ev.scanned_at)

    def fn(p, chain, trusted, trust_error) -> Judgement:
        if now is None:
            return Status.ERROR, "no scan time recorded: cannot judge validity"
        worst: Judgement = (Status.PASS, "")
        # the leaf and the intermediates it was served with (a root sent along is ignored)
        for i, cert in enumerate(chain):
            if i and cert.self_issued:
                continue
            what = "certificate" if i == 0 else f"chain certificate {cert.subject}"
            nb, na = _parse_time(cert.not_before), _parse_time(cert.not_after)
            if nb is None or na is None:
                return Status.ERROR, f"{what}: unreadable validity dates"
            if now > na:
                return Status.FAIL, f"{what} expired on {cert.not_after}"
            if now < nb:
                return Status.FAIL, f"{what} not valid before {cert.not_before}"
            if na - now < EXPIRY_WARN and worst[0] is Status.PASS:
                days = (na - now).days
                worst = (Status.WARN, f"{what} expires in {days} days ({cert.not_after})")
        if worst[0] is Status.PASS:
            return Status.PASS, f"valid until {chain[0].not_after}"
        return worst

    return _per_endpoint(ev, "smtp.cert_expiry", _cert_judge(fn), context=ev.scanned_at,
                         dane=_dane_aware(ev, ee_only=True))


@check("smtp.cert_key", title="Certificate key strong enough", category="transport",
       reference="NIST SP 800-52r2",
       remediation="Use an RSA key of at least 2048 bits or an EC key of at least 256 bits.")
def cert_key(ev: DomainEvidence) -> Iterable[Outcome]:
    def fn(p, chain, trusted, trust_error) -> Judgement:
        leaf = chain[0]
        minimum = MIN_KEY_BITS.get(leaf.key_type)
        desc = f"{leaf.key_type} {leaf.key_bits} bits"
        if minimum is not None and leaf.key_bits < minimum:
            return Status.FAIL, f"{desc} (minimum {minimum})"
        return Status.PASS, desc

    return _per_endpoint(ev, "smtp.cert_key", _cert_judge(fn))


# ---------------------------------------------------------------- AUTH and submission

@check("smtp.auth_before_tls", title="No AUTH before TLS", category="transport",
       reference="RFC 4954 4, RFC 8314",
       remediation="Advertise AUTH only after STARTTLS.")
def auth_before_tls(ev: DomainEvidence) -> Iterable[Outcome]:
    def judge(p: SmtpProbe) -> Judgement:
        if not _reached(p):
            return _unreached()
        if p.ehlo_code is None:
            return Status.ERROR, f"session ended before EHLO ({_why(p)})"
        if _ehlo_transient(p):
            return _ehlo_unknown(p)
        mechs = p.auth_before_tls
        if not mechs:
            return Status.PASS, "no AUTH advertised before TLS"
        listed = " ".join(mechs)
        if any(m in CLEARTEXT_AUTH for m in mechs):
            return Status.FAIL, f"AUTH {listed} advertised in clear text"
        return Status.WARN, f"AUTH {listed} advertised before TLS"

    return _per_endpoint(ev, "smtp.auth_before_tls", judge, STARTTLS_ROLES)


@check("smtp.auth_mechanisms", title="AUTH mechanisms offered", category="transport",
       reference="RFC 4954",
       remediation="Offer modern AUTH mechanisms (PLAIN/LOGIN over TLS, SCRAM, OAUTHBEARER).")
def auth_mechanisms(ev: DomainEvidence) -> Iterable[Outcome]:
    def judge(p: SmtpProbe) -> Judgement:
        if not p.connected or (not _reached(p) and _tls_session(p) is None):
            return _unreached()
        after = " ".join(p.auth_after_tls) or "none"
        if p.tls is None or not p.tls.completed:
            after = "unknown (no TLS session)"
        elif p.failure is Failure.TRANSIENT and not p.extensions_tls:
            after = f"unknown ({p.error})"
        parts = [f"after TLS: {after}"]
        if p.role != "submissions":
            parts.append(f"before TLS: {' '.join(p.auth_before_tls) or 'none'}")
        message = "AUTH " + "; ".join(parts)
        offered = set(p.auth_before_tls) | set(p.auth_after_tls)
        if offered and offered <= set(WEAK_AUTH):
            return Status.WARN, f"{message} (only CRAM-MD5/DIGEST-MD5; RFC 6331)"
        return Status.INFO, message

    return _per_endpoint(ev, "smtp.auth_mechanisms", judge)


@check("smtp.submission_tls_required", title="Submission requires TLS", category="transport",
       reference="RFC 8314 3.3",
       remediation="Refuse MAIL FROM before STARTTLS on the submission port (530).")
def submission_tls_required(ev: DomainEvidence) -> Iterable[Outcome]:
    def judge(p: SmtpProbe) -> Judgement:
        if not _reached(p):
            return _unreached()
        code = p.mail_from_code
        if code is None:
            return Status.ERROR, f"MAIL FROM before TLS not answered ({_why(p)})"
        if 200 <= code < 300:
            return Status.FAIL, f"MAIL FROM accepted in clear text ({code})"
        if 500 <= code < 600:
            return Status.PASS, f"MAIL FROM before STARTTLS refused ({code})"
        if 400 <= code < 500:
            return Status.ERROR, (f"MAIL FROM before STARTTLS answered {code} (transient): "
                                  "inconclusive")
        return Status.ERROR, f"MAIL FROM before STARTTLS answered {code}: inconclusive"

    return _per_endpoint(ev, "smtp.submission_tls_required", judge, SUBMISSION_ROLES)
