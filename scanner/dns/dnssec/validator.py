"""The state of an answer: secure, insecure, bogus or indeterminate, with the reason.

``Validator.validate(name, type)`` asks (name, type) with DO set (scanner/dns/client.py
``query_signed``) and follows the answer:

- every RRset of the answer (each CNAME or DNAME of a chain, then the records) is checked
  against the keys of the zone that signed it (its RRSIG's signer; the key cache builds
  that zone's chain of trust from the closest trust anchor);
- an answer expanded from a wildcard (RRSIG Labels smaller than the owner's) also needs the
  NSEC/NSEC3 proof that no closer name exists (RFC 4035 5.3.4, RFC 5155 8.8);
- a negative answer (NXDOMAIN, NODATA) needs its NSEC/NSEC3 proof, signed by the zone;
- an unsigned RRset or denial is insecure only if the zone it lies in is provably unsigned:
  the validator walks down from the trust anchor asking DS for each label (RFC 4035 5.2;
  the walk finds zone cuts through a recursive resolver, also where parent and child zones
  are served by the same servers, since a DS question is answered from the parent side).
  If the walk ends in a signed zone, the missing signature makes the answer bogus.

A resolver that returns no RRSIG even for the trust anchor's own DNSKEY RRset does not
support DNSSEC or strips it: every answer is then indeterminate, never bogus, and
``resolver_problem`` says so for the scan (the ``env.resolver`` note).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace

import dns.exception
import dns.name
import dns.rdatatype

from scanner.dns.dnssec import nsec, nsec3
from scanner.dns.dnssec.anchors import TrustAnchors
from scanner.dns.dnssec.keys import KeyCache, ZoneKeys, keys_from_anchor, keys_from_ds
from scanner.dns.dnssec.policy import DEFAULT_POLICY, Policy
from scanner.dns.dnssec.response import SignedAnswer
from scanner.dns.dnssec.signatures import label_count, verify_rrset
from scanner.evidence.dns import DnsOutcome
from scanner.evidence.dnssec import Security, Validation, worst_state
from scanner.memo import SharedOnce

_CNAME, _DNAME, _DS, _DNSKEY = (dns.rdatatype.CNAME, dns.rdatatype.DNAME, dns.rdatatype.DS,
                                dns.rdatatype.DNSKEY)
_NSEC, _NSEC3, _SOA = dns.rdatatype.NSEC, dns.rdatatype.NSEC3, dns.rdatatype.SOA
MAX_CHAIN = 16      # CNAME/DNAME hops of one answer
MAX_DEPTH = 40      # labels walked below a trust anchor
MAX_DETAIL = 600    # characters of a reason kept in the evidence (names come from the DNS)


# The DNS layer the validator asks through while it works for one domain (``asking``): the
# domain's budgeted view of the scan's client (scanner/collect/budget.py DomainDns, with
# ``query_signed`` and ``query_shared``). Shared work started meanwhile (a zone's keys, a
# walk) runs in a Task that copies the context, so it is charged to the domain that started
# it, and ends with the last domain waiting for it (scanner/memo.py).
_VIA: ContextVar = ContextVar("dnssec_via", default=None)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_DETAIL else text[:MAX_DETAIL - 3] + "..."


@dataclass(frozen=True)
class Step:
    """The state of one part of an answer (an RRset, a denial, a walk)."""

    state: Security
    detail: str = ""
    chain: tuple[str, ...] = ()
    zone: dns.name.Name | None = None    # the zone whose keys vouched for it
    labels: int = -1                     # a verified RRSIG's Labels field
    delegation: bool = False             # a DS denial at a delegation point (unsigned child)


@dataclass(frozen=True)
class _Cut:
    """What the DS question at one name of a walk said (cached per scan, see ``zone_of``)."""

    kind: str                  # "signed" (a signed zone cut), "none" (no cut: walk on),
    #                            "end" (NXDOMAIN: nothing below), "stop" (insecure, bogus,
    #                            indeterminate: the walk's result is ``step``)
    keys: ZoneKeys | None = None
    step: Step | None = None


@dataclass(frozen=True)
class _Proof:
    """The authority section's NSEC and NSEC3 records that verified, as (owner, rdata)."""

    nsecs: list
    nsec3s: list
    bad: list          # "NSEC owner: why it did not verify"


