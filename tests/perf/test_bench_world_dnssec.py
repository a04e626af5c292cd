"""The bench world's DNSSEC variants (bench/dnssec_world.py) as mxaudit's validator sees them:
every domain, provider and own-host zone secure in the signed world (TLSA included, with the
minimally covering NSEC denials of RFC 4470), insecure under a signed root in the unsigned
one; and the world's plain answers unchanged."""
from __future__ import annotations

import asyncio
import importlib.util
import socket
import sys
from collections import Counter
from pathlib import Path

import pytest

from scanner.dns.client import DnsClient
from scanner.dns.dnssec.anchors import TrustAnchors, parse_anchors
from scanner.dns.dnssec.validator import Validator
from scanner.evidence.dns import DnsOutcome
from scanner.evidence.dnssec import Security
from tests.conftest import run_without_loop_errors

_ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("mxaudit_bench_world_dnssec", _ROOT / "bench" / "world.py")
bw = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = bw
_spec.loader.exec_module(bw)
bw.dkim_key = lambda: "AAAA"
sys.path.insert(0, str(_ROOT))
from bench.dnssec_world import DnssecWorld  # noqa: E402

QUESTIONS = [("d000000.test", "MX"), ("d000008.test", "MX"), ("mx1.provider-a.test", "A"),
             ("mx1.provider-a.test", "AAAA"), ("mx-d000008.own.test", "A"),
             ("_25._tcp.mx1.provider-a.test", "TLSA"), ("_25._tcp.mx-d000008.own.test", "TLSA"),
             ("nothere.d000000.test", "A"), ("d999999.test", "MX")]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((bw.DNS_IP, 0))
        return s.getsockname()[1]


def validate(mode: str, tmp_path: Path):
    async def main():
        world = bw.World(20)
        dnssec = DnssecWorld(world, mode, {"a": "3 1 1 " + "ab" * 32, "b": "3 1 1 " + "cd" * 32,
                                           "own": "3 1 1 " + "ef" * 32}, tmp_path / "anchor.ds")
        server = bw.DnsServer(world, _free_port(), Counter(), dnssec=dnssec)
        await server.start()
        try:
            client = DnsClient([(bw.DNS_IP, server.port)], timeout=2, retries=0)
            validator = Validator(client, TrustAnchors(parse_anchors(dnssec.anchor_path.read_text(), "bench")))
            return [await validator.validate(n, t) for n, t in QUESTIONS]
        finally:
            server._udp.close()
            server._tcp_server.close()
    return run_without_loop_errors(main, timeout=60)


def test_signed_world_is_secure_everywhere(tmp_path):
    results = validate("signed", tmp_path)
    assert [r.state for r in results] == [Security.SECURE] * len(QUESTIONS)
    assert [r.outcome for r in results] == [DnsOutcome.OK] * 3 + [DnsOutcome.NODATA] + [DnsOutcome.OK] * 3 \
        + [DnsOutcome.NODATA] * 2          # black lies: names that do not exist get NODATA


def test_unsigned_world_is_insecure_under_a_signed_root(tmp_path):
    results = validate("unsigned", tmp_path)
    # every name of a domain's zone is insecure; a domain that does not exist is denied by
    # the signed test. zone itself: secure
    assert [r.state for r in results] == [Security.INSECURE] * (len(QUESTIONS) - 1) + [Security.SECURE]
    assert results[0].chain[0].startswith(". ") and results[0].chain[-1] == "d000000.test. unsigned"
