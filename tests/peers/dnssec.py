"""Real DNSSEC peers for the tests, started and stopped by the test harness:

* Knot DNS (``knotd``) as an authoritative server for zones it signs itself (automatic
  signing: a real signer's keys, NSEC and NSEC3 chains, opt-out), on 127.0.2.54;
* Unbound as a validating recursive resolver on 127.0.2.53, with the lab root's trust
  anchor and stub zones to the lab DNS server and to Knot: the resolver users scan through.

    knot = start_knot(workdir, {"knot.test": (zone_text, "nsec")})
    unbound = start_unbound(workdir, anchor_text, {".": "127.0.0.1@5300", "knot.test": knot.addr})
    ...
    unbound.stop(); knot.stop()

Both run in the foreground as child processes of the test (no root needed: high ports on
127.0.2.x, which the lab leaves to peers), with their configuration, keys and logs under
``workdir``. ``unavailable_reason()`` says why they cannot run here (then tests skip), unless
MXAUDIT_REQUIRE_UNBOUND=1 (CI), which makes a missing peer a failure. Debian packages:
``knot`` and ``unbound`` (tests/peers/dnssec.sh install).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype

KNOT_IP = "127.0.2.54"
UNBOUND_IP = "127.0.2.53"
REQUIRE_ENV = "MXAUDIT_REQUIRE_UNBOUND"
BINARIES = {"knotd": "/usr/sbin/knotd", "unbound": "/usr/sbin/unbound",
            "unbound-checkconf": "/usr/sbin/unbound-checkconf"}
START_TIMEOUT = 30.0


class PeerStartError(RuntimeError):
    """The peer is installed but did not come up."""


def _binary(name: str) -> str | None:
    found = shutil.which(name) or BINARIES[name]
    return found if os.access(found, os.X_OK) else None


def unavailable_reason() -> str | None:
    missing = [n for n in BINARIES if _binary(n) is None]
    if missing:
        return (f"DNSSEC peers unavailable: {', '.join(missing)} not installed "
                "(Debian: apt-get install knot unbound, or tests/peers/dnssec.sh install)")
    return None


def required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def free_port(ip: str) -> int:
    """A port free for both UDP and TCP on ``ip``."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((ip, 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((ip, port))
                except OSError:
                    continue
        return port
    raise PeerStartError(f"no free port on {ip}")


def ask(ip: str, port: int, name: str, rdtype: str, *, cd: bool = False,
        timeout: float = 3.0) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, want_dnssec=True)
    if cd:
        query.flags |= dns.flags.CD
    response = dns.query.udp(query, ip, port=port, timeout=timeout)
    if response.flags & dns.flags.TC:
        response = dns.query.tcp(query, ip, port=port, timeout=timeout)
    return response


@dataclass
class _Process:
    name: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise PeerStartError(f"{self.name} exited with {self.process.returncode}:\n{tail}")


def _wait(proc: _Process, ready, what: str) -> None:
    """Until ``ready()`` is true; it may return a text saying why not yet."""
    deadline = time.monotonic() + START_TIMEOUT
    last: object = None
    while time.monotonic() < deadline:
        proc.check_alive()
        try:
            result = ready()
            if result is True:
                return
            last = result
        except Exception as exc:        # not answering yet
            last = exc
        time.sleep(0.2)
    proc.stop()
    raise PeerStartError(f"{proc.name} did not {what} within {START_TIMEOUT:g}s ({last})")


# ------------------------------------------------------------------ Knot

KNOT_POLICIES = """\
policy:
  - id: nsec
    algorithm: ecdsap256sha256
    nsec3: off
  - id: nsec3
    algorithm: ed25519
    nsec3: on
    nsec3-iterations: 0
    nsec3-opt-out: on
    nsec3-salt-length: 0
"""


@dataclass
class Knot:
    port: int
    zones: tuple[str, ...]
    proc: _Process

    @property
    def addr(self) -> str:
        return f"{KNOT_IP}@{self.port}"

    def dnskeys(self, zone: str):
        """The zone's DNSKEY RRset as Knot serves it (for the DS at the parent)."""
        response = ask(KNOT_IP, self.port, zone, "DNSKEY")
        return response.find_rrset(response.answer, dns.name.from_text(zone), dns.rdataclass.IN,
                                   dns.rdatatype.DNSKEY)

    def stop(self) -> None:
        self.proc.stop()


