"""smtp.* checks on hand-made evidence of the scan's network conditions: transient refusals
(issue 20) and endpoints the scanner's own network kept from being probed (issue 18).
Exact (check, subject, status) per scenario; none of them is ever a `fail`."""
from __future__ import annotations

from dataclasses import replace

from scanner.evidence.smtp import Attempt, Failure, HandshakeAttempt, SmtpProbe
from scanner.findings import Status
from scanner.registry import _REGISTRY, run_check
from scanner.result import judge
from scanner.profiles import load_profile
from scanner.checks import all_checks

from tests.checks.test_smtp import HOST, SMTP_IDS, evidence, good, one

P, W, F, I, E, S = (Status.PASS, Status.WARN, Status.FAIL, Status.INFO, Status.ERROR,
                    Status.SKIPPED)
ALL_SKIPPED = {cid: S for cid in SMTP_IDS}
V6 = "2001:db8::25"


def messages(ev, cid: str) -> list[str]:
    return [f.message for f in run_check(_REGISTRY[cid], ev)]


def refused_greeting(**kw) -> SmtpProbe:
    return SmtpProbe(HOST, "192.0.2.1", 25, "smtp", connected=True, greeting_code=421,
                     greeting="4.7.0 Too many connections, try again later",
                     failure=Failure.TRANSIENT,
                     error="greeting 421 4.7.0 Too many connections, try again later",
                     transient="greeting 421 4.7.0 Too many connections, try again later",
                     connections=2, **kw)


# ------------------------------------------------------------------ transient refusals

def test_a_421_greeting_that_persisted_after_the_redo_is_error_quoting_it():
    ev = evidence(refused_greeting(retried_after=3.2))
    assert one(ev) == dict(ALL_SKIPPED, **{"smtp.reachable": E})
    (text,) = messages(ev, "smtp.reachable")
    assert text == ("transient refusal: greeting 421 4.7.0 Too many connections, try again "
                    "later, again after the probe was redone 3.2s later")


def test_a_421_greeting_not_redone_says_why():
    (text,) = messages(evidence(refused_greeting(retried_after=None)), "smtp.reachable")
    assert text.endswith("not redone: no time left before the deadline")


def test_a_5yz_greeting_is_a_fail():
    ev = evidence(replace(refused_greeting(), greeting_code=554, greeting="5.7.1 go away",
                          failure=Failure.BAD_GREETING, error="greeting 554", transient=""))
    assert one(ev)["smtp.reachable"] is F


def test_a_probe_redone_after_a_refusal_passes_and_says_so():
    ev = evidence(good(transient="greeting 421 4.7.0 busy", retried_after=2.9, connections=4))
    assert set(one(ev).values()) <= {P, I, S}
    (text,) = messages(ev, "smtp.reachable")
    assert "redone 2.9s after a transient refusal: greeting 421 4.7.0 busy" in text


def test_a_421_to_starttls_that_persisted_is_error():
    ev = evidence(good(starttls_code=None, tls=None, extensions_tls=(), auth_after_tls=(),
                       legacy=None, weak_cipher=None, failure=Failure.TRANSIENT,
                       error="STARTTLS answered 421 4.7.0 closing", transient="STARTTLS "
                       "answered 421 4.7.0 closing", retried_after=3.0))
    got = one(ev)
    assert got["smtp.starttls"] is E and got["smtp.reachable"] is P
    assert "STARTTLS answered 421" in messages(ev, "smtp.starttls")[0]
    assert F not in got.values()


def test_a_421_after_tls_leaves_the_auth_mechanisms_unknown():
    ev = evidence(good(extensions_tls=(), auth_after_tls=(), failure=Failure.TRANSIENT,
                       error="EHLO answered 421 4.7.0 closing", transient="x",
                       retried_after=3.0))
    (text,) = messages(ev, "smtp.auth_mechanisms")
    assert text.startswith("AUTH after TLS: unknown (EHLO answered 421")


def test_a_4yz_to_ehlo_then_helo_is_error_for_what_ehlo_would_have_said():
    ev = evidence(good(extensions=(), used_helo=True, ehlo_refused=451, starttls_code=None,
                       tls=None, extensions_tls=(), auth_after_tls=(), legacy=None,
                       weak_cipher=None))
    got = one(ev)
    assert got["smtp.starttls"] is E and got["smtp.auth_before_tls"] is E
    assert messages(ev, "smtp.starttls") == [
        "EHLO answered 451 (transient), HELO used instead: the extensions are unknown"]


