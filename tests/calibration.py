"""The calibration fixture's evidence: the demo lab's domains as a real scan saw them, and
hand-made variants of its well-run domain (good.test), each changing one thing a real domain
gets wrong. tests/fixtures/calibration.toml is the contract (what each must be graded, and
why); tests/test_calibration.py holds the evidence to it.

    python -m tests.calibration --regenerate     # scan the lab demo again, rebuild the variants
    python -m tests.calibration --table          # print what the code grades now (to review)
    python -m tests.calibration --write          # put those grades into the contract file, keeping
                                                 # each domain's "why": review the git diff

The evidence is stored (tests/fixtures/calibration_evidence.json.gz): checks judge it by its
own scan time, so the grades do not drift with the clock or with the lab's fresh keys.
"""
from __future__ import annotations

import base64
import hashlib
import gzip
import json
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from scanner.evidence import AddressEvidence, DnsOutcome, DnsResult, DomainEvidence
from scanner.evidence.dnssec import MxHostDnssec, Security, TlsaLookup, TlsaRecord, Validation
from scanner.evidence.mx import PtrEvidence
from scanner.evidence.records import DmarcReportAuth, MtaStsEvidence
from scanner.evidence.smtp import SmtpProbe
from scanner.serde import dumps, from_jsonable

FIXTURES = Path(__file__).parent / "fixtures"
EVIDENCE = FIXTURES / "calibration_evidence.json.gz"
CONTRACT = FIXTURES / "calibration.toml"
CISA = "mailto:reports@dmarc.cyber.dhs.gov"


# ------------------------------------------------------------------------ evidence surgery
def _txt(result: DnsResult, *records: str, outcome: DnsOutcome = DnsOutcome.OK) -> DnsResult:
    return replace(result, outcome=outcome if records or outcome is not DnsOutcome.OK
                   else DnsOutcome.NODATA, records=records)


def with_spf(ev: DomainEvidence, record: str, *, lookups: int | None = None) -> DomainEvidence:
    spf = ev.records.spf
    root = replace(spf.nodes[0], records=(record,), txt=_txt(spf.nodes[0].txt, record))
    spf = replace(spf, nodes=(root, *spf.nodes[1:]),
                  lookups=spf.lookups if lookups is None else lookups)
    return replace(ev, records=replace(ev.records, spf=spf))


def with_dmarc(ev: DomainEvidence, record: str | None, *,
               outcome: DnsOutcome = DnsOutcome.OK, auths: tuple = ()) -> DomainEvidence:
    dmarc = ev.records.dmarc
    lookup = (_txt(dmarc.lookup, record) if record is not None
              else _txt(dmarc.lookup, outcome=outcome if outcome is not DnsOutcome.OK
                        else DnsOutcome.NXDOMAIN))
    dmarc = replace(dmarc, lookup=lookup, authorisations=auths or dmarc.authorisations)
    return replace(ev, records=replace(ev.records, dmarc=dmarc))


def without_mta_sts(ev: DomainEvidence) -> DomainEvidence:
    sts = ev.records.mta_sts
    return replace(ev, records=replace(ev.records, mta_sts=MtaStsEvidence(
        txt=_txt(sts.txt, outcome=DnsOutcome.NXDOMAIN))))


def with_mta_sts_mode(ev: DomainEvidence, mode: str) -> DomainEvidence:
    sts = ev.records.mta_sts
    body = sts.fetch.body.replace("mode: enforce", f"mode: {mode}")
    fetch = replace(sts.fetch, body=body, size=len(body.encode()))
    return replace(ev, records=replace(ev.records, mta_sts=replace(sts, fetch=fetch)))


def with_dkim_key(ev: DomainEvidence, record: str) -> DomainEvidence:
    dkim = ev.records.dkim
    probes = tuple(replace(p, lookup=_txt(p.lookup, record)) if p.lookup.ok else p
                   for p in dkim.probes)
    return replace(ev, records=replace(ev.records, dkim=replace(dkim, probes=probes)))


