"""Progress and logs for people at a terminal and for schedulers.

On a terminal (and no explicit ``--log-format``): one self-rewriting line with domains done,
rate and, when the total is known, a bar and an ETA. Otherwise (cron, systemd, CI, or an
explicit ``--log-format``): one structured line per event on stderr, ``text`` (logfmt:
``ts=... level=info event=domain domain=example.com ...``) or ``json`` (one object a line).
``--quiet`` silences info lines; warnings (an interrupted scan) are always written.
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

from scanner.result import DomainResult
from scanner.textsafe import for_terminal

LOG_FORMATS = ("text", "json")
_BARE = re.compile(r"^[A-Za-z0-9_.:/@+-]*$")


def scan_inputs(files: list[str]) -> tuple[int | None, list[dict]]:
    """One cheap pass over the input files: (estimated total, fingerprints).

    The total counts non-blank, non-comment lines (CSV: minus the header), so it is an upper
    bound when the list has duplicates; None when a list comes from stdin. The fingerprints
    (absolute path, sha256) let ``scan --resume`` refuse a list edited since the scan began.
    """
    total: int | None = 0
    prints = []
    for name in files:
        if name == "-":
            total = None
            continue
        path = Path(name)
        digest, lines = hashlib.sha256(), 0
        try:
            with open(path, "rb") as fh:
                for line in fh:
                    digest.update(line)
                    text = line.strip()
                    lines += bool(text) and not text.startswith(b"#")
        except OSError:
            return None, []     # read_targets reports the unreadable file properly
        if path.suffix.lower() == ".csv" and lines:
            lines -= 1
        prints.append({"path": str(path.resolve()), "sha256": digest.hexdigest()})
        if total is not None:
            total += lines
    return total, prints


class Progress:
    """Bar on a terminal, structured log lines elsewhere; see the module docstring."""

    def __init__(self, *, bar: bool, log_format: str = "text", quiet: bool = False,
                 total: int | None = None, done: int = 0, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.bar = bar and not quiet
        self.log_format = log_format
        self.quiet = quiet
        self.total = total
        self.done = done            # includes domains finished before a resume
        self._new = 0
        self.started = time.monotonic()
        self._last = 0.0

    def event(self, event: str, level: str = "info", **fields: object) -> None:
        """One log line (not in bar mode, except warnings and the summary)."""
        if self.quiet and level == "info":
            return
        if self.bar and level == "info" and event != "summary":
            return
        # values (domains, inputs, server and worker errors) are hostile: escaped, so a line
        # stays one line and no control sequence reaches the terminal or the log
        fields = {k: for_terminal(v) if isinstance(v, str) else v for k, v in fields.items()}
        self._clear_bar()
        if self.bar:   # a person at a terminal: a sentence, not a log record
            self.stream.write(f"mxaudit: {_sentence(event, fields)}\n")
            self.stream.flush()
            return
        ts = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
        record = {"ts": ts, "level": level, "event": event, **fields}
        if self.log_format == "json":
            line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        else:
            # JSON keeps a stable set of keys; text leaves out fields without a value
            line = " ".join(f"{k}={_logfmt(v)}" for k, v in record.items() if v is not None)
        self.stream.write(line + "\n")
        self.stream.flush()

    def tick(self, r: DomainResult) -> None:
        ev = r.evidence
        self.domain_done(ev.domain or ev.input, r.status, r.verdict.compliant, r.verdict.score)

    def domain_done(self, domain: str, status: str, compliant: bool, score: int) -> None:
        """``tick`` from the fields the log line shows (a result judged by the report
        worker reaches the scan process as these, not as a DomainResult)."""
        self.done += 1
        self._new += 1
        if not self.bar:
            self.event("domain", domain=domain, status=status, compliant=compliant,
                       score=score, done=self.done, total=self.total)
            return
        now = time.monotonic()
        if now - self._last > 0.2:
            self._last = now
            self.stream.write("\r" + self.bar_text(now) + "\033[K")
            self.stream.flush()

    def rate(self, now: float | None = None) -> float:
        elapsed = (now if now is not None else time.monotonic()) - self.started
        return self._new / max(elapsed, 1e-6)

    def bar_text(self, now: float | None = None) -> str:
        rate = self.rate(now)
        if not self.total:
            return f"{self.done} domains done, {rate:.1f}/s"
        total = max(self.total, self.done)
        share = self.done / total
        filled = int(share * 20)
        eta = (total - self.done) / rate if rate > 0 else None
        eta_text = _duration(eta) if eta is not None else "?"
        return (f"[{'#' * filled}{'.' * (20 - filled)}] {self.done}/~{total} {share:4.0%} "
                f"{rate:.1f}/s ETA {eta_text}")

    def close(self) -> None:
        self._clear_bar()

    def _clear_bar(self) -> None:
        if self.bar and self._last:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._last = 0.0


def _logfmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):   # structured fields: compact JSON, quoted
        return json.dumps(json.dumps(value, ensure_ascii=False, separators=(",", ":")),
                          ensure_ascii=False)
    text = str(value)
    return text if text and _BARE.match(text) else json.dumps(text, ensure_ascii=False)


def _duration(seconds: float) -> str:
    s = int(seconds)
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


_SENTENCES = {
    "summary": "scan {scan} {state}: {domains} domains, {compliant} compliant under {profile}, "
               "{incomplete} incomplete, in {seconds}s; reports in {out}",
    "summary-stored": "scan {scan} {state}: {domains} domains, {compliant} compliant under "
                      "{profile}, {incomplete} incomplete, in {seconds}s; stored in the history",
    "interrupted": "scan {scan} interrupted by {signal}: {finished} domains finished and "
                   "reported; {hint}",
}


def _sentence(event: str, fields: dict) -> str:
    if event == "summary" and fields.get("out") is None:
        event = "summary-stored"     # mxaudit check --db: stored, no report folder
    try:
        text = _SENTENCES[event].format(**fields)
    except (KeyError, IndexError):
        return f"{event}: " + ", ".join(f"{k} {v}" for k, v in fields.items() if v is not None)
    return text + "".join(f"\nmxaudit: {line}" for line in _environment_lines(fields))


def _environment_lines(fields: dict) -> list[str]:
    """The summary's scan-environment notes that need saying (not a plain pass), and the MX
    hosts that throttled the scan: once, on the terminal, after the summary line."""
    lines = [f"scan environment: {n['id']} {n['status']}: {n['message']}"
             for n in fields.get("environment") or () if n.get("status") in ("warn", "info")]
    for t in fields.get("throttled") or ():
        lines.append(f"throttled the scan: {', '.join(t['hosts'])} [{t['ip']}]: "
                     f"{t['refusals']} transient refusal(s) ({t['reply']}), "
                     f"{t['waited_s']:g}s spent waiting")
    return lines