def test_a_5yz_to_ehlo_then_helo_is_still_judged():
    ev = evidence(good(extensions=(), used_helo=True, ehlo_refused=502, starttls_code=None,
                       tls=None, extensions_tls=(), auth_after_tls=(), legacy=None,
                       weak_cipher=None))
    assert one(ev)["smtp.starttls"] is F


def test_a_4yz_to_mail_from_on_submission_is_error():
    ev = evidence(good(587, "submission", mail_from_code=451))
    assert one(ev)["smtp.submission_tls_required"] is E
    assert messages(ev, "smtp.submission_tls_required") == [
        "MAIL FROM before STARTTLS answered 451 (transient): inconclusive"]


def test_extra_handshakes_not_attempted_after_a_refusal_are_error():
    skipped = HandshakeAttempt(Attempt.ERROR, detail="not attempted: greeting 421 busy")
    ev = evidence(good(465, "submissions", greeting_code=421, greeting="busy",
                       failure=Failure.TRANSIENT, error="greeting 421 busy", transient="x",
                       retried_after=3.0, legacy=skipped, weak_cipher=skipped))
    got = one(ev)
    assert (got["smtp.legacy_tls"], got["smtp.weak_cipher"], got["smtp.reachable"]) == (E, E, E)
    assert got["smtp.implicit_tls"] is P


# ------------------------------------------------------------------ the scanner's network

def held(ip: str, port: int, note: str, reason: str, role: str = "smtp") -> SmtpProbe:
    return SmtpProbe(HOST, ip, port, role, environment=note, error=reason,
                     transcript=(f"*: {reason} ({note})",))


NO_V6 = "not probed: this host has no route to IPv6 addresses like this one"


def test_ipv6_not_probed_is_skipped_when_the_host_was_probed_on_ipv4():
    ev = evidence(good(connections=3), held(V6, 25, "env.ipv6", NO_V6))
    per_check = {cid: [f.status for f in run_check(_REGISTRY[cid], ev)] for cid in SMTP_IDS}
    assert per_check["smtp.reachable"] == [P, S] and per_check["smtp.starttls"] == [P, S]
    assert all(sts[1] is S for sts in per_check.values())
    reachable = messages(ev, "smtp.reachable")[1]
    assert reachable == (f"{NO_V6} (env.ipv6); {HOST} is judged on the addresses that were "
                         "probed")
    assert messages(ev, "smtp.tls_version")[1] == ("not evaluated: not probed (env.ipv6, see "
                                                   "smtp.reachable)")


def test_an_ipv6_only_host_not_probed_could_not_be_tested():
    ev = evidence(held(V6, 25, "env.ipv6", NO_V6), held(V6, 587, "env.ipv6", NO_V6,
                                                        "submission"))
    got = {cid: [f.status for f in run_check(_REGISTRY[cid], ev)] for cid in SMTP_IDS}
    assert got["smtp.reachable"] == [E, E]
    assert all(sts == [S, S] for cid, sts in got.items() if cid != "smtp.reachable")
    assert messages(ev, "smtp.reachable")[0].endswith(
        f"no address of {HOST} could be probed: not tested")


def test_port25_not_probed_is_error_never_fail_and_not_scored():
    reason = "not probed: outbound port 25 looks filtered from this host (...)"
    ev = evidence(held("192.0.2.1", 25, "env.port25", reason), good(587, "submission",
                                                                       connections=3))
    got = {cid: [f.status for f in run_check(_REGISTRY[cid], ev)] for cid in SMTP_IDS}
    assert got["smtp.reachable"] == [E, P]
    assert all(sts[0] is S for cid, sts in got.items() if cid != "smtp.reachable")
    assert messages(ev, "smtp.reachable")[0] == f"{reason} (env.port25): could not be tested"
    profile = load_profile("baseline", set(all_checks()))
    with_25 = judge(ev, profile)
    without_25 = judge(replace(ev, smtp=ev.smtp[1:]), profile)
    assert with_25.verdict.score == without_25.verdict.score     # left out of the score
    assert "smtp.reachable" not in with_25.verdict.failed


def test_a_port25_timeout_put_down_to_the_filter_says_so():
    ev = evidence(SmtpProbe(HOST, "192.0.2.1", 25, "smtp", failure=Failure.TIMEOUT,
                            error="connect: timed out", connections=1,
                            environment="env.port25"))
    assert one(ev)["smtp.reachable"] is E
    assert messages(ev, "smtp.reachable") == [
        "could not connect (timeout: connect: timed out); put down to this host's network "
        "(env.port25: outbound port 25 looks filtered)"]
