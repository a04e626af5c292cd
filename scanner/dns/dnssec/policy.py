"""What mxaudit accepts as proof: signature algorithms, DS digest types, NSEC3 limits.

Algorithms (RFC 8624 3.1, since replaced by RFC 9904 and the IANA registry; RFC 9905 2):
RSASHA256 (8), RSASHA512 (10), ECDSAP256SHA256 (13), ECDSAP384SHA384 (14), ED25519 (15) and
ED448 (16) validate. RSASHA1 (5) and RSASHA1-NSEC3-SHA1 (7) are implemented (the RFC 4035 and
RFC 5155 examples use them; ``with_sha1``) but treated as unsupported, as RFC 9905 2 tells
operators of validators to: a zone signed only with them is insecure, never bogus (RFC 4035
5.2). docs/dnssec.md, "Algorithms", says why this and not RFC 8624's MUST. Everything else
(RSAMD5, DSA, GOST, private algorithms) is unsupported too.

DS digests (RFC 8624 3.3): SHA-1 (1), SHA-256 (2), SHA-384 (4); a SHA-1 DS is ignored when a
SHA-256 or SHA-384 DS is published for the same key (RFC 4509 3, downgrade protection).

NSEC3 iterations (RFC 9276 3.2): a proof whose NSEC3 records use more than 150 iterations
makes the answer insecure (after their signatures verified, RFC 9276 3.2 and RFC 5155 10.3),
the limit BIND and Unbound apply.
"""
from __future__ import annotations

from dataclasses import dataclass

ALGORITHM_NAMES = {
    1: "RSAMD5", 3: "DSA", 5: "RSASHA1", 6: "DSA-NSEC3-SHA1", 7: "RSASHA1-NSEC3-SHA1",
    8: "RSASHA256", 10: "RSASHA512", 12: "ECC-GOST", 13: "ECDSAP256SHA256",
    14: "ECDSAP384SHA384", 15: "ED25519", 16: "ED448",
}
DIGEST_NAMES = {1: "SHA-1", 2: "SHA-256", 3: "GOST", 4: "SHA-384"}
SHA1_ALGORITHMS = frozenset({5, 7})


def algorithm_name(number: int) -> str:
    return ALGORITHM_NAMES.get(number, f"algorithm {number}")


def digest_name(number: int) -> str:
    return DIGEST_NAMES.get(number, f"digest type {number}")


@dataclass(frozen=True)
class Policy:
    algorithms: frozenset[int] = frozenset({8, 10, 13, 14, 15, 16})
    digests: frozenset[int] = frozenset({1, 2, 4})
    nsec3_iterations: int = 150

    def with_sha1(self) -> "Policy":
        """This policy with RSASHA1 and RSASHA1-NSEC3-SHA1 accepted (tests that use the RFC
        4035 and RFC 5155 examples, signed with them in 2004 and 2008)."""
        return Policy(self.algorithms | SHA1_ALGORITHMS, self.digests, self.nsec3_iterations)


DEFAULT_POLICY = Policy()
