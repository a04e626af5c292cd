"""CHECKS.md and the code agree, both ways: every registered check ID is in the catalogue (no
invented IDs), and every catalogue ID has an implementation - or is listed in PENDING with
the issue that delivers it, so a row without code never goes unnoticed."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from scanner.checks import all_checks

CATALOGUE = Path(__file__).resolve().parents[2] / "shared" / "CHECKS.md"

# Catalogue IDs without an implementation yet, with the issue that will deliver them. Remove a
# line when its implementation lands (the test below fails until you do).
PENDING: dict[str, str] = {
    "dnssec.signed": "issue 13",
    "dnssec.mx_signed": "issue 13",
    "dane.tlsa": "issue 13",
    "dane.rollover": "issue 13",
    "env.ipv6": "issue 18",
    "env.port25": "issue 18",
    "env.resolver": "issue 18",
}


def catalogue_ids() -> list[str]:
    if not CATALOGUE.is_file():
        pytest.skip(f"{CATALOGUE} not present")
    return re.findall(r"^\|\s*`([a-z0-9_]+\.[a-z0-9_.]+)`\s*\|", CATALOGUE.read_text(), re.M)


def implemented() -> set[str]:
    """Registered checks, and the scan-environment notes once they exist (env.*)."""
    ids = set(all_checks())
    try:
        from scanner.collect.environment import NOTE_IDS   # issue 18
    except ImportError:
        return ids
    return ids | set(NOTE_IDS)


def test_catalogue_is_parsed():
    ids = catalogue_ids()
    assert len(ids) == len(set(ids))
    assert {"domain.valid", "mx.ptr", "smtp.reachable", "dkim.hash", "submission.srv"} <= set(ids)


def test_every_registered_check_is_in_the_catalogue():
    invented = sorted(set(all_checks()) - set(catalogue_ids()))
    assert invented == []


def test_every_catalogue_id_is_implemented_or_pending():
    missing = sorted(set(catalogue_ids()) - implemented() - set(PENDING))
    assert missing == [], "catalogue IDs with no implementation and not listed as pending"


def test_pending_ids_are_really_pending():
    done = sorted(set(PENDING) & implemented())
    assert done == [], "implemented now: remove them from PENDING"
    assert sorted(set(PENDING) - set(catalogue_ids())) == []


def test_registration_follows_catalogue_order():
    order = {cid: i for i, cid in enumerate(catalogue_ids())}
    registered = [cid for cid in all_checks() if cid in order]
    # within each module, checks are registered in catalogue order
    for a, b in zip(registered, registered[1:]):
        if a.split(".")[0] == b.split(".")[0]:
            assert order[a] < order[b], (a, b)
