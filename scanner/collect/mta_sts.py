"""MTA-STS collection: the _mta-sts TXT record and, when a v=STSv1 record exists, the policy
fetched from https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461 3.3).

The policy host is resolved through the scan's DNS layer (never the system resolver) and
httpx connects to that IP: the request URL names the IP, while the ``Host`` header, SNI and
the certificate check use the policy host name. The last two ride on httpcore's documented
``sni_hostname`` request extension (``ssl`` then verifies the certificate against that
name), so no custom transport or network backend is needed. Redirects are never followed
(a 3xx is recorded), the body is capped at 64 KB, every step has the scan's timeout and the
whole fetch a total deadline (a server that streams forever costs that deadline once).
``trust_env=False``: no proxy or netrc from the environment.
"""
from __future__ import annotations

import asyncio
import ipaddress
import ssl
from typing import TYPE_CHECKING

from scanner.collect.context import ScanContext
from scanner.evidence import DnsResult
from scanner.evidence.records import HttpFetch, MtaStsEvidence
from scanner.parsers.tagvalue import locate

POLICY_PATH = "/.well-known/mta-sts.txt"
MAX_POLICY_BYTES = 64 * 1024

if TYPE_CHECKING:
    import httpx


async def collect_mta_sts(ctx: ScanContext, domain: str) -> MtaStsEvidence:
    txt = await ctx.dns.query(f"_mta-sts.{domain}", "TXT")
    if not locate(txt.records if txt.ok else (), "STSv1"):
        return MtaStsEvidence(txt)
    host = f"mta-sts.{domain}"
    a, aaaa = await asyncio.gather(ctx.dns.query(host, "A"), ctx.dns.query(host, "AAAA"))
    return MtaStsEvidence(txt, a, aaaa, await fetch_policy(ctx, host, a, aaaa))


def _url(host: str, port: int) -> str:
    return f"https://{host}{'' if port == 443 else f':{port}'}{POLICY_PATH}"


async def fetch_policy(ctx: ScanContext, host: str, a: DnsResult, aaaa: DnsResult) -> HttpFetch:
    port = ctx.options.mta_sts_port
    base = HttpFetch(url=_url(host, port), host=host, port=port)
    addresses = [*(a.records if a.ok else ()), *(aaaa.records if aaaa.ok else ())]
    if not addresses:
        if not (a.outcome.answered and aaaa.outcome.answered):
            bad = a if not a.outcome.answered else aaaa
            return _error(base, "dns", bad.describe())
        return _error(base, "no-address", f"{host} has no A/AAAA record")
    allowed = [ip for ip in addresses if ctx.may_connect(ip)]
    if not allowed:
        return _error(base, "private-address",
                      f"{host} resolves only to non-public addresses ({', '.join(addresses[:4])}); "
                      "not contacted (see --allow-private)")
    ip = allowed[0]
    total = ctx.options.timeout * 2
    try:
        async with ctx.connection(ip), asyncio.timeout(total):
            return await _get(ctx, base, ip)
    except (asyncio.TimeoutError, TimeoutError):
        return _error(base, "timeout", f"no complete answer within {total:g} s", ip=ip)


def _error(base: HttpFetch, error_class: str, error: str, **kw) -> HttpFetch:
    return HttpFetch(**{**base.__dict__, **kw, "error_class": error_class, "error": error[:300]})


async def _get(ctx: ScanContext, base: HttpFetch, ip: str) -> HttpFetch:
    import httpx   # here: most domains publish no policy, and httpx costs ~0.1 s to import
    literal = f"[{ip}]" if ipaddress.ip_address(ip).version == 6 else ip
    port_part = "" if base.port == 443 else f":{base.port}"
    headers = {"Host": f"{base.host}{port_part}", "Accept-Encoding": "identity",
               "User-Agent": "mxaudit (MTA-STS policy check)"}
    timeout = httpx.Timeout(ctx.options.timeout)
    try:
        async with httpx.AsyncClient(verify=ctx.ssl_context(), trust_env=False, timeout=timeout,
                                     follow_redirects=False) as client:
            request = client.build_request("GET", f"https://{literal}{port_part}{POLICY_PATH}",
                                           headers=headers,
                                           extensions={"sni_hostname": base.host})
            response = await client.send(request, stream=True)
            try:
                return await _read(base, ip, response)
            finally:
                await response.aclose()
    except httpx.TimeoutException as exc:
        return _error(base, "timeout", f"{type(exc).__name__}: {exc}", ip=ip)
    except httpx.HTTPError as exc:
        return _error(base, *_classify(exc), ip=ip)
    except (ssl.SSLError, OSError) as exc:
        return _error(base, *_classify(exc), ip=ip)


async def _read(base: HttpFetch, ip: str, response: httpx.Response) -> HttpFetch:
    fields = dict(ip=ip, status=response.status_code,
                  content_type=response.headers.get("content-type", "")[:200])
    if response.is_redirect or 300 <= response.status_code < 400:
        location = response.headers.get("location", "")[:500]
        return HttpFetch(**{**base.__dict__, **fields, "redirect": location or "(no Location)"})
    body = bytearray()
    truncated = False
    async for chunk in response.aiter_raw():
        body += chunk
        if len(body) > MAX_POLICY_BYTES:
            truncated = True
            break
    text = bytes(body[:MAX_POLICY_BYTES]).decode("utf-8", "replace")
    return HttpFetch(**{**base.__dict__, **fields, "body": text, "size": len(body),
                        "truncated": truncated})


def _classify(exc: BaseException) -> tuple[str, str]:
    """(error class, short reason) from an httpx/ssl/OS exception and its causes."""
    seen = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return "certificate", f"certificate verification failed: {seen.verify_message or seen}"
        if isinstance(seen, ssl.SSLError):
            return "tls", f"TLS handshake failed: {seen}"
        seen = seen.__cause__ or seen.__context__
    import httpx
    text = str(exc) or type(exc).__name__
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "certificate", text
    if isinstance(exc, (httpx.ConnectError, OSError)):
        return "connect", text
    return "protocol", f"{type(exc).__name__}: {text}"
