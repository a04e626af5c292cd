"""Checks: info (see CHECKS.md). Not yet implemented: registers nothing."""