def start_knot(workdir: Path, zones: dict[str, tuple[str, str]]) -> Knot:
    """``zones``: origin -> (zone-file text with SOA and NS, "nsec" or "nsec3")."""
    workdir = Path(workdir)
    for sub in ("zones", "db", "run"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    port = free_port(KNOT_IP)
    for origin, (text, _) in zones.items():
        (workdir / "zones" / f"{origin}.zone").write_text(text)
    zone_lines = "".join(f"  - domain: {origin}\n    dnssec-signing: on\n    dnssec-policy: {policy}\n"
                         for origin, (_, policy) in zones.items())
    conf = workdir / "knot.conf"
    conf.write_text(f"""\
server:
    rundir: "{workdir / 'run'}"
    listen: {KNOT_IP}@{port}
log:
  - target: stderr
    any: info
database:
    storage: "{workdir / 'db'}"
{KNOT_POLICIES}template:
  - id: default
    storage: "{workdir / 'zones'}"
    file: "%s.zone"
    zonefile-sync: -1
    journal-content: none
zone:
{zone_lines}""")
    log = workdir / "knot.log"
    process = subprocess.Popen([_binary("knotd"), "-c", str(conf), "-s", str(workdir / "run" / "knot.sock")],
                               stdin=subprocess.DEVNULL, stdout=log.open("w"), stderr=subprocess.STDOUT)
    knot = Knot(port, tuple(zones), _Process("knotd", process, log))

    def signed() -> bool:
        for origin in zones:
            response = ask(KNOT_IP, port, origin, "DNSKEY", timeout=1)
            if not any(r.rdtype == dns.rdatatype.RRSIG for r in response.answer):
                return False
        return True

    _wait(knot.proc, signed, "serve its signed zones")
    return knot


# ------------------------------------------------------------------ Unbound

@dataclass
class Unbound:
    port: int
    proc: _Process

    @property
    def nameserver(self) -> str:
        return f"{UNBOUND_IP}:{self.port}"

    def verdict(self, name: str, rdtype: str) -> str:
        """Unbound's own judgement: SERVFAIL without CD is bogus, AD secure, else insecure."""
        response = ask(UNBOUND_IP, self.port, name, rdtype)
        if response.rcode() == dns.rcode.SERVFAIL:
            return "bogus"
        return "secure" if response.flags & dns.flags.AD else "insecure"

    def stop(self) -> None:
        self.proc.stop()


def start_unbound(workdir: Path, anchor: str, stubs: dict[str, str]) -> Unbound:
    """``anchor``: DS or DNSKEY records of the trust anchor; ``stubs``: zone -> "ip@port"
    of the authoritative server to ask for it (the lab's server for ".")."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port(UNBOUND_IP)
    (workdir / "anchor.key").write_text(anchor)
    stub_text = "".join(f"stub-zone:\n    name: \"{zone}\"\n    stub-addr: {addr}\n"
                        for zone, addr in stubs.items())
    conf = workdir / "unbound.conf"
    conf.write_text(f"""\
server:
    interface: {UNBOUND_IP}
    port: {port}
    do-ip6: no
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    username: ""
    chroot: ""
    directory: "{workdir}"
    pidfile: "{workdir / 'unbound.pid'}"
    use-syslog: no
    logfile: ""
    verbosity: {os.environ.get("MXAUDIT_UNBOUND_VERBOSITY", "1")}
    val-log-level: 2
    num-threads: 1
    so-reuseport: no
    qname-minimisation: no
    aggressive-nsec: no
    module-config: "validator iterator"
    trust-anchor-file: "{workdir / 'anchor.key'}"
    harden-dnssec-stripped: yes
    # test. is one of Unbound's default local zones (RFC 6761): resolve it like any zone
    local-zone: "test." nodefault
remote-control:
    control-enable: no
{stub_text}""")
    check = subprocess.run([_binary("unbound-checkconf"), str(conf)], capture_output=True, text=True)
    if check.returncode != 0:
        raise PeerStartError(f"unbound-checkconf: {check.stdout}{check.stderr}")
    log = workdir / "unbound.log"
    process = subprocess.Popen([_binary("unbound"), "-d", "-c", str(conf)], stdin=subprocess.DEVNULL,
                               stdout=log.open("w"), stderr=subprocess.STDOUT)
    unbound = Unbound(port, _Process("unbound", process, log))
    def root_answers():
        rcode = ask(UNBOUND_IP, port, ".", "SOA", timeout=2).rcode()
        return rcode == dns.rcode.NOERROR or f"the root SOA: {dns.rcode.to_text(rcode)}"

    _wait(unbound.proc, root_answers, "answer for the root")
    return unbound
