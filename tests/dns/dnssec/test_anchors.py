"""Trust anchors: the shipped IANA root KSKs, --trust-anchor files, closest anchor."""
from __future__ import annotations

import dns.name
import pytest

from scanner.dns.dnssec.anchors import BUILTIN, TrustAnchors, builtin_anchors, load_anchor_file, parse_anchors
from scanner.dns.dnssec.signatures import ds_digest, key_tag
from scanner.errors import UsageError

N = dns.name.from_text
# IANA root-anchors.xml (RFC 9718): KSK-2017 and KSK-2024
IANA = {20326: "e06d44b80b8f1d39a95c0b0d7c65d08458e880409bbc683457104237c7f8ec8d",
        38696: "683d2d0acb8c9b712a1948b27f741219298d0a450d612c483af444a4c0fb2b16"}
# the root KSKs themselves (Debian dns-root-data's root.key)
ROOT_KEYS = """\
. IN DNSKEY 257 3 8 AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3+/4RgWOq7HrxRixHlFlExOLAJr5emLvN7SWXgnLh4+B5xQlNVz8Og8kvArMtNROxVQuCaSnIDdD5LKyWbRd2n9WGe2R8PzgCmr3EgVLrjyBxWezF0jLHwVN8efS3rCj/EWgvIWgb9tarpVUDK/b58Da+sqqls3eNbuv7pr+eoZG+SrDK6nWeL3c6H5Apxz7LjVc1uTIdsIXxuOLYA4/ilBmSVIzuDWfdRUfhHdY6+cn8HFRm+2hM8AnXGXws9555KrUB5qihylGa8subX2Nn6UwNR1AkUTV74bU= ; keytag 20326
. IN DNSKEY 257 3 8 AwEAAa96jeuknZlaeSrvyAJj6ZHv28hhOKkx3rLGXVaC6rXTsDc449/cidltpkyGwCJNnOAlFNKF2jBosZBU5eeHspaQWOmOElZsjICMQMC3aeHbGiShvZsx4wMYSjH8e7Vrhbu6irwCzVBApESjbUdpWWmEnhathWu1jo+siFUiRAAxm9qyJNg/wOZqqzL/dL/q8PkcRU5oUKEpUge71M3ej2/7CPqpdVwuMoTvoB+ZOT4YeGyxMvHmbrxlFzGOHOijtzN+u1TQNatX2XBuzZNQ1K+s2CXkPIZo7s6JgZyvaBevYtxPvYLw4z9mR7K2vaF18UYH9Z9GNUUeayffKC73PYc= ; keytag 38696
"""


def test_builtin_anchors_are_the_iana_root_ksks():
    (root,) = builtin_anchors()
    assert root.zone == dns.name.root and root.source == BUILTIN and not root.keys
    assert {ds.key_tag: ds.digest.hex() for ds in root.ds} == IANA
    assert {(ds.algorithm, ds.digest_type) for ds in root.ds} == {(8, 2)}


def test_the_shipped_digests_are_those_of_the_root_keys():
    (keys,) = parse_anchors(ROOT_KEYS, "root.key")
    assert {key_tag(k): ds_digest(dns.name.root, k, 2).hex() for k in keys.keys} == IANA


def test_a_file_for_the_root_replaces_the_builtin_root(tmp_path):
    lab = tmp_path / "lab.key"
    lab.write_text(". 3600 IN DS 12345 13 2 " + "ab" * 32 + "\n")
    anchors = TrustAnchors.load([lab])
    (only,) = anchors.describe()
    assert only.startswith(". DS 12345/13") and str(lab) in only


def test_a_file_for_another_zone_adds_an_island(tmp_path):
    corp = tmp_path / "corp.key"
    corp.write_text("$ORIGIN corp.example.\n@ IN DNSKEY 257 3 13 "
                    "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==\n")
    anchors = TrustAnchors.load([corp])
    assert anchors.closest(N("mail.corp.example.")).zone == N("corp.example.")
    assert anchors.closest(N("example.")).zone == dns.name.root      # still the IANA root
    assert len(anchors.describe()) == 2


def test_two_files_for_one_zone_are_merged(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text(". IN DS 1 13 2 " + "aa" * 32 + "\n")
    b.write_text(". IN DS 2 13 2 " + "bb" * 32 + "\n")
    (root,) = TrustAnchors.load([a, b]).describe()
    assert "DS 1/13" in root and "DS 2/13" in root


def test_no_anchor_covers_a_name_when_the_root_is_not_anchored(tmp_path):
    corp = tmp_path / "corp.key"
    corp.write_text("corp.example. IN DS 1 13 2 " + "aa" * 32 + "\n")
    anchors = TrustAnchors(parse_anchors(corp.read_text(), "x"))
    assert anchors.closest(N("example.")) is None


@pytest.mark.parametrize("text, why", [
    ("", "no DS or DNSKEY records"),
    ("example. IN A 192.0.2.1\n", "only DS and DNSKEY records"),
    ("example. IN DNSKEY 256 3 13 AAAA\n" .replace("256", "0"), "not a zone key"),
    ("trust-anchors { . initial-key 257 3 8 \"AwEAAa\"; };\n", "zone-file format"),
    (". IN DS 20326 8 2 nothex\n", "zone-file format"),
    ("$INCLUDE /etc/passwd\n", "'$INCLUDE' is not allowed"),
])
def test_bad_anchor_files_are_usage_errors(tmp_path, text, why):
    path = tmp_path / "anchor"
    path.write_text(text)
    with pytest.raises(UsageError) as err:
        load_anchor_file(path)
    assert f"--trust-anchor {path}" in str(err.value) and why in str(err.value)


def test_missing_anchor_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="cannot read"):
        load_anchor_file(tmp_path / "absent")
