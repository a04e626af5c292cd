"""The validator end to end: the scanner's DnsClient asks a lab DNS server serving zones
signed at test time (NSEC and NSEC3, opt-out, broken in each way that matters), and every
answer gets the state RFC 4035 says, with a reason naming what broke."""
from __future__ import annotations

from dataclasses import replace

import dns.name
import dns.rdataclass
import dns.rdatatype
import pytest

from scanner.dns.dnssec.policy import DEFAULT_POLICY
from scanner.evidence.dns import DnsOutcome
from scanner.evidence.dnssec import Security
from scanner.lab import dns_proofs
from scanner.lab.signing import SignPlan, sign_zone
from tests.dns.dnssec.signed_lab import NOW, basic_zones, run, signed

S, I, B, X = Security.SECURE, Security.INSECURE, Security.BOGUS, Security.INDETERMINATE
OK, NODATA, NX = DnsOutcome.OK, DnsOutcome.NODATA, DnsOutcome.NXDOMAIN
DAY = 86400


def states(results):
    return [(r.state, r.outcome) for r in results]


@pytest.mark.parametrize("denial", ["nsec", "nsec3"])
def test_secure_answers_and_denials(denial):
    z = "sec.test"
    questions = [(z, "MX"), (f"mx.{z}", "A"), (f"mx.{z}", "AAAA"), (f"nx.{z}", "A"),
                 (f"x.wild.{z}", "MX"), (f"x.wild.{z}", "A"), (f"b.c.{z}", "A"), (f"alias.{z}", "A")]
    results, _, _ = run(basic_zones("sec"), signed(sec=SignPlan(denial=denial)), questions)
    assert states(results) == [(S, OK), (S, OK), (S, NODATA), (S, NX), (S, OK), (S, NODATA),
                               (S, NODATA), (S, OK)]
    mx = results[0]
    assert [c.split()[0] for c in mx.chain] == [".", "test.", "sec.test."]
    assert "expanded from *.wild.sec.test." in results[4].detail
    assert results[7].canonical == "mx.sec.test"


def test_parent_and_child_on_one_server_ds_comes_from_the_parent():
    """Every zone of the lab is on one server: the DS of sec.test must be test.'s record."""
    _, validator, server = run(basic_zones("sec"), signed("sec"), [("sec.test", "MX")])
    assert server.signed_query_counts[("sec.test", "DS")] == 1
    assert validator.keys.built == 3       # ., test., sec.test.: each once


def test_keys_are_validated_once_per_zone_per_scan():
    z = "sec.test"
    questions = [(z, "MX"), (f"mx.{z}", "A"), (f"nx.{z}", "A"), (f"alias.{z}", "A")]
    _, _, server = run(basic_zones("sec"), signed("sec"), questions)
    assert server.signed_query_counts[(z, "DNSKEY")] == 1
    assert server.signed_query_counts[("test", "DNSKEY")] == 1


@pytest.mark.parametrize("parent", ["nsec", "nsec3"])
def test_unsigned_delegation_is_insecure(parent):
    plan = {".": SignPlan(), "test": SignPlan(denial=parent)}
    results, _, _ = run(basic_zones("plain"), plan, [("plain.test", "MX"), ("nx.plain.test", "A")])
    assert states(results) == [(I, OK), (I, NX)]
    assert "plain.test. is an unsigned delegation" in results[0].detail
    assert results[0].chain[-1] == "plain.test. unsigned"


def test_opt_out_spans_are_insecure():
    zones = basic_zones("oo")
    zones["child.oo.test"] = "@ MX 10 mx.oo.test."
    results, _, _ = run(zones, signed(oo=SignPlan(denial="nsec3", opt_out=True)),
                        [("oo.test", "MX"), ("child.oo.test", "MX"), ("nx.oo.test", "A")])
    assert states(results) == [(S, OK), (I, OK), (I, NX)]
    assert "Opt-Out" in results[1].detail


def test_expired_and_not_yet_valid_signatures_are_bogus():
    results, _, _ = run(basic_zones("old", "new"), signed(old=SignPlan(expired=True)),
                        [("old.test", "MX")])
    assert states(results) == [(B, OK)]
    assert "expired" in results[0].detail and "DNSKEY old.test." in results[0].detail


@pytest.mark.parametrize("clock, state", [
    (NOW - 3600, S),             # the inception second itself
    (NOW - 3601, B),             # one second before it: not yet valid
    (NOW + 30 * DAY, S),         # the expiration second itself
    (NOW + 30 * DAY + 1, B),     # one second after it: expired
])
def test_the_scan_clock_at_the_window_edges(clock, state):
    results, _, _ = run(basic_zones("sec"), signed("sec"), [("sec.test", "MX")], clock=clock)
    assert results[0].state is state
    if state is B:
        assert ("not yet valid" if clock < NOW else "expired") in results[0].detail


