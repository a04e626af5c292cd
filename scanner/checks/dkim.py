"""Checks: dkim (see CHECKS.md). Not yet implemented: registers nothing."""
