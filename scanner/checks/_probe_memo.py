"""The smtp.* findings of one SMTP endpoint, made once for every domain whose evidence holds
the same probe.

Why: most domains of a list share a few providers' MX hosts (80% of the bench world's domains
use one of two MX pairs), so the same probe evidence - host, IP, port, the session, the
certificate chain - is judged again for each of them: 13 checks on every endpoint, about half
of judging a domain. Those judgements are pure functions of the probe (and of a per-domain
context the caller names, such as the scan time), so each is made once per distinct probe and
its Finding (immutable) handed out again.

What identifies a probe is its whole content: its JSON text (serde's, as bytes: the address by
which the history store already shares probes between domains). Two probes with the same text
are the same evidence after a store round trip, and a stored scan re-graded must equal the
scan, so they are judged the same anyway; nothing coarser (a digest, the host and port) is
used, so different evidence cannot collide. Before the text, identity: the scan process hands
every domain the same probe object for an endpoint. The object is held while it is
remembered, so its ``id`` cannot be reused meanwhile. Both maps are bounded (emptied when
full): the memo stays small whatever the list, and a probe forgotten is judged again.
"""
from __future__ import annotations

from typing import Any

import msgspec

from scanner.bounded import Bounded, HeldById
from scanner.evidence.smtp import SmtpProbe
from scanner.serde import dumps

_ENCODE = msgspec.json.Encoder().encode

# check ID -> (context, Finding) of one probe: what the caller made of it last
Judged = dict[str, tuple[Any, Any]]


class ProbeMemo:
    def __init__(self, limit: int = 2048, identity_limit: int = 256) -> None:
        self._by_text: Bounded = Bounded(limit)
        self._by_id = HeldById(identity_limit)

    def of(self, probe: SmtpProbe) -> Judged:
        """The memo of this probe's content (the same dict for every equal probe)."""
        judged = self._by_id.get(probe)
        if judged is not None:
            return judged
        try:
            text: bytes | str = _ENCODE(probe)   # serde.dumps without decoding the bytes
        except (TypeError, ValueError, UnicodeError, msgspec.EncodeError):
            text = dumps(probe)                  # (a lone surrogate: never equal to bytes)
        judged = self._by_text.get(text)
        if judged is None:
            judged = self._by_text.keep(text, {})
        return self._by_id.put(probe, judged)

    def clear(self) -> None:
        self._by_text.clear()
        self._by_id.clear()
