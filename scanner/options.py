"""Scan options: everything a scan is told, gathered in one frozen value."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from scanner.errors import UsageError
from scanner.evidence.smtp import DEFAULT_PORTS, ROLES, PortSpec


@dataclass(frozen=True)
class ScanOptions:
    nameservers: tuple[tuple[str, int], ...] = ()   # empty: the system's resolvers
    ca_file: Path | None = None
    allow_private: bool = False
    ports: tuple[PortSpec, ...] = DEFAULT_PORTS
    dkim_selectors: tuple[str, ...] = ()
    profile: str = "baseline"
    ehlo_name: str = "mxaudit.invalid"
    concurrency: int = 50          # domains in flight
    per_ip_limit: int = 2          # simultaneous connections to one IP
    timeout: float = 10.0          # one network step (DNS query, connect, SMTP reply, TLS handshake)
    dns_retries: int = 2           # extra tries of a DNS query that timed out
    domain_deadline: float = 120.0 # a whole domain, every stage included
    max_mx_hosts: int = 10         # MX hosts examined per domain, by preference
    max_addresses: int = 2         # addresses examined per MX host and address family
    mta_sts_port: int = 443        # HTTPS port for MTA-STS policy fetches (labs run unprivileged)
    retry_pause: float = 3.0       # seconds (jittered) before redoing a probe refused transiently
    ip_version: str = "auto"       # "4", "6", "both" (stated), or "auto": detect (env.ipv6)
    no_port25: bool = False        # outbound port 25 stated filtered: not probed (env.port25)
    port25_canary: str | None = None   # an address known to accept port 25 (env.port25)
    extra: dict[str, str] = field(default_factory=dict)

    def to_record(self) -> dict:
        """The options as stored in the scan history; ``from_record`` reads them back."""
        return {"nameservers": [f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
                                for ip, port in self.nameservers],
                "ca_file": str(Path(self.ca_file).resolve()) if self.ca_file else None,
                "allow_private": self.allow_private,
                "ports": [str(p) for p in self.ports], "dkim_selectors": list(self.dkim_selectors),
                "profile": self.profile, "ehlo_name": self.ehlo_name,
                "concurrency": self.concurrency, "timeout": self.timeout,
                "deadline": self.domain_deadline, "mta_sts_port": self.mta_sts_port,
                "per_ip_limit": self.per_ip_limit, "dns_retries": self.dns_retries,
                "max_mx_hosts": self.max_mx_hosts, "max_addresses": self.max_addresses,
                "retry_pause": self.retry_pause, "ip_version": self.ip_version,
                "no_port25": self.no_port25, "port25_canary": self.port25_canary}

    @classmethod
    def from_record(cls, r: dict) -> "ScanOptions":
        d = cls()
        return cls(
            nameservers=tuple(parse_nameserver(n) for n in r.get("nameservers", ())),
            ca_file=Path(r["ca_file"]) if r.get("ca_file") else None,
            allow_private=r.get("allow_private", d.allow_private),
            ports=tuple(parse_port(p) for p in r.get("ports", ())) or DEFAULT_PORTS,
            dkim_selectors=tuple(r.get("dkim_selectors", ())),
            profile=r.get("profile", d.profile), ehlo_name=r.get("ehlo_name", d.ehlo_name),
            concurrency=r.get("concurrency", d.concurrency), timeout=r.get("timeout", d.timeout),
            domain_deadline=r.get("deadline", d.domain_deadline),
            mta_sts_port=r.get("mta_sts_port", d.mta_sts_port),
            per_ip_limit=r.get("per_ip_limit", d.per_ip_limit),
            dns_retries=r.get("dns_retries", d.dns_retries),
            max_mx_hosts=r.get("max_mx_hosts", d.max_mx_hosts),
            max_addresses=r.get("max_addresses", d.max_addresses),
            retry_pause=r.get("retry_pause", d.retry_pause),
            ip_version=r.get("ip_version", d.ip_version),
            no_port25=r.get("no_port25", d.no_port25),
            port25_canary=r.get("port25_canary", d.port25_canary))


def parse_nameserver(text: str) -> tuple[str, int]:
    """'IP', 'IP:PORT', '[IPv6]:PORT' or 'IPv6' -> (ip, port)."""
    text = text.strip()
    host, port = text, 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            port = _port(rest.lstrip(":"), text)
    elif text.count(":") == 1:
        host, _, p = text.partition(":")
        port = _port(p, text)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise UsageError(f"--nameserver {text!r}: not an IP address (use IP or IP:PORT)") from None
    return host, port


def parse_port(text: str) -> PortSpec:
    """'PORT:ROLE' -> PortSpec."""
    p, sep, role = text.partition(":")
    if not sep or role not in ROLES:
        raise UsageError(f"--port {text!r}: use PORT:ROLE with ROLE one of {', '.join(ROLES)}")
    return PortSpec(_port(p, text), role)


def _port(p: str, whole: str) -> int:
    if not p.isdigit() or not 0 < int(p) < 65536:
        raise UsageError(f"{whole!r}: port must be a number from 1 to 65535")
    return int(p)


IP_VERSIONS = ("4", "6", "both")


def parse_ip_version(text: str) -> str:
    if text not in IP_VERSIONS:
        raise UsageError(f"--ip-version {text!r}: use 4, 6 or both")
    return text


def parse_canary(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise UsageError(f"--port25-canary {text!r}: not an IP address") from None
