"""Certificate names against a host name (RFC 6125 6.4): shared by smtp.cert_hostname and
the DANE-TA name check of scanner/checks/_dane.py (RFC 7672 3.2.2). Pure."""
from __future__ import annotations

from scanner.evidence.smtp import CertificateFacts


def hostname_matches(host: str, leaf: CertificateFacts) -> bool:
    """RFC 6125 6.4: dNSName SANs (the CN only when there are none); a wildcard only as
    the complete left-most label, matching exactly one label."""
    host = host.rstrip(".").lower()
    names = leaf.dns_names or ((leaf.common_name.lower(),) if leaf.common_name else ())
    for name in names:
        name = name.rstrip(".").lower()
        if name == host:
            return True
        if name.startswith("*.") and "*" not in name[2:]:
            label, _, rest = host.partition(".")
            if label and rest and rest == name[2:] and rest.count(".") >= 1:
                return True
    return False
