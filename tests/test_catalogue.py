"""Every registered check ID is in CHECKS.md (no invented IDs), with a known category."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from scanner.registry import all_checks

CATALOGUE = Path(__file__).resolve().parents[2] / "shared" / "CHECKS.md"


def catalogue_ids() -> list[str]:
    if not CATALOGUE.is_file():
        pytest.skip(f"{CATALOGUE} not present")
    return re.findall(r"^\|\s*`([a-z0-9_]+\.[a-z0-9_.]+)`\s*\|", CATALOGUE.read_text(), re.M)


def test_catalogue_is_parsed():
    ids = catalogue_ids()
    assert len(ids) == len(set(ids))
    assert {"domain.valid", "mx.ptr", "smtp.reachable", "dkim.hash", "submission.srv"} <= set(ids)


def test_every_registered_check_is_in_the_catalogue():
    invented = sorted(set(all_checks()) - set(catalogue_ids()))
    assert invented == []


def test_registration_follows_catalogue_order():
    order = {cid: i for i, cid in enumerate(catalogue_ids())}
    registered = [cid for cid in all_checks() if cid in order]
    # within each module, checks are registered in catalogue order
    for a, b in zip(registered, registered[1:]):
        if a.split(".")[0] == b.split(".")[0]:
            assert order[a] < order[b], (a, b)
