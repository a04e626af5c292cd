"""mxaudit: an email-domain compliance scanner.

Pipeline: inputs -> collect (all network I/O) -> evidence -> evaluate (pure checks) ->
findings -> profile verdict -> reports. See DESIGN.md and CHECKS.md.
"""
from scanner.api import run_scan, scan
from scanner.findings import Finding, Status
from scanner.inputs import Target
from scanner.options import ScanOptions
from scanner.result import DomainResult

__version__ = "0.1.0"
__all__ = ["DomainResult", "Finding", "ScanOptions", "Status", "Target", "__version__",
           "run_scan", "scan"]
