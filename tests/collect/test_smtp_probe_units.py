"""Unit tests of the probe's parts: reply bounds, EHLO parsing, the weak-cipher hello,
certificate facts and trust verification (no network beyond in-memory streams)."""
from __future__ import annotations

import asyncio
import struct
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from scanner.collect.smtp_session import (MAX_LINE, ProbeError, SmtpSession, Transcript,
                                          auth_mechanisms, extensions_of, SmtpReply)
from scanner.collect.smtp_tls import (WEAK_SUITES, TrustStore, certificate_facts,
                                      parse_hello_reply, weak_client_hello, _pem_certificates)
from scanner.evidence.smtp import Attempt, Failure
from scanner.lab.ca import LabCA


def _reply(data: bytes):
    async def main():
        reader = asyncio.StreamReader(limit=MAX_LINE)
        reader.feed_data(data)
        reader.feed_eof()
        t = Transcript()
        return await SmtpSession(reader, None, 1.0, t).read_reply("greeting"), t
    return asyncio.run(main())


def test_multiline_reply_and_transcript():
    reply, t = _reply(b"220-mx.example ESMTP\r\n220-more\r\n220 done\r\n")
    assert reply == SmtpReply(220, ("mx.example ESMTP", "more", "done"))
    assert t.freeze() == ("S: 220 mx.example ESMTP (+2 lines)",)


@pytest.mark.parametrize("data, failure, text", [
    (b"220-" + b"x" * 10_000, Failure.PROTOCOL, "longer than"),
    (b"".join(b"250-" + b"y" * 1000 + b"\r\n" for _ in range(100)), Failure.PROTOCOL, "larger"),
    (b"hello there\r\n", Failure.PROTOCOL, "malformed"),
    (b"220-a\r\n250 b\r\n", Failure.PROTOCOL, "codes differ"),
    (b"220-a\r\n", Failure.RESET, "closed"),
])
def test_hostile_replies(data, failure, text):
    with pytest.raises(ProbeError) as exc:
        _reply(data)
    assert exc.value.failure is failure and text in exc.value.detail


def test_transcript_is_bounded():
    t = Transcript()
    for i in range(100):
        t.add("C: " + "z" * 500)
    frozen = t.freeze()
    assert len(frozen) == 41 and frozen[-1] == "... 60 more lines"
    assert all(len(line) <= 160 for line in frozen)


def test_extensions_and_auth_parsing():
    reply = SmtpReply(250, ("mx hello", "pipelining", "AUTH plain LOGIN", "AUTH=CRAM-MD5",
                        "STARTTLS"))
    exts = extensions_of(reply)
    assert exts == ("PIPELINING", "AUTH plain LOGIN", "AUTH=CRAM-MD5", "STARTTLS")
    assert auth_mechanisms(exts) == ("PLAIN", "LOGIN", "CRAM-MD5")
    assert extensions_of(SmtpReply(502, ("no",))) == ()


def test_weak_client_hello_offers_only_weak_suites():
    hello = weak_client_hello("mx.example.test")
    assert hello[:3] == b"\x16\x03\x01" and struct.unpack("!H", hello[3:5])[0] == len(hello) - 5
    body = hello[9:]
    sid_len = body[34]
    n = struct.unpack("!H", body[35 + sid_len:37 + sid_len])[0]
    suites = {struct.unpack("!H", body[37 + sid_len + i:39 + sid_len + i])[0]
              for i in range(0, n, 2)}
    assert suites == set(WEAK_SUITES) | {0x00FF}
    assert b"mx.example.test" in hello


def _server_hello(suite: int, version=0x0303) -> bytes:
    return (b"\x02\x00\x00\x46" + struct.pack("!H", version) + b"r" * 32 + b"\x00"
            + struct.pack("!H", suite) + b"\x00")


def test_parse_hello_reply():
    ok = parse_hello_reply(0x16, _server_hello(0x000A))
    assert (ok.outcome, ok.cipher, ok.version) == (Attempt.ACCEPTED, "DES-CBC3-SHA", "TLSv1.2")
    assert parse_hello_reply(0x15, b"\x02\x28").outcome is Attempt.REFUSED
    assert parse_hello_reply(0x16, _server_hello(0xC02F)).outcome is Attempt.ERROR
    assert parse_hello_reply(0x32, b"50 not tls").outcome is Attempt.ERROR


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return LabCA(tmp_path_factory.mktemp("ca"))


def _der_chain(issued) -> tuple[bytes, ...]:
    return tuple(c.public_bytes(Encoding.DER)
                 for c in _pem_certificates(issued.cert_path.read_bytes()))


def test_certificate_facts(ca):
    issued = ca.issue(["mx.example.test", "alt.example.test"], key="rsa1024")
    leaf = certificate_facts(_der_chain(issued)[0])
    assert leaf.dns_names == ("mx.example.test", "alt.example.test")
    assert (leaf.key_type, leaf.key_bits, leaf.self_issued) == ("RSA", 1024, False)
    assert leaf.common_name == "mx.example.test" and "lab root CA" in leaf.issuer
    assert leaf.signature_algorithm == "ecdsa-with-SHA256" and len(leaf.sha256) == 64


def test_trust_store_verifies_apart_from_name_and_expiry(ca):
    store = TrustStore.load(ca.cert_path)
    now = datetime.now(timezone.utc)
    assert store.verify(_der_chain(ca.issue(["other.example.test"])), now) == (True, "")
    expired = ca.issue(["mx.example.test"], not_before=now - timedelta(days=30),
                       not_after=now - timedelta(days=1))
    assert store.verify(_der_chain(expired), now) == (True, "")
    trusted, reason = store.verify(_der_chain(ca.issue(["mx.example.test"], self_signed=True)), now)
    assert trusted is False and reason
    assert TrustStore([]).verify(_der_chain(expired), now)[0] is None