def with_ipv6(ev: DomainEvidence, *, routed: bool = True) -> DomainEvidence:
    """A public IPv6 address (with forward-confirmed reverse DNS) on every MX host. ``routed``:
    probed, answering as the host's IPv4 address did; else held back as a scanner without an
    IPv6 route holds it (CHECKS.md env.ipv6: the endpoint names the note, no connection)."""
    hosts, probes = [], []
    for i, h in enumerate(ev.mx.hosts):
        ip = f"2a01:4f8:25::{i + 1}"
        aaaa = DnsResult(h.name, "AAAA", DnsOutcome.OK, (ip,), h.name)
        ptr = PtrEvidence(DnsResult(f"{ip} ptr", "PTR", DnsOutcome.OK, (f"{h.name}.",)),
                          (aaaa,), h.name)
        hosts.append(replace(h, aaaa=aaaa, addresses=(*h.addresses,
                                                      AddressEvidence(ip, 6, True, False, ptr))))
        for p in ev.smtp:
            if p.host == h.name and p.ip == h.addresses[0].ip:
                probes.append(replace(p, ip=ip) if routed else _held(
                    p, ip, "env.ipv6", "not probed: this host has no route to IPv6 addresses "
                                       "like this one"))
    return replace(ev, mx=replace(ev.mx, hosts=tuple(hosts)), smtp=(*ev.smtp, *probes))


def _held(p: SmtpProbe, ip: str, note: str, reason: str) -> SmtpProbe:
    """The evidence of an endpoint the scanner's own network kept from being probed, as
    scanner/collect/environment.py records it."""
    return SmtpProbe(host=p.host, ip=ip, port=p.port, role=p.role, environment=note,
                     error=reason, transcript=(f"*: {reason} ({note})",))


def port25_filtered(ev: DomainEvidence) -> DomainEvidence:
    """Every port-25 endpoint (role smtp: the lab's port 25 is a high port) held back: a scan
    from a host whose outbound port 25 is filtered."""
    reason = ("not probed: outbound port 25 looks filtered from this host (port-25 connections "
              "to 3 different MX addresses timed out while their other ports answered)")
    return replace(ev, smtp=tuple(_held(p, p.ip, "env.port25", reason) if p.role == "smtp" else p
                                  for p in ev.smtp))


def _rsa_1024() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"


def signed_with_dane(ev: DomainEvidence, *, rollover: bool = True) -> DomainEvidence:
    """``ev`` as if its zone and its MX hosts' zones were DNSSEC-signed (every validation
    secure, from the built-in root anchor) and each MX host published a DANE-EE TLSA record
    (3 1 1) for the key its port 25 (the lab: its "smtp" role port) presented: what TR-03108
    and internet.nl ask for. ``rollover``: a second record for the next key (dane.rollover)."""
    d = ev.dnssec
    chain = (". 20326/8", "test. 1/13", f"{ev.domain}. 2/13")

    def secure(v: Validation | None) -> Validation | None:
        return v and replace(v, state=Security.SECURE, chain=chain, detail="")

    def host(h: MxHostDnssec) -> MxHostDnssec:
        leaves = [p.tls.chain[0] for p in ev.smtp if p.host == h.host and p.role == "smtp"
                  and p.tls is not None and p.tls.chain and p.tls.chain[0].spki_sha256]
        name = f"_25._tcp.{h.host}"
        keys = [*dict.fromkeys(leaf.spki_sha256 for leaf in leaves)]
        if keys and rollover:       # RFC 7671 8.1: the next key published beside the current
            keys.append(hashlib.sha256(f"next key of {h.host}".encode()).hexdigest())
        records = tuple(TlsaRecord(3, 1, 1, spki, 32) for spki in keys)
        lookup = TlsaLookup(name, Validation(name, "TLSA", Security.SECURE, chain=chain), records)
        return replace(h, a=secure(h.a), aaaa=secure(h.aaaa), tlsa=lookup, tlsa_skipped="")

    signed = replace(d, domain=secure(d.domain), hosts=tuple(host(h) for h in d.hosts))
    return replace(ev, dnssec=signed)


