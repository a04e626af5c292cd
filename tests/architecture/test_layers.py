"""The architecture as tests: imports follow the data (docs/ARCHITECTURE.md).

    inputs -> dns -> collect -> evidence -> checks (pure) -> result/verdict -> store -> reports
                                                     profiles ^

The pure layers (evidence, parsers, derived facts, checks, profiles, the result model and
reports) never import a network library or a collector, so judging a stored scan, re-grading
it and rendering it load none of them. Collect records and judges nothing. No import cycles.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.architecture.imports import ROOT, closure, cycles, imports_of, modules

# network libraries (by top-level name) and the network modules of the standard library
NETWORK = {"dns", "httpx", "httpcore", "h11", "h2", "anyio", "spf", "dkim", "smtplib", "socket",
           "ssl", "asyncio", "aiosmtpd", "requests", "distributed", "urllib.request",
           "http.client", "http.server"}


def _network(name: str) -> bool:
    return name.split(".")[0] in NETWORK or any(name == n or name.startswith(n + ".")
                                                for n in NETWORK if "." in n)
IO_LAYERS = ("scanner.collect", "scanner.dns", "scanner.lab", "scanner.run", "scanner.commands",
             "scanner.api", "scanner.cli")
PURE = ("scanner.evidence", "scanner.parsers", "scanner.derived", "scanner.checks",
        "scanner.registry", "scanner.findings", "scanner.profiles", "scanner.verdict",
        "scanner.result", "reports")


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_there_are_no_import_cycles():
    assert cycles() == []


@pytest.mark.parametrize("module", sorted(m for m in modules() if _under(m, PURE)))
def test_pure_layers_import_no_network_library_and_no_collector(module):
    reach = closure(module)
    assert sorted(m for m in reach if _network(m)) == []
    assert sorted(m for m in reach if _under(m, IO_LAYERS)) == []


@pytest.mark.parametrize("module", sorted(m for m in modules() if _under(m, ("scanner.collect",
                                                                              "scanner.dns"))))
def test_collect_judges_nothing(module):
    """Collectors and the DNS layer record evidence: they never reach the checks, profiles,
    verdicts, reports or the run machinery."""
    judged = ("scanner.checks", "scanner.profiles", "scanner.verdict", "scanner.result",
              "scanner.registry", "scanner.run", "scanner.commands", "reports")
    assert sorted(m for m in closure(module) if _under(m, judged)) == []


def test_evidence_depends_on_nothing_else_of_the_project():
    for name in (m for m in modules() if _under(m, ("scanner.evidence",))):
        project = {m for m in imports_of(name) if m in modules()}
        assert all(_under(m, ("scanner.evidence",)) for m in project), (name, project)


def test_judging_and_rendering_a_scan_loads_no_network_library(tmp_path):
    """At run time too (third-party imports included): the report worker and `mxaudit
    report` judge evidence and write reports without loading a network stack."""
    script = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from pathlib import Path
from reports import write_reports
from scanner.evidence import DnsOutcome, DnsResult, DomainEvidence, MxEvidence, MxRecord
from scanner.profiles import load_profile
from scanner.checks import all_checks
from scanner.result import judge
profile = load_profile("baseline", set(all_checks()))
mx = MxEvidence(DnsResult("a.test", "MX", DnsOutcome.OK, ("10 mx.a.test.",)), (MxRecord(10, "mx.a.test"),))
rs = [judge(DomainEvidence(0, "a.test", "a.test", mx=mx), profile),
      judge(DomainEvidence(1, "bad input", "", "not a domain"), profile)]
meta = {{"scan_id": 1, "started": "s", "finished": "f", "profile": "baseline", "version": "v"}}
write_reports(Path({str(tmp_path)!r}), rs, profile, meta)
net = {sorted(NETWORK)!r}
print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] in net or m in net)))
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == []
    assert (tmp_path / "report.html").is_file()


def test_the_dns_stack_loads_no_doh_or_doq_library():
    """dnspython imports httpx2/httpcore2 (DNS over HTTPS) and aioquic (over QUIC) when they
    are installed, unless told the features are absent (scanner/dns/__init__.py): mxaudit
    uses neither, and they cost ~0.1 s of every process's start-up."""
    script = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
import scanner.dns.client, scanner.dns.wire, dns.asyncquery, dns.query
print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] in
                      ("httpx", "httpx2", "httpcore", "httpcore2", "aioquic", "h2", "anyio"))))
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == []
