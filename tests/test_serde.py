"""Evidence <-> JSON: exact round trips, and the serialisability contract of every evidence type."""
from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing

import pytest

from scanner.evidence import (AddressEvidence, DnsOutcome, DnsResult, DomainEvidence, MxEvidence,
                              MxHostEvidence, MxRecord, PortSpec, PtrEvidence, RecordsEvidence,
                              SmtpProbe)
from scanner.evidence.records import DkimEvidence, DkimProbe, HttpFetch, MtaStsEvidence
from scanner.evidence.smtp import (Attempt, CertificateFacts, Failure, HandshakeAttempt, TlsFacts)
from scanner.findings import Finding, Status
from scanner.serde import from_jsonable, to_jsonable
from scanner.verdict import Verdict

D = "example.test"


def rich_evidence() -> DomainEvidence:
    a = DnsResult(f"mx.{D}", "A", DnsOutcome.OK, ("192.0.2.1",), f"mx.{D}")
    ptr = PtrEvidence(DnsResult("1.2.0.192.in-addr.arpa", "PTR", DnsOutcome.OK, (f"mx.{D}",)), (a,),
                      f"mx.{D}")
    host = MxHostEvidence(f"mx.{D}", 10, a=a, aaaa=DnsResult(f"mx.{D}", "AAAA", DnsOutcome.NODATA),
                          addresses=(AddressEvidence("192.0.2.1", 4, True, True, ptr),))
    mx = MxEvidence(DnsResult(D, "MX", DnsOutcome.OK, (f"10 mx.{D}",), D), (MxRecord(10, f"mx.{D}"),),
                    (host,))
    leaf = CertificateFacts("CN=mx", "CN=ca", (f"mx.{D}",), key_type="EC", key_bits=256)
    probe = SmtpProbe(f"mx.{D}", "192.0.2.1", 25, "smtp", connected=True, greeting_code=220,
                      extensions=("STARTTLS", "SIZE 100"),
                      tls=TlsFacts(True, "TLSv1.3", "TLS_AES_128_GCM_SHA256", (leaf,), True),
                      legacy=HandshakeAttempt(Attempt.REFUSED, offered="TLS 1.0-1.1"),
                      failure=Failure.TIMEOUT, transcript=("S: 220 <script>x</script>",))
    records = RecordsEvidence(
        dkim=DkimEvidence((DkimProbe("s1", "operator",
                                     DnsResult(f"s1._domainkey.{D}", "TXT", DnsOutcome.NXDOMAIN)),)),
        mta_sts=MtaStsEvidence(DnsResult(f"_mta-sts.{D}", "TXT", DnsOutcome.OK, ("v=STSv1; id=1",)),
                               fetch=HttpFetch("https://mta-sts.example.test/x", "mta-sts.example.test",
                                               status=200, body="version: STSv1\n")),
        errors={"spf": "timeout"})
    return DomainEvidence(7, "Example.TEST.", D, "", ("s1",), "2026-06-01T12:00:00+00:00", True,
                          (PortSpec(25, "smtp"), PortSpec(465, "submissions")), mx, (probe,), records)


def test_domain_evidence_round_trips_exactly_through_json():
    ev = rich_evidence()
    text = json.dumps(to_jsonable(ev))
    back = from_jsonable(DomainEvidence, json.loads(text))
    assert back == ev
    assert isinstance(back.smtp[0].failure, Failure)
    assert isinstance(back.ports, tuple) and isinstance(back.ports[0], PortSpec)


def test_findings_and_verdict_round_trip():
    fs = (Finding("mx.present", D, Status.PASS, "ok"), Finding("mx.ptr", "h [ip]", Status.WARN, "m", "r"))
    v = Verdict("baseline", False, 42, ("mx.ptr",), ())
    assert from_jsonable(tuple[Finding, ...], json.loads(json.dumps(to_jsonable(fs)))) == fs
    assert from_jsonable(Verdict, json.loads(json.dumps(to_jsonable(v)))) == v


def test_jsonable_shapes():
    assert to_jsonable(DnsResult("a.test", "MX", DnsOutcome.NXDOMAIN)) == {
        "name": "a.test", "rdtype": "MX", "outcome": "nxdomain", "records": [],
        "canonical_name": "", "detail": ""}


def test_unknown_keys_ignored_and_missing_keys_defaulted():
    """Stored scans stay readable when evidence gains or loses fields."""
    data = {"position": 1, "input": "a.test", "domain": "a.test", "future_field": [1, 2]}
    assert from_jsonable(DomainEvidence, data) == DomainEvidence(1, "a.test", "a.test")


def test_optional_none_and_fixed_tuples():
    assert from_jsonable(DnsResult | None, None) is None
    assert from_jsonable(tuple[int, str], [1, "x"]) == (1, "x")
    assert from_jsonable(dict[str, DnsOutcome], {"a": "ok"}) == {"a": DnsOutcome.OK}


# --- the contract: evidence uses only types serde round-trips ------------------------------
_SCALARS = (str, int, float, bool, type(None))


def _check_type(tp, where: str, seen: set) -> None:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        assert sum(a is not type(None) for a in args) == 1, f"{where}: only 'X | None' unions: {tp}"
        for a in args:
            _check_type(a, where, seen)
    elif origin is tuple:
        for a in typing.get_args(tp):
            if a is not Ellipsis:
                _check_type(a, where, seen)
    elif origin is dict:
        k, v = typing.get_args(tp)
        assert k is str, f"{where}: dict keys must be str"
        _check_type(v, where, seen)
    elif isinstance(tp, type) and dataclasses.is_dataclass(tp):
        assert tp.__dataclass_params__.frozen, f"{where}: {tp.__name__} must be frozen"
        if tp in seen:
            return
        seen.add(tp)
        for name, hint in typing.get_type_hints(tp).items():
            _check_type(hint, f"{tp.__name__}.{name}", seen)
    elif isinstance(tp, type) and issubclass(tp, enum.Enum):
        pass
    else:
        assert tp in _SCALARS, f"{where}: {tp!r} is not serialisable (no list, set, bytes)"


@pytest.mark.parametrize("root", [DomainEvidence, Finding, Verdict])
def test_every_evidence_type_is_serialisable(root):
    _check_type(root, root.__name__, set())