def variants(good: DomainEvidence) -> dict[str, DomainEvidence]:
    """good.test with one thing changed each (the contract says why each matters). Each keeps
    the domain name good.test (its records name it) and is told apart by its input label."""
    def named(name: str, ev: DomainEvidence) -> DomainEvidence:
        return replace(ev, input=name)

    cisa_auth = DmarcReportAuth(
        "dmarc.cyber.dhs.gov", CISA,
        DnsResult("good.test._report._dmarc.dmarc.cyber.dhs.gov", "TXT", DnsOutcome.OK,
                  ("v=DMARC1",)))
    exemplary = with_ipv6(signed_with_dane(good))
    plus_all = with_spf(good, "v=spf1 mx +all")
    return {name: named(name, ev) for name, ev in {
        "exemplary.test": exemplary,
        "signed-dane.test": signed_with_dane(good),
        "dane-one-key.test": with_ipv6(signed_with_dane(good, rollover=False)),
        "dmarc-none.test": with_dmarc(good, "v=DMARC1; p=none; rua=mailto:dmarc@good.test"),
        "dmarc-quarantine.test": with_dmarc(good, "v=DMARC1; p=quarantine; "
                                                  "rua=mailto:dmarc@good.test"),
        "no-dmarc.test": with_dmarc(good, None),
        "dmarc-servfail.test": with_dmarc(good, None, outcome=DnsOutcome.SERVFAIL),
        "softfail.test": with_spf(good, "v=spf1 mx ~all"),
        "plus-all.test": plus_all,
        "neutral-all.test": with_spf(good, "v=spf1 mx ?all"),
        "spf-permerror.test": with_spf(good, "v=spf1 mx -all", lookups=11),
        "no-mta-sts.test": without_mta_sts(good),
        "mta-sts-testing.test": with_mta_sts_mode(good, "testing"),
        "dkim-1024.test": with_dkim_key(good, _rsa_1024()),
        "bod-ready.test": with_dmarc(exemplary, f"v=DMARC1; p=reject; rua={CISA}",
                                     auths=(cisa_auth,)),
        "port25-filtered.test": port25_filtered(good),
        "port25-filtered-plus-all.test": port25_filtered(plus_all),
        "ipv6-unprobed.test": with_ipv6(signed_with_dane(good), routed=False),
    }.items()}


# -------------------------------------------------------------------------- the fixture
def load_evidence() -> dict[str, DomainEvidence]:
    with gzip.open(EVIDENCE, "rt", encoding="utf-8") as fh:
        doc = json.load(fh)
    return {name: from_jsonable(DomainEvidence, json.loads(text))
            for name, text in doc["evidence"].items()}


def _demo_evidence() -> dict[str, DomainEvidence]:
    """A real scan of the lab demo, through the command line."""
    with tempfile.TemporaryDirectory(prefix="mxaudit-calibration-") as tmp:
        subprocess.run([sys.executable, "-m", "scanner", "demo", "--out", tmp, "-q"], check=True,
                       cwd=Path(__file__).resolve().parents[1], timeout=300)
        out = {}
        for line in (Path(tmp) / "results.jsonl").read_text(encoding="utf-8").splitlines():
            obj = json.loads(line)
            ev = from_jsonable(DomainEvidence, obj["evidence"])
            out[ev.input] = ev
        return out


def regenerate() -> None:
    demo = _demo_evidence()
    everything = {**demo, **variants(demo["good.test"])}
    doc = {"about": "tests/calibration.py: the lab demo's evidence and variants of good.test",
           "evidence": {name: dumps(ev) for name, ev in everything.items()}}
    data = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    EVIDENCE.write_bytes(gzip.compress(data, 9, mtime=0))


def graded() -> dict[str, dict[str, object]]:
    """domain -> profile -> its verdict now."""
    from scanner.api import get_profile
    from scanner.profiles import builtin_names
    from scanner.result import judge

    evidence = load_evidence()
    profiles = {name: get_profile(name) for name in builtin_names()}
    return {domain: {name: judge(ev, p).verdict for name, p in profiles.items()}
            for domain, ev in evidence.items()}


def table() -> None:
    for domain, by_profile in graded().items():
        print(f"[{domain}]")
        for name, v in by_profile.items():
            print(f'{name} = "{v.grade} {v.score}"   # {" ".join(v.caps)}')


def write() -> None:
    """Rewrite the contract's "grade score" lines from what the code grades now; the header,
    sources and whys stay. A domain new to the evidence needs its source and why by hand."""
    import re

    lines = CONTRACT.read_text(encoding="utf-8").splitlines(keepends=True)
    now = graded()
    domain = None
    out = []
    for line in lines:
        head = re.match(r'\[domains\."(.*)"\]', line)
        if head:
            domain = head.group(1)
        m = re.match(r'([a-z0-9-]+) = "(.*)"$', line.rstrip("\n"))
        if domain in now and m and m.group(1) in now[domain]:
            v = now[domain][m.group(1)]
            line = f'{m.group(1)} = "{v.grade} {v.score}"\n'
        out.append(line)
    CONTRACT.write_text("".join(out), encoding="utf-8")


if __name__ == "__main__":
    if "--regenerate" in sys.argv:
        regenerate()
    if "--table" in sys.argv:
        table()
    if "--write" in sys.argv:
        write()
