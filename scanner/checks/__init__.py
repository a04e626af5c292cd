"""Importing this package registers every check, in the catalogue's order (CHECKS.md).

Check modules are pure: evidence in, outcomes out. They never import a network library.
"""
from scanner.checks import domain, mx, smtp, mta_sts, tls_rpt, spf, dmarc, dkim, info  # noqa: F401