def _from_keys(keys: ZoneKeys, what: str = "") -> Step:
    detail = keys.detail if not what else f"{what}: {keys.detail}"
    return Step(keys.state, detail, keys.chain, keys.zone)


class Validator:
    """One per scan (it holds the scan's key cache and answer cache)."""

    def __init__(self, client, anchors: TrustAnchors, *, policy: Policy = DEFAULT_POLICY,
                 clock: Callable[[], float] = time.time, max_entries: int = 50_000,
                 on_resolver_problem: Callable[[str], None] | None = None) -> None:
        self._client = client
        self.anchors = anchors
        self.policy = policy
        self._clock = clock
        self.keys = KeyCache(self, max_entries)
        self._answers: SharedOnce[Validation] = SharedOnce(max_entries)
        self._cuts: SharedOnce[_Cut] = SharedOnce(max_entries)
        self.resolver_problem = ""
        self._on_resolver_problem = on_resolver_problem

    @property
    def _dns(self):
        via = _VIA.get()
        return via if via is not None else self._client

    @contextmanager
    def asking(self, via) -> Iterator[None]:
        """Every question of the validations started inside goes through ``via`` (a
        domain's DomainDns: its DNS slots and deadline), None for the scan's client."""
        token = _VIA.set(via)
        try:
            yield
        finally:
            _VIA.reset(token)

    async def _query_plain(self, name: str, rdtype: str):
        via = _VIA.get()
        return await (via.query_shared(name, rdtype) if via is not None
                      else self._client.query(name, rdtype))

    # ------------------------------------------------------------------ answers
    async def validate(self, name: str, rdtype: str, *, walk_first: bool = False) -> Validation:
        """The validated state of (name, type); once per scan per question.

        An answer under a delegation already proven unsigned is insecure whatever it holds:
        it is then taken from the scan's plain DNS cache, without a DNSSEC question (most
        domains are unsigned; their hosts, TLSA names and the like cost nothing more).
        ``walk_first``: walk down to ``name`` before asking (for a domain's own apex, whose
        DS the walk asks anyway: an unsigned domain then needs no DNSSEC answer at all)."""
        key = (name.strip().rstrip(".").lower(), rdtype.upper())
        return await self._answers.get(key, lambda: self._validate(*key, walk_first=walk_first))

    async def _validate(self, name: str, rdtype: str, *, walk_first: bool = False) -> Validation:
        found = await self._judge(name, rdtype, walk_first)
        return replace(found, detail=_clip(found.detail)) if len(found.detail) > MAX_DETAIL else found

    async def _judge(self, name: str, rdtype: str, walk_first: bool) -> Validation:
        try:
            qname = dns.name.from_text(name + ".") if name else dns.name.root
        except (dns.exception.DNSException, ValueError, UnicodeError) as exc:
            return Validation(name, rdtype, Security.INDETERMINATE, DnsOutcome.ERROR, detail=str(exc))
        known = self._known_insecure(qname) or self._known_broken_anchor(qname)
        if known is None and walk_first:
            walk = await self.zone_of(qname)
            known = walk if walk.state is Security.INSECURE else None
        if known is not None:
            return await self._plain(name, rdtype, known)
        answer = await self._dns.query_signed(name, rdtype)
        base = Validation(name, rdtype, Security.INDETERMINATE, outcome=answer.outcome,
                          resolver_ad=answer.resolver_ad,
                          resolver_rejected=answer.resolver_rejected)
        if not answer.answered:
            return replace(base, detail=f"{rdtype} {name}: {answer.detail or answer.outcome}")
        now = int(self._clock())
        steps, outcome, final = await self._follow(answer, now)
        state = worst_state(s.state for s in steps)
        if state is not Security.SECURE:
            # what made it so may be known now (a walk above qname, the anchor's zone): say
            # it as a later question for a name there will, whichever domain came first
            known = self._known_insecure(qname) or self._known_broken_anchor(qname)
            if known is not None and known.state is state:
                return await self._plain(name, rdtype, known)
        worst = next(s for s in steps if s.state is state)
        shown = worst if state is not Security.SECURE else steps[-1]
        canonical = final.to_text(omit_final_dot=True).lower()
        return replace(base, state=state, outcome=outcome, chain=shown.chain,
                       detail=shown.detail, canonical=canonical if canonical != name else "")

    async def _plain(self, name: str, rdtype: str, known: Step) -> Validation:
        """An answer whose state is known without a DNSSEC question (a provably unsigned
        zone, a trust anchor that cannot be validated): its outcome from the plain cache."""
        res = await self._query_plain(name, rdtype)
        state = known.state if res.outcome.answered else Security.INDETERMINATE
        detail = known.detail if res.outcome.answered else res.describe()
        return Validation(name, rdtype, state, res.outcome,
                          canonical=res.canonical_name if res.via_cname else "",
                          chain=known.chain, detail=detail)

    def _known_broken_anchor(self, name: dns.name.Name) -> Step | None:
        """The trust anchor's own zone already failed (a resolver that strips DNSSEC or
        refuses the root, a stale anchor): every answer below it shares that state."""
        anchor = self.anchors.closest(name)
        keys = self.keys.peek(anchor.zone) if anchor is not None else None
        if keys is None or keys.state not in (Security.INDETERMINATE, Security.BOGUS):
            return None
        return _from_keys(keys)

    def _known_insecure(self, name: dns.name.Name) -> Step | None:
        """The insecure result of a finished walk above ``name`` (no question asked)."""
        anchor = self.anchors.closest(name)
        if anchor is None:
            return Step(Security.INSECURE, f"no trust anchor covers {name}")
        for labels in range(len(anchor.zone) + 1, len(name) + 1):
            cut = self._cuts.peek(dns.name.Name(name.labels[-labels:]))
            if cut is None or cut.kind == "end":
                return None
            if cut.kind == "stop":
                return cut.step if cut.step.state is Security.INSECURE else None
        return None

    async def _follow(self, answer: SignedAnswer, now: int):
        """Each RRset of the answer's CNAME/DNAME chain and the final records or denial:
        (steps, outcome, the final name)."""
        qtype, current, response = answer.qtype, answer.qname, answer
        steps: list[Step] = []
        for _ in range(MAX_CHAIN):
            final = response.rrset(current, qtype)
            if final is not None:
                steps.append(await self._positive(current, final, response, now))
                return steps, DnsOutcome.OK, current
            target = None
            if qtype != _CNAME:
                # a DNAME above the name comes first: the CNAME beside it is synthesised
                # from it and unsigned by design (RFC 6672 5.3.3)
                target = await self._dname(current, response, now, steps)
                cname = response.rrset(current, _CNAME) if target is None else None
                if cname is not None:
                    steps.append(await self._positive(current, cname, response, now))
                    target = cname[0].target
            if target is None:
                break
            current = target
            if response.rrset(current, qtype) is None and response.rrset(current, _CNAME) is None \
                    and not response.authority(_SOA):
                # the resolver did not follow the chain: ask for the target
                response = await self._dns.query_signed(current.to_text(), dns.rdatatype.to_text(qtype))
                if not response.answered:
                    steps.append(Step(Security.INDETERMINATE, f"{current}: {response.detail}"))
                    return steps, response.outcome, current
        else:
            steps.append(Step(Security.BOGUS, f"CNAME/DNAME chain longer than {MAX_CHAIN}"))
            return steps, DnsOutcome.ERROR, current
        nxdomain = response.outcome is DnsOutcome.NXDOMAIN
        steps.append(await self._denial(current, qtype, response, nxdomain, now))
        return steps, (DnsOutcome.NXDOMAIN if nxdomain else DnsOutcome.NODATA), current

    async def _dname(self, current: dns.name.Name, response: SignedAnswer, now: int,
                     steps: list[Step]) -> dns.name.Name | None:
        """A DNAME above ``current`` (RFC 6672): validate it and synthesise the target (the
        CNAME that comes with it is unsigned by design)."""
        owner = current
        while len(owner) > 1:
            owner = owner.parent()
            dname = response.rrset(owner, _DNAME)
            if dname is not None:
                steps.append(await self._positive(owner, dname, response, now))
                try:
                    return current.relativize(owner).derelativize(dname[0].target)
                except dns.name.NameTooLong:
                    steps.append(Step(Security.BOGUS, f"DNAME {owner}: synthesised name too long"))
                    return None
        return None

    async def _positive(self, owner: dns.name.Name, rrset, response: SignedAnswer,
                        now: int) -> Step:
        what = f"{dns.rdatatype.to_text(rrset.rdtype)} {owner}"
        step = await self.check_rrset(owner, rrset, response.sigs(owner, rrset.rdtype), now, what)
        if step.state is not Security.SECURE or step.labels >= label_count(owner):
            return step
        ce = dns.name.Name(owner.labels[-(step.labels + 1):])
        proof = await self._authority_proof(step.zone, response, now)
        if isinstance(proof, Step):
            return proof
        if proof.nsecs:
            denial = nsec.prove_wildcard_answer(owner, ce, proof.nsecs)
        elif proof.nsec3s:
            denial = nsec3.prove_wildcard_answer(owner, ce, proof.nsec3s, self.policy)
        else:
            denial = nsec.failed(f"{what} was expanded from the wildcard *.{ce} but no NSEC or "
                                 "NSEC3 proves that no closer name exists")
        return Step(denial.state, f"{what}: {denial.detail}", step.chain, step.zone)

    # ------------------------------------------------------------------ RRsets
    async def check_rrset(self, owner: dns.name.Name, rrset, sigs: list, now: int, what: str,
                          *, parent_side: bool = False) -> Step:
        """An RRset against the keys of the zone that signed it; an unsigned RRset is
        insecure only in a provably unsigned zone. ``parent_side``: a DS RRset, which the
        parent signs (its signer must be a proper ancestor)."""
        signers = {s.signer for s in sigs if owner.is_subdomain(s.signer)
                   and not (parent_side and s.signer == owner)}
        if not signers:
            if sigs:
                return Step(Security.BOGUS, f"{what}: RRSIG signer "
                                            f"{sorted(s.signer for s in sigs)[0]} is not a zone "
                                            f"above {owner}")
            return await self._unsigned(owner.parent() if parent_side else owner, what)
        signer = max(signers, key=len)
        keys = await self.keys.get(signer)
        if not keys.secure:
            return _from_keys(keys, f"{what} (signed by {signer})")
        checked = verify_rrset(owner, rrset, [s for s in sigs if s.signer == signer], signer,
                               keys.keys, now, self.policy)
        if not checked.ok:
            return Step(Security.BOGUS, f"{what}: {checked.reason}", keys.chain, signer)
        return Step(Security.SECURE, f"{what} signed by {signer} key {checked.key}", keys.chain,
                    signer, checked.labels)

    async def _unsigned(self, name: dns.name.Name, what: str) -> Step:
        walk = await self.zone_of(name)
        if walk.state is Security.SECURE:
            return Step(Security.BOGUS, f"{what} has no RRSIG, but it lies in the signed zone "
                                        f"{walk.zone} (stripped or forged)", walk.chain, walk.zone)
        return replace(walk, detail=f"{what}: {walk.detail}")

    # ------------------------------------------------------------------ denial
    async def _authority_proof(self, zone: dns.name.Name, response: SignedAnswer,
                               now: int) -> "_Proof | Step":
        """The NSEC and NSEC3 records of the authority section that verify with ``zone``'s
        keys; or a Step when the keys are not secure."""
        keys = await self.keys.get(zone)
        if not keys.secure:
            return _from_keys(keys)
        proof = _Proof([], [], [])
        for rdtype, pairs in ((_NSEC, proof.nsecs), (_NSEC3, proof.nsec3s)):
            for rrset in response.authority(rdtype):
                owner = rrset.name
                if not owner.is_subdomain(zone) or (rdtype == _NSEC3 and owner.parent() != zone):
                    continue
                checked = verify_rrset(owner, rrset, response.sigs(owner, rdtype, authority=True),
                                       zone, keys.keys, now, self.policy)
                if checked.ok:
                    pairs.extend((owner, rd) for rd in rrset)
                else:
                    proof.bad.append(f"{dns.rdatatype.to_text(rdtype)} {owner}: {checked.reason}")
        return proof

    async def _denial(self, qname: dns.name.Name, qtype: int, response: SignedAnswer,
                      nxdomain: bool, now: int) -> Step:
        """A negative answer: its NSEC/NSEC3 proof, signed by the zone (RFC 4035 5.4)."""
        kind = "NXDOMAIN" if nxdomain else "NODATA"
        what = f"{kind} for {dns.rdatatype.to_text(qtype)} {qname}"
        signers = set()
        for rdtype in (_NSEC, _NSEC3, _SOA):
            for rrset in response.authority(rdtype):
                signers.update(s.signer for s in response.sigs(rrset.name, rdtype, authority=True)
                               if qname.is_subdomain(s.signer))
        if qtype == _DS and qname in signers and len(qname) > 1:
            return Step(Security.BOGUS, f"{what} is signed by {qname} itself: the answer came "
                                        "from the child zone, not from the parent")
        if not signers:
            return await self._unsigned(qname.parent() if qtype == _DS and len(qname) > 1
                                        else qname, f"{what} (no signed NSEC, NSEC3 or SOA)")
        zone = max(signers, key=len)
        proof = await self._authority_proof(zone, response, now)
        if isinstance(proof, Step):
            return replace(proof, detail=f"{what}: {proof.detail}")
        keys = await self.keys.get(zone)      # (the SOA's own signature proves nothing here)
        if proof.nsecs:
            denial = (nsec.prove_nxdomain(qname, proof.nsecs) if nxdomain
                      else nsec.prove_nodata(qname, qtype, proof.nsecs))
        elif proof.nsec3s:
            denial = (nsec3.prove_nxdomain(qname, zone, proof.nsec3s, self.policy) if nxdomain
                      else nsec3.prove_nodata(qname, qtype, zone, proof.nsec3s, self.policy))
        else:
            denial = nsec.failed("no NSEC or NSEC3 record proves it")
        detail = denial.detail
        if denial.state is Security.BOGUS and proof.bad:
            detail += f"; records that did not verify: {'; '.join(proof.bad[:2])}"
        return Step(denial.state, f"{what}: {detail}", keys.chain, zone,
                    delegation=denial.delegation)

    # ------------------------------------------------------------------ zones
    async def zone_of(self, name: dns.name.Name) -> Step:
        """The zone ``name`` lies in, walked down from its trust anchor with a DS question
        per label: SECURE with that zone (every cut on the way was signed), INSECURE at the
        first unsigned delegation (or without an anchor), BOGUS/INDETERMINATE if the walk
        breaks. What each DS question said is cached per scan (``_cut``): the walks of a
        scan's many names share their upper labels."""
        anchor = self.anchors.closest(name)
        if anchor is None:
            return Step(Security.INSECURE, f"no trust anchor covers {name}")
        keys = await self.keys.get(anchor.zone)
        if not keys.secure:
            return _from_keys(keys)
        depth = len(anchor.zone)
        if len(name) - depth > MAX_DEPTH:
            return Step(Security.INDETERMINATE, f"{name} is too deep to walk", keys.chain)
        for labels in range(depth + 1, len(name) + 1):
            cut = dns.name.Name(name.labels[-labels:])
            found = await self._cuts.get(cut, lambda cut=cut: self._classify(cut))
            if found.kind == "signed":
                keys = found.keys
            elif found.kind == "end":
                break               # nothing exists below: the name lies in ``keys.zone``
            elif found.kind == "stop":
                return found.step
        return Step(Security.SECURE, f"{name} lies in the signed zone {keys.zone}", keys.chain,
                    keys.zone)

    async def _classify(self, cut: dns.name.Name) -> _Cut:
        """The DS question at ``cut`` of a walk (its parent side is secure)."""
        answer = await self._dns.query_signed(cut.to_text(), "DS")
        if not answer.answered:
            return _Cut("stop", step=Step(Security.INDETERMINATE, f"DS {cut}: {answer.detail}"))
        if answer.rrset(cut, _DS) is not None:
            found = await self.keys.get(cut)
            return _Cut("signed", keys=found) if found.secure else _Cut("stop", step=_from_keys(found))
        if answer.rrset(cut, _CNAME) is not None:
            return _Cut("none")     # an alias is no zone cut
        nxdomain = answer.outcome is DnsOutcome.NXDOMAIN
        step = await self._denial(cut, _DS, answer, nxdomain, now=int(self._clock()))
        if step.state is not Security.SECURE:
            return _Cut("stop", step=step)
        if nxdomain:
            return _Cut("end")
        if step.delegation:         # a delegation without DS
            proof = step.detail.removeprefix(f"NODATA for DS {cut}: ")
            return _Cut("stop", step=Step(Security.INSECURE, f"{cut} is an unsigned delegation "
                                                             f"({proof})",
                                          step.chain + (f"{cut} unsigned",), cut))
        return _Cut("none")

    async def zone_keys(self, zone: dns.name.Name) -> ZoneKeys:
        """Build ``zone``'s keys (called once per zone by the key cache)."""
        now = int(self._clock())
        anchor = self.anchors.closest(zone)
        if anchor is None:
            return ZoneKeys(zone, Security.INSECURE, detail=f"no trust anchor covers {zone}")
        if anchor.zone == zone:
            answer = await self._dns.query_signed(zone.to_text(), "DNSKEY")
            if not answer.answered:
                return ZoneKeys(zone, Security.INDETERMINATE,
                                detail=f"DNSKEY {zone}: {answer.detail or answer.outcome}")
            dnskeys = answer.rrset(zone, _DNSKEY)
            sigs = answer.sigs(zone, _DNSKEY)
            if dnskeys is not None and not sigs:
                return self._stripped(zone, answer)
            return keys_from_anchor(anchor, dnskeys, sigs, now, self.policy)
        answer = await self._dns.query_signed(zone.to_text(), "DS")
        if not answer.answered:
            return ZoneKeys(zone, Security.INDETERMINATE, detail=f"DS {zone}: {answer.detail}")
        ds = answer.rrset(zone, _DS)
        if ds is None:
            return await self._no_ds(zone, answer, now)
        step = await self.check_rrset(zone, ds, answer.sigs(zone, _DS), now, f"DS {zone}",
                                      parent_side=True)
        if step.state is not Security.SECURE:
            return ZoneKeys(zone, step.state, chain=step.chain, detail=step.detail)
        keys = await self._dns.query_signed(zone.to_text(), "DNSKEY")
        if not keys.answered:
            return ZoneKeys(zone, Security.INDETERMINATE, chain=step.chain,
                            detail=f"DNSKEY {zone}: {keys.detail}")
        return keys_from_ds(zone, list(ds), keys.rrset(zone, _DNSKEY), keys.sigs(zone, _DNSKEY),
                            now, self.policy, step.chain)

    async def _no_ds(self, zone: dns.name.Name, answer: SignedAnswer, now: int) -> ZoneKeys:
        """A zone whose RRSIGs we saw, but the parent has no DS for it."""
        nxdomain = answer.outcome is DnsOutcome.NXDOMAIN
        step = await self._denial(zone, _DS, answer, nxdomain, now)
        if step.state is not Security.SECURE:
            return ZoneKeys(zone, step.state, chain=step.chain, detail=step.detail)
        if step.delegation:
            return ZoneKeys(zone, Security.INSECURE, chain=step.chain + (f"{zone} unsigned",),
                            detail=f"{zone} is an unsigned delegation: {step.detail}")
        return ZoneKeys(zone, Security.BOGUS, chain=step.chain,
                        detail=f"records claim to be signed by {zone}, but its parent proves "
                               f"{zone} is no zone cut ({step.detail})")

    def _stripped(self, zone: dns.name.Name, answer: SignedAnswer) -> ZoneKeys:
        how = ("does not support DNSSEC (the DO bit was not echoed)" if not answer.do_bit
               else "strips DNSSEC records (no RRSIG came with the DNSKEY RRset)")
        self.resolver_problem = f"the resolver {how}"
        if self._on_resolver_problem is not None:
            self._on_resolver_problem(self.resolver_problem)
        return ZoneKeys(zone, Security.INDETERMINATE,
                        detail=f"DNSKEY {zone} came without RRSIG: the resolver {how}; "
                               "DNSSEC cannot be validated through it (the scan's env.resolver "
                               "note)")
