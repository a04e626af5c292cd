"""Checks: dmarc (see CHECKS.md). Not yet implemented: registers nothing."""
