"""Checks: spf (see CHECKS.md). Not yet implemented: registers nothing."""
