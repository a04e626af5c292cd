"""DNSSEC validation by mxaudit itself, from its own trust anchors (RFC 4033-4035, 5155).

One module per kind of proof, like Unbound's validator (STYLE.md):

    policy.py      which algorithms and digests validate (RFC 8624, RFC 9905), NSEC3 limits
    signatures.py  an RRset against a zone's keys: RRSIG fields, validity window, crypto
    anchors.py     trust anchors: the shipped IANA root KSKs, --trust-anchor files
    nsec.py        authenticated denial with NSEC (RFC 4035 5.4, RFC 6840 4)
    nsec3.py       authenticated denial with NSEC3 (RFC 5155 8, RFC 9276 iteration limits)
    response.py    a DO+CD answer as the validator reads it (sections indexed by owner, type)
    keys.py        the chain of trust: DS and DNSKEY per zone, validated once per scan
    validator.py   an answer's state: CNAME chains, wildcards, positive and negative answers

The resolver's own verdict (its AD bit, SERVFAIL for what it judged bogus) is recorded next
to ours, never trusted. Nothing here imports the collect layer; scanner/collect/dnssec.py
turns the validator's results into evidence. This package's __init__ imports nothing, so
scanner/dns/client.py can import response.py without a cycle.
"""
