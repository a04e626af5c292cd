"""Checks: DKIM key records (CHECKS.md, DKIM table).

Key records are parsed with the shared tag-value parser; the key size with the pure DER
reader of scanner/parsers/dkimkey.py (no DKIM library, which would bring its DNS code along).

Five checks judge the same keys: they are analysed once per evidence (``_keys``), and a key
record seen before (domains of one provider publish the same key) is not parsed again.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from scanner.evidence import DomainEvidence
from scanner.evidence.records import DkimProbe
from scanner.findings import Status
from scanner.registry import Outcome, check, per_evidence
from scanner.parsers.dkimkey import BadKey, ed25519_bits, rsa_bits
from scanner.parsers.tagvalue import TagList, clip, has_version, locate, parse, split_list
from scanner.checks._policy import listing
from scanner.derived import answered_records, family
from scanner.derived import effective as dmarc_effective


@dataclass(frozen=True)
class DkimKey:
    selector: str
    name: str                 # <selector>._domainkey.<domain>
    record: str
    tags: TagList
    key_type: str = ""        # "rsa" | "ed25519" | other k= value
    bits: int = 0
    key_error: str = ""       # why the key could not be used
    revoked: bool = False


def key_record(records: tuple[str, ...]) -> str | None:
    """The DKIM key record among the TXT records at a selector (v=DKIM1, or a p= tag)."""
    found = locate(records, "DKIM1")
    if found:
        return found[0]
    for r in records:
        if not has_version(r, "spf1", spf=True) and "p" in parse(r):
            return r
    return None


def analyse(probe: DkimProbe, domain: str) -> DkimKey | None:
    if not probe.lookup.records:     # most selectors tried have nothing
        return None
    record = key_record(answered_records(probe.lookup))
    if record is None:
        return None
    tags = parse(record)
    name = f"{probe.selector}._domainkey.{domain}"
    p = re.sub(r"\s+", "", tags.get("p") or "")
    k = (tags.get("k") or "rsa").lower()
    if "p" in tags and not p:
        return DkimKey(probe.selector, name, record, tags, k, revoked=True)
    bits, error = key_size(tags, p, k)
    return DkimKey(probe.selector, name, record, tags, k, bits, error)


@functools.lru_cache(maxsize=1024)
def _sized(p: str, k: str) -> tuple[int, str]:
    """Key size for a p= value seen before (domains of one provider publish the same key)."""
    try:
        return (ed25519_bits(p) if k == "ed25519" else rsa_bits(p)), ""
    except BadKey as exc:
        return 0, f"unparsable {'ed25519' if k == 'ed25519' else 'RSA'} key: {exc}"


def key_size(tags: TagList, p: str, k: str) -> tuple[int, str]:
    """(bits, why the key cannot be used). A malformed tag-list makes the whole record invalid
    (RFC 6376 3.2), so verifiers cannot use its key either."""
    if tags.duplicates:
        return 0, f"invalid key record: duplicate tag {clip(tags.duplicates[0], 40)}"
    if tags.errors:
        return 0, f"invalid key record: {clip(tags.errors[0], 80)}"
    version = tags.get("v")
    if version is not None and version != "DKIM1":
        return 0, f"v={clip(version, 40)} is not DKIM1"
    if k not in ("rsa", "ed25519"):
        return 0, f"unknown key type k={clip(k, 40)}"
    if "p" not in tags:
        return 0, "no p= tag: the key record is incomplete"
    return _sized(p, k) if len(p) <= _CACHED_KEY_MAX else _sized.__wrapped__(p, k)


_CACHED_KEY_MAX = 4096   # a 4096-bit RSA key is ~750 characters of base64


@per_evidence
def _keys(ev: DomainEvidence) -> tuple[tuple[DkimKey, ...] | None, Outcome | None]:
    dk, problem = family(ev, "dkim")
    if problem:
        return None, problem
    keys = tuple(k for k in (analyse(p, ev.domain) for p in dk.probes) if k is not None)
    return keys, None


def _per_key(ev: DomainEvidence, judge) -> list[Outcome]:
    keys, problem = _keys(ev)
    if problem:
        return [problem]
    live = [k for k in keys if not k.revoked]
    if not live:
        return [Outcome(Status.SKIPPED, "no DKIM key record found")]
    return [o for o in (judge(k) for k in live) if o is not None]


def non_sending(ev: DomainEvidence) -> bool:
    """Null MX + 'v=spf1 -all' + DMARC p=reject: the domain declares it sends no mail."""
    if ev.mx is None or not ev.mx.null_mx or ev.records is None or ev.records.spf is None:
        return False
    spf = ev.records.spf.root.records
    if len(spf) != 1 or " ".join(spf[0].lower().split()) != "v=spf1 -all":
        return False
    rec, _ = dmarc_effective(ev)
    return rec is not None and (rec.tags.get("p") or "").lower() == "reject"


@check("dkim.present", title="DKIM key published", category="sender", reference="RFC 6376 3.6",
       remediation="Sign outgoing mail with DKIM and publish the key at "
                   "<selector>._domainkey.<domain>; tell mxaudit the selector (--dkim-selector "
                   "or the dkim_selectors input column) if it is not a common one.")
def dkim_present(ev: DomainEvidence):
    dk, problem = family(ev, "dkim")
    if problem:
        return [problem]
    if non_sending(ev):
        return [Outcome(Status.SKIPPED, "the domain declares it sends no mail "
                                        "(null MX, v=spf1 -all, DMARC p=reject)")]
    keys, _ = _keys(ev)
    live = [k.selector for k in keys if not k.revoked]
    tried = [p.selector for p in dk.probes]
    if live:
        return [Outcome(Status.PASS, f"key record(s) at selector(s): {listing(live)} "
                                     f"({len(tried)} tried)")]
    failed = [f"{p.selector} ({p.lookup.outcome})" for p in dk.probes
              if not p.lookup.outcome.answered]
    if failed:
        return [Outcome(Status.ERROR, f"no key found, and {len(failed)} selector lookup(s) "
                                      f"failed: {listing(failed, 5)}")]
    revoked = [k.selector for k in keys if k.revoked]
    extra = f"; revoked key(s) only at {listing(revoked)}" if revoked else ""
    return [Outcome(Status.WARN, f"no key record among the {len(tried)} selectors tried "
                                 f"({listing(tried, 40)}){extra}")]


@check("dkim.key", title="DKIM key strength", category="sender", reference="RFC 8301, RFC 8463",
       remediation="Publish a 2048-bit RSA (or ed25519) key and sign with it; retire keys "
                   "shorter than 2048 bits.")
def dkim_key(ev: DomainEvidence):
    def judge(k: DkimKey) -> Outcome:
        if k.key_error:
            return Outcome(Status.FAIL, k.key_error, subject=k.name)
        if k.key_type == "ed25519":
            return Outcome(Status.PASS, "ed25519 key", subject=k.name)
        if k.bits < 1024:
            return Outcome(Status.FAIL, f"RSA {k.bits} bits (< 1024)", subject=k.name)
        if k.bits < 2048:
            return Outcome(Status.WARN, f"RSA {k.bits} bits (< 2048)", subject=k.name)
        return Outcome(Status.PASS, f"RSA {k.bits} bits", subject=k.name)
    return _per_key(ev, judge)


def record_errors(k: DkimKey) -> list[str]:
    tags = k.tags
    errors = list(tags.errors) + [f"duplicate tag {d}" for d in tags.duplicates]
    if "v" in tags and (tags.first != "v" or tags.get("v") != "DKIM1"):
        errors.append("v= must come first and be DKIM1")
    if "p" not in tags:
        errors.append("missing p= tag")
    if k.key_type not in ("rsa", "ed25519"):
        errors.append(f"unknown key type k={clip(k.key_type, 30)}")
    hashes = split_list(tags.get("h") or "", ":")
    if "h" in tags and not hashes:
        errors.append("empty h= tag")
    unknown = [h for h in hashes if h.lower() not in ("sha1", "sha256")]
    if unknown and len(unknown) == len(hashes):
        errors.append(f"h= names no known hash ({clip(tags.get('h') or '', 40)})")
    services = [s.lower() for s in split_list(tags.get("s") or "*", ":")]
    if not {"*", "email"} & set(services):
        errors.append(f"s={clip(tags.get('s') or '', 30)}: not usable for email")
    return errors


@check("dkim.syntax", title="DKIM key record syntax", category="sender",
       reference="RFC 6376 3.6.1",
       remediation="Fix the DKIM key record: 'v=DKIM1; k=rsa; p=<base64 key>' (tags separated "
                   "by ';', k=rsa or ed25519, h=sha256).")
def dkim_syntax(ev: DomainEvidence):
    keys, problem = _keys(ev)
    if problem:
        return [problem]
    if not keys:
        return [Outcome(Status.SKIPPED, "no DKIM key record found")]
    out = []
    for k in keys:
        if k.revoked:
            out.append(Outcome(Status.INFO, "revoked key (empty p=)", subject=k.name))
            continue
        errors = record_errors(k)
        if errors:
            out.append(Outcome(Status.FAIL, listing(errors, 5), subject=k.name))
        else:
            out.append(Outcome(Status.PASS, f"valid key record: {clip(k.record, 80)}",
                               subject=k.name))
    return out


@check("dkim.testing", title="DKIM testing mode", category="sender", reference="RFC 6376 3.6.1",
       remediation="Remove t=y from the key record once DKIM signing works.")
def dkim_testing(ev: DomainEvidence):
    def judge(k: DkimKey) -> Outcome:
        flags = [f.lower() for f in split_list(k.tags.get("t") or "", ":")]
        if "y" in flags:
            return Outcome(Status.WARN, "t=y: the domain is testing DKIM, verifiers may ignore "
                                        "failures", subject=k.name)
        return Outcome(Status.PASS, "not in testing mode", subject=k.name)
    return _per_key(ev, judge)


@check("dkim.hash", title="DKIM hash algorithms", category="sender", reference="RFC 8301",
       remediation="Remove h=sha1 (or allow sha256): RFC 8301 forbids signing with SHA-1.")
def dkim_hash(ev: DomainEvidence):
    def judge(k: DkimKey) -> Outcome:
        hashes = [h.lower() for h in split_list(k.tags.get("h") or "", ":")]
        if hashes and "sha256" not in hashes and "sha1" in hashes:
            return Outcome(Status.WARN, "h=sha1 only", subject=k.name)
        shown = ":".join(hashes) if hashes else "any (no h= tag)"
        return Outcome(Status.PASS, f"hash algorithms: {shown}", subject=k.name)
    return _per_key(ev, judge)
