"""Network namespaces made by the test harness: a private network stack (``ip netns``), so a
test can give the scanner a host without an IPv6 route, or one whose outbound port 25 is
dropped by nftables, with the lab's servers inside. Nothing in a namespace can reach beyond
it: it has ``lo``, and at most a dummy interface (which drops everything it is given).

    with NetNs("v6") as ns:           # needs root and ip(8); skip reasons below
        ns.sh("ip link add dummy0 type dummy")
        ns.nft("table inet f { chain out { type filter hook output priority 0; "
               "tcp dport 25 drop; } }")
        ns.run([sys.executable, script, ...])   # runs inside

``netns_unavailable_reason()`` says why namespaces cannot be made here (not root, no
ip(8), no permission); ``nft_unavailable_reason()`` the same for nftables. With
``MXAUDIT_REQUIRE_NETNS=1`` (CI) a missing capability is an error, not a skip.
"""
from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Sequence

import pytest

REQUIRE_ENV = "MXAUDIT_REQUIRE_NETNS"
_ids = itertools.count(1)


def _probe_namespace() -> str | None:
    name = f"mxaudit-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if made.returncode:
        return f"ip netns add failed: {made.stderr.strip() or made.returncode}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


def netns_unavailable_reason() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "ip(8) (iproute2) not installed"
    return _probe_namespace()


def nft_unavailable_reason() -> str | None:
    return None if shutil.which("nft") else "nft(8) (nftables) not installed"


def require(*reasons: str | None) -> None:
    """Skip (or, under MXAUDIT_REQUIRE_NETNS=1, fail) when any reason is given."""
    why = "; ".join(r for r in reasons if r)
    if not why:
        return
    if os.environ.get(REQUIRE_ENV, "") not in ("", "0"):
        pytest.fail(f"{why} (and {REQUIRE_ENV} is set)")
    pytest.skip(why)


class NetNs:
    """A named network namespace with ``lo`` up; deleted on exit."""

    def __init__(self, tag: str) -> None:
        self.name = f"mxaudit-{tag}-{os.getpid()}-{next(_ids)}"

    def __enter__(self) -> "NetNs":
        subprocess.run(["ip", "netns", "add", self.name], check=True, capture_output=True)
        self.sh("ip link set lo up")
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)

    def sh(self, command: str) -> str:
        """A command inside the namespace (words split on spaces); its stdout."""
        return self.run(command.split()).stdout

    def nft(self, ruleset: str) -> None:
        proc = subprocess.run(["ip", "netns", "exec", self.name, "nft", "-f", "-"],
                              input=ruleset, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr

    def run(self, argv: Sequence[object], *, timeout: float = 180, env: dict | None = None,
            cwd: object = None, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(["ip", "netns", "exec", self.name, *map(str, argv)],
                              capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd,
                              stdin=subprocess.DEVNULL)
        if check:
            assert proc.returncode == 0, \
                f"{list(argv)[:3]} failed in {self.name}:\n{proc.stdout}{proc.stderr}"
        return proc