def test_ds_without_a_matching_dnskey_is_bogus():
    results, _, _ = run(basic_zones("mm"), signed(mm=SignPlan(ds="mismatch")), [("mm.test", "MX")])
    assert states(results) == [(B, OK)]
    assert "DS " in results[0].detail and "matches no DNSKEY" in results[0].detail


@pytest.mark.parametrize("digest", [1, 2, 4])
def test_ds_digest_types(digest):
    results, _, _ = run(basic_zones("dg"), signed(dg=SignPlan(digest=digest)), [("dg.test", "MX")])
    assert results[0].state is S


def test_a_sha1_ds_is_ignored_when_a_sha256_ds_exists():
    """RFC 4509 3: a correct SHA-1 DS does not rescue a wrong SHA-256 DS."""
    def prepare(server, world):
        keys = world.keys["dg.test."]
        parent = server.zones[dns.name.from_text("test.")]
        rds = parent.find_rdataset("dg.test.", "DS")
        rds.clear()
        good_sha1 = keys.ds(dns.name.from_text("dg.test."), 1)
        bad = keys.ds(dns.name.from_text("dg.test."), 2).replace(digest=b"\x00" * 32)
        rds.add(good_sha1, 300)
        rds.add(bad, 300)
        sign_zone(parent, world.keys["test."], SignPlan(), now=NOW)
    results, _, _ = run(basic_zones("dg"), signed("dg"), [("dg.test", "MX")], prepare=prepare)
    assert results[0].state is B


def test_stripped_rrsig_in_a_signed_zone_is_bogus():
    results, _, _ = run(basic_zones("st"), signed(st=SignPlan(strip=(("@", "MX"),))),
                        [("st.test", "MX"), ("mx.st.test", "A")])
    assert states(results) == [(B, OK), (S, OK)]
    assert "MX st.test. has no RRSIG, but it lies in the signed zone st.test." in results[0].detail


def test_forged_nsec_record_is_bogus():
    """An NSEC whose next name was changed after signing no longer verifies."""
    def prepare(server, world):
        zone = server.zones[dns.name.from_text("fg.test.")]
        rds = zone.find_rdataset("fg.test.", "NSEC")
        nsec = rds[0]
        rds.clear()
        rds.add(nsec.replace(next=dns.name.from_text("zzz.fg.test.")), 300)
    results, _, _ = run(basic_zones("fg"), signed("fg"), [("nx.fg.test", "A")], prepare=prepare)
    assert results[0].state is B
    assert "did not verify" in results[0].detail


@pytest.mark.parametrize("denial", ["nsec", "nsec3"])
def test_a_validly_signed_but_wrong_proof_is_bogus(denial, monkeypatch):
    """The server sends the NSEC/NSEC3 of the apex (signed, genuine) as its proof that a name
    does not exist: it proves nothing about that name."""
    def apex_only(zone, qname):
        if denial == "nsec":
            return dns_proofs._with_sigs(zone, zone.origin, dns.rdatatype.NSEC)
        return dns_proofs._with_sigs(zone, dns_proofs.nsec3_owner(zone, zone.origin),
                                     dns.rdatatype.NSEC3)
    monkeypatch.setattr(dns_proofs, "nxdomain_proof", apex_only)
    results, _, _ = run(basic_zones("fg"), signed(fg=SignPlan(denial=denial)), [("nx.fg.test", "A")])
    assert results[0].state is B
    assert "NXDOMAIN for A nx.fg.test." in results[0].detail


def test_unsigned_denial_in_a_signed_zone_is_bogus(monkeypatch):
    """An NXDOMAIN with a bare SOA (no RRSIG, no NSEC) in a signed zone: stripped or forged."""
    signatures = dns_proofs.signatures
    monkeypatch.setattr(dns_proofs, "nxdomain_proof", lambda zone, qname: [])
    monkeypatch.setattr(dns_proofs, "signatures", lambda zone, owner, rdtype: None
                        if rdtype == dns.rdatatype.SOA else signatures(zone, owner, rdtype))
    results, _, _ = run(basic_zones("fg"), signed("fg"), [("nx.fg.test", "A")])
    assert states(results) == [(B, NX)]
    assert "lies in the signed zone fg.test." in results[0].detail


@pytest.mark.parametrize("algorithm, denial, policy, state", [
    # RSASHA1 and RSASHA1-NSEC3-SHA1: RFC 8624 3.1 had validators MUST validate them; RFC
    # 9905 2 (2025) keeps that for implementations (``with_sha1``) and has operators treat
    # them as unsupported: insecure, never bogus. mxaudit runs its own validator: insecure.
    (5, "nsec", DEFAULT_POLICY, I),
    (5, "nsec", DEFAULT_POLICY.with_sha1(), S),
    (7, "nsec3", DEFAULT_POLICY, I),
    (7, "nsec3", DEFAULT_POLICY.with_sha1(), S),
    (8, "nsec", DEFAULT_POLICY, S),
    (8, "nsec3", DEFAULT_POLICY, S),
    (15, "nsec", DEFAULT_POLICY, S),
])
def test_algorithms(algorithm, denial, policy, state):
    results, _, _ = run(basic_zones("al"), signed(al=SignPlan(algorithm=algorithm, denial=denial)),
                        [("al.test", "MX"), ("nx.al.test", "A")], policy=policy)
    assert [r.state for r in results] == [state, state]
    if state is I:
        assert "does not accept" in results[0].detail


def test_nsec3_iterations_above_the_limit_are_insecure():
    results, _, _ = run(basic_zones("it"), signed(it=SignPlan(denial="nsec3", iterations=200)),
                        [("it.test", "MX"), ("nx.it.test", "A")])
    assert states(results) == [(S, OK), (I, NX)]
    assert "200 iterations" in results[1].detail


def test_cname_chains_take_the_weakest_link():
    zones = basic_zones("sec", "plain")
    zones["sec.test"] += "toplain CNAME mx.plain.test.\n"
    zones["plain.test"] += "tosec CNAME mx.sec.test.\n"
    results, _, _ = run(zones, signed("sec"), [("toplain.sec.test", "A"), ("tosec.plain.test", "A"),
                                               ("alias.sec.test", "A")])
    assert states(results) == [(I, OK), (I, OK), (S, OK)]
    assert results[0].canonical == "mx.plain.test"


def test_resolver_that_strips_dnssec_records_is_indeterminate_not_bogus():
    results, validator, _ = run(basic_zones("sec"), signed("sec"), [("sec.test", "MX")], mode="strip")
    assert states(results) == [(X, OK)]
    assert "strips DNSSEC records" in results[0].detail
    assert validator.resolver_problem == "the resolver strips DNSSEC records (no RRSIG came with the DNSKEY RRset)"


def test_resolver_without_do_support_is_indeterminate():
    results, validator, _ = run(basic_zones("sec"), signed("sec"), [("sec.test", "MX")], mode="none")
    assert states(results) == [(X, OK)]
    assert "does not support DNSSEC" in validator.resolver_problem


def test_resolver_servfail_without_cd_is_recorded_and_data_still_judged():
    results, _, server = run(basic_zones("old"), signed(old=SignPlan(expired=True)), [("old.test", "MX")],
                             behaviours={"old.test": "servfail_without_cd"})
    assert results[0].state is B and results[0].resolver_rejected and not results[0].resolver_ad


def test_timeouts_are_indeterminate():
    results, _, _ = run(basic_zones("sec"), signed("sec"), [("sec.test", "MX")],
                        behaviours={"sec.test": "drop"}, timeout=0.3)
    assert states(results) == [(X, DnsOutcome.TIMEOUT)]


def test_a_name_no_anchor_covers_is_insecure():
    corp = "corp.example. IN DS 1 13 2 " + "aa" * 32 + "\n"
    results, _, _ = run(basic_zones("sec"), signed("sec"), [("sec.test", "MX")], anchors=corp)
    assert states(results) == [(I, OK)]
    assert "no trust anchor covers" in results[0].detail


def test_a_wrong_root_anchor_is_bogus():
    wrong = ". IN DS 1 13 2 " + "aa" * 32 + "\n"
    results, _, _ = run(basic_zones("sec"), signed("sec"), [("sec.test", "MX")], anchors=wrong)
    assert states(results) == [(B, OK)]
    assert "matches the trust anchor" in results[0].detail


def test_names_under_a_proven_unsigned_delegation_take_no_dnssec_question():
    """An unsigned domain's apex is walked first (its DS answers the question); its other
    names are then insecure from the plain cache."""
    async def questions(validator):
        return [await validator.validate("plain.test", "MX", walk_first=True),
                await validator.validate("mx.plain.test", "A"),
                await validator.validate("nx.plain.test", "A")]

    results, _, server = run(basic_zones("plain"), signed(), [], after=questions)
    assert states(results) == [(I, OK), (I, OK), (I, NX)]
    assert all(r.chain[-1] == "plain.test. unsigned" for r in results)
    assert [k for k in server.signed_query_counts if k[0].endswith("plain.test")] == [("plain.test", "DS")]


def test_walk_first_on_a_signed_apex_still_validates_the_answer():
    async def questions(validator):
        return [await validator.validate("sec.test", "MX", walk_first=True)]

    results, _, server = run(basic_zones("sec"), signed("sec"), [], after=questions)
    assert states(results) == [(S, OK)]
    assert server.signed_query_counts[("sec.test", "MX")] == 1


def test_reasons_are_bounded():
    """Names come from the DNS: a reason naming several long names stays short in the evidence.
    (Four labels, not three: with three, a reason naming keys with short tags - the keys are
    made afresh each run - came to 599 characters, under the bound, and the test failed.)"""
    deep = ".".join(["x" * 50] * 4)
    zones = basic_zones("fg")
    zones["fg.test"] += f"a.{deep} A 192.0.2.7\n"

    def prepare(server, world):       # break every NSEC of the zone: the reason lists them
        zone = server.zones[dns.name.from_text("fg.test.")]
        for node in zone.nodes.values():
            rds = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NSEC)
            if rds is not None:
                nsec = rds[0]
                rds.clear()
                rds.add(nsec.replace(next=dns.name.from_text(f"zz.{deep}.fg.test.")), 300)
    results, _, _ = run(zones, signed("fg"), [(f"nx.{deep}.fg.test", "A")], prepare=prepare)
    assert results[0].state is B
    assert len(results[0].detail) == 600 and results[0].detail.endswith("...")


def test_a_broken_trust_anchor_costs_one_dnssec_question_per_scan():
    """Once the anchor's zone failed (a resolver that strips DNSSEC), answers are
    indeterminate from the plain cache: no more DNSSEC questions."""
    questions = [("sec.test", "MX"), ("mx.sec.test", "A"), ("mx.sec.test", "AAAA")]
    results, validator, server = run(basic_zones("sec"), signed("sec"), questions, mode="strip")
    assert states(results) == [(X, OK), (X, OK), (X, NODATA)]
    assert all("strips DNSSEC records" in r.detail for r in results)
    assert sorted(server.signed_query_counts) == [(".", "DNSKEY"), ("sec.test", "MX")]


@pytest.mark.parametrize("mode", ["full", "strip"])
def test_results_do_not_depend_on_which_name_was_asked_first(mode):
    """A scan's domains finish in any order (and Dask shards them): the same question must get
    the same evidence whether it came first under an unsigned delegation or a broken anchor."""
    questions = [("plain.test", "MX"), ("mx.plain.test", "A"), ("mx.plain.test", "AAAA"),
                 ("nx.plain.test", "A")]
    def same(results):      # each run has keys of its own: compare all but the key tags
        return [replace(r, chain=tuple(c.split()[0] for c in r.chain)) for r in results]

    forward, _, _ = run(basic_zones("plain"), signed(), questions, mode=mode)
    backward, _, _ = run(basic_zones("plain"), signed(), questions[::-1], mode=mode)
    assert same(forward) == same(backward[::-1])


def test_dname_substitution_is_validated():
    """RFC 6672: the DNAME RRset is signed, the CNAME synthesised from it is not; the answer
    is secure when the DNAME and the target's records verify, bogus when the DNAME does not."""
    import dns.message
    import dns.rrset

    from scanner.dns.dnssec.response import SignedAnswer

    zones = basic_zones("dn")
    zones["dn.test"] += "old DNAME new.dn.test.\nhost.new A 192.0.2.33\n"

    def answer(server, forge: bool):
        zone = server.zones[dns.name.from_text("dn.test.")]
        qname = dns.name.from_text("host.old.dn.test.")
        target = dns.name.from_text("host.new.dn.test.")
        msg = dns.message.make_response(dns.message.make_query(qname, "A", want_dnssec=True))
        for owner, rdtype in (("old.dn.test.", "DNAME"), ("host.new.dn.test.", "A")):
            name = dns.name.from_text(owner)
            rds = zone.get_rdataset(name, rdtype)
            if forge and rdtype == "DNAME":
                rds = dns.rrset.from_text(name, 300, "IN", "DNAME", "evil.dn.test.")
            msg.find_rrset(msg.answer, name, rds.rdclass, rds.rdtype, create=True).update(rds)
            sig = zone.get_rdataset(name, "RRSIG", covers=rdtype)
            msg.find_rrset(msg.answer, name, sig.rdclass, sig.rdtype, sig.covers, create=True).update(sig)
        msg.find_rrset(msg.answer, qname, 1, dns.rdatatype.CNAME, create=True).update(
            dns.rrset.from_text(qname, 0, "IN", "CNAME", target.to_text()))
        return SignedAnswer.from_message(qname, dns.rdatatype.A, msg, False)

    for forge, state in ((False, S), (True, B)):
        async def after(validator, forge=forge):
            server = validator._test_server
            real = validator._dns.query_signed

            async def query_signed(name, rdtype):
                if name.rstrip(".") == "host.old.dn.test":
                    return answer(server, forge)
                return await real(name, rdtype)
            validator._dns.query_signed = query_signed
            return [await validator.validate("host.old.dn.test", "A")]

        results, _, _ = run(zones, signed("dn"), [], after=after)
        assert results[0].state is state, results[0].detail
        if state is S:
            assert results[0].canonical == "host.new.dn.test"
