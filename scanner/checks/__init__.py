"""Importing this package registers every check, in the catalogue's order (CHECKS.md).

Check modules are pure: evidence in, outcomes out. They never import a network library.
"""
from scanner.checks import (domain, dnssec, mx, smtp, mta_sts, tls_rpt, dane, spf, dmarc,  # noqa: F401
                            dkim, info)
