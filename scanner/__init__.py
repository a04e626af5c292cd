"""mxaudit: an email-domain compliance scanner.

Pipeline: inputs -> collect (all network I/O) -> evidence -> evaluate (pure checks) ->
findings -> profile verdict -> reports. See docs/ARCHITECTURE.md, DESIGN.md and CHECKS.md.

The public names are loaded on first use, so importing a pure part of the package (the
checks, the result model, the reports) does not load the collectors and network libraries.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"
__all__ = ["DomainResult", "Finding", "ScanOptions", "Status", "Target", "__version__",
           "run_scan", "scan"]

_PUBLIC = {"run_scan": "scanner.api", "scan": "scanner.api", "Finding": "scanner.findings",
           "Status": "scanner.findings", "Target": "scanner.inputs",
           "ScanOptions": "scanner.options", "DomainResult": "scanner.result"}


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'scanner' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
