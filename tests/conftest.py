"""Shared fixtures: the loopback lab (one per session), the CLI as a subprocess, fresh zones.

Keep this file small and generic; feature-specific fixtures belong beside their tests.
"""
from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_zone_ids = itertools.count(1)


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """A started LabWorld (CA, DNS server, ports) shared by the whole session."""
    from scanner.lab.world import LabWorld

    world = LabWorld(tmp_path_factory.mktemp("lab"))
    world.start()
    try:
        yield world
    finally:
        world.stop()


def new_zone_name(prefix: str = "z") -> str:
    """A zone name no other test of this session uses: 'z7.test'."""
    return f"{prefix}{next(_zone_ids)}.test"


@pytest.fixture(scope="session")
def unique_zone() -> Callable[..., str]:
    """Call it for a fresh zone name per use: ``zone = unique_zone()`` -> 'z12.test'
    (session scope, so module-scoped fixtures can use it too)."""
    return new_zone_name


def run_cli_process(args: Sequence[str], input: str | None = None,
                    timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``python -m scanner ARGS`` from the repo root; text output, bounded in time."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "scanner", *map(str, args)], input=input,
                          capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env,
                          stdin=None if input is not None else subprocess.DEVNULL)


@pytest.fixture
def run_cli() -> Callable[..., subprocess.CompletedProcess]:
    """``run_cli(args, input=None, timeout=60) -> CompletedProcess`` (see run_cli_process)."""
    return run_cli_process
