"""Checks: mta_sts (see CHECKS.md). Not yet implemented: registers nothing."""
