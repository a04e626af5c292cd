"""Checks: tls_rpt (see CHECKS.md). Not yet implemented: registers nothing."""
