"""mxaudit's DNS stack: wire.py (UDP multiplexer, reply parser), client.py (DnsClient),
sync.py (for synchronous libraries), dnssec/ (the validator).

dnspython decides on import of ``dns.query`` whether DNS over HTTPS and over QUIC are
available, by reading package metadata and importing httpx2/httpcore2 and aioquic when they
are installed (~0.1-0.15 s of every process's start-up, measured with ``python -X
importtime``). mxaudit never uses either transport through dnspython (it speaks UDP and TCP
to the configured resolvers only), so the two features are declared absent before any
dnspython transport module is imported: every process imports this package first."""
from __future__ import annotations


def _without_doh_doq() -> None:
    try:
        import dns._features as features   # dnspython >= 2.4; older ones import them anyway
    except ImportError:
        return
    for feature in ("doh", "doq"):
        features.force(feature, False)


_without_doh_doq()
