"""A signed DNS world on loopback for validator tests: the lab DNS server, zones signed by
scanner/lab/signing.py, the scanner's own DnsClient and Validator in front of it."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from scanner.dns.client import DnsClient
from scanner.dns.dnssec.anchors import TrustAnchors, parse_anchors
from scanner.dns.dnssec.policy import DEFAULT_POLICY, Policy
from scanner.dns.dnssec.validator import Validator
from scanner.lab.dns_server import LabDnsServer
from scanner.lab.signing import SignPlan, SignedWorld, sign_world
from tests.conftest import run_without_loop_errors

NOW = int(time.time())


def zone_text(zone: str) -> str:
    """Every test zone has the same shape: MX, a host, a wildcard, an alias, an ENT."""
    return f"""
@ MX 10 mx.{zone}.
mx A 192.0.2.1
*.wild MX 10 mx.{zone}.
alias CNAME mx.{zone}.
a.b.c A 192.0.2.9
"""


def run(zones: dict[str, str], plan: dict[str, SignPlan], questions: Sequence[tuple[str, str]], *,
        clock: float | None = None, policy: Policy = DEFAULT_POLICY, mode: str = "full",
        behaviours: dict[str, str] | None = None, anchors: str | None = None,
        prepare: Callable[[LabDnsServer, SignedWorld], None] | None = None,
        after=None, timeout: float = 2.0):
    """Validate ``questions`` (or run ``after(validator)`` for the results): (list of
    Validation, the validator, the server)."""
    async def main():
        server = LabDnsServer("127.0.0.1", 0)
        await server.start()
        try:
            for origin, text in zones.items():
                server.add_zone(origin, text)
            world = sign_world(server, plan, now=NOW)
            if prepare is not None:
                prepare(server, world)
            server.dnssec_mode = mode
            for name, behaviour in (behaviours or {}).items():
                server.set_behaviour(name, behaviour)
            client = DnsClient([("127.0.0.1", server.port)], timeout=timeout, retries=0)
            trust = TrustAnchors(parse_anchors(anchors or world.anchor, "lab"))
            validator = Validator(client, trust, policy=policy,
                                  clock=(lambda: clock) if clock is not None else time.time)
            validator._test_server = server       # for ``after`` callbacks that craft answers
            results = [await validator.validate(n, t) for n, t in questions]
            if after is not None:
                results = await after(validator)
            return results, validator, server
        finally:
            await server.stop()

    return run_without_loop_errors(main, timeout=60)


def basic_zones(*children: str) -> dict[str, str]:
    zones = {".": "", "test": ""}
    zones.update({f"{c}.test": zone_text(f"{c}.test") for c in children})
    return zones


def signed(*children: str, **plans: SignPlan) -> dict[str, SignPlan]:
    """The root and test. signed (NSEC), the named children signed with NSEC unless a plan
    for them is given."""
    plan = {".": SignPlan(), "test": SignPlan()}
    plan.update({f"{c}.test": SignPlan() for c in children})
    plan.update({f"{k.replace('_', '-')}.test": p for k, p in plans.items()})
    return plan
