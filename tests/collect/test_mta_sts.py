"""The MTA-STS collector against the lab DNS and HTTPS server: what each hostile policy host
turns into (status, redirect, content type, certificate, size cap, endless body, addresses)."""
from __future__ import annotations

import pytest

from scanner.collect.mta_sts import MAX_POLICY_BYTES, collect_mta_sts
from scanner.lab.https_server import Route
from tests.collect.records_lab import run

pytestmark = pytest.mark.lab
PATH = "/.well-known/mta-sts.txt"
POLICY = b"version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\nmax_age: 86400\r\n"


def site(lab, unique_zone, route: Route | None = None, *, cert=None, a=True, record=True):
    z = unique_zone()
    ip = lab.allocate_ip()
    zone = ""
    if record:
        zone += '_mta-sts TXT "v=STSv1; id=2024"\n'
    if a:
        zone += f"mta-sts A {ip}\n"
    lab.dns.add_zone(z, zone or f"@ A {ip}\n")
    server = lab.https_site(ip)
    if route is not None:
        server.add_site(f"mta-sts.{z}", {PATH: route}, cert=cert)
    return z, server


def collect(lab, z, **kw):
    return run(lab, lambda ctx: collect_mta_sts(ctx, z), **kw)


def test_good_policy(lab, unique_zone):
    z, server = site(lab, unique_zone, Route(body=POLICY))
    m = collect(lab, z)
    f = m.fetch
    assert (f.status, f.content_type, f.body, f.error_class, f.redirect) == (
        200, "text/plain", POLICY.decode(), "", "")
    assert f.host == f"mta-sts.{z}" and f.url == f"https://mta-sts.{z}:{lab.ports['https']}{PATH}"
    assert server.request_counts[(f"mta-sts.{z}", PATH)] == 1


def test_no_record_means_no_fetch(lab, unique_zone):
    z, server = site(lab, unique_zone, Route(body=POLICY), record=False)
    assert collect(lab, z).fetch is None
    assert server.request_counts[(f"mta-sts.{z}", PATH)] == 0


def test_redirect_is_recorded_not_followed(lab, unique_zone):
    route = Route(status=301, headers=(("Location", "https://elsewhere.test/p"),))
    z, _ = site(lab, unique_zone, route)
    f = collect(lab, z).fetch
    assert (f.status, f.redirect, f.body) == (301, "https://elsewhere.test/p", "")


def test_wrong_content_type_and_status(lab, unique_zone):
    z, _ = site(lab, unique_zone, Route(content_type="text/html", body=b"<html>x</html>"))
    assert collect(lab, z).fetch.content_type == "text/html"
    z, _ = site(lab, unique_zone, Route(status=404, body=b"nope"))
    assert collect(lab, z).fetch.status == 404


def test_certificate_for_another_name(lab, unique_zone):
    z, _ = site(lab, unique_zone, Route(body=POLICY), cert=lab.ca.issue(["other.example.test"]))
    f = collect(lab, z).fetch
    assert f.error_class == "certificate" and f.status == 0


def test_self_signed_certificate(lab, unique_zone):
    z = unique_zone()
    cert = lab.ca.issue([f"mta-sts.{z}"], self_signed=True)
    ip = lab.allocate_ip()
    lab.dns.add_zone(z, f'_mta-sts TXT "v=STSv1; id=1"\nmta-sts A {ip}\n')
    lab.https_site(ip).add_site(f"mta-sts.{z}", {PATH: Route(body=POLICY)}, cert=cert)
    assert collect(lab, z).fetch.error_class == "certificate"


def test_oversized_policy_is_capped(lab, unique_zone):
    z, _ = site(lab, unique_zone, Route(body=POLICY + b"#" * (2 * MAX_POLICY_BYTES)))
    f = collect(lab, z).fetch
    assert f.truncated and len(f.body) == MAX_POLICY_BYTES and f.size > MAX_POLICY_BYTES


def test_endless_body_costs_the_deadline_once(lab, unique_zone):
    z, _ = site(lab, unique_zone, Route(body=POLICY, behaviour="stream_forever"))
    f = collect(lab, z, timeout=0.5).fetch      # 1 s total: ~20 KB arrive, far below the cap
    assert f.error_class == "timeout"


def test_no_address_and_private_address(lab, unique_zone):
    z, _ = site(lab, unique_zone, a=False)
    assert collect(lab, z).fetch.error_class == "no-address"
    z, server = site(lab, unique_zone, Route(body=POLICY))
    f = collect(lab, z, allow_private=False).fetch
    assert f.error_class == "private-address"
    assert server.request_counts[(f"mta-sts.{z}", PATH)] == 0


def test_dns_failure_of_the_policy_host(lab, unique_zone):
    z, _ = site(lab, unique_zone, Route(body=POLICY))
    lab.dns.set_behaviour(f"mta-sts.{z}", "servfail")
    assert collect(lab, z).fetch.error_class == "dns"
