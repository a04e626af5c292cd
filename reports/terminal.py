"""`mxaudit check`'s answer on the terminal: per domain the verdict, score and grade, then the
findings grouped by category, worst category first, each with its status word, check,
subject, message and, for what failed, the remediation. Passing, informational and skipped
checks fold into one line per category and status unless ``verbose``.

Colour (rich) only when the stream is a terminal and ``NO_COLOR`` is not set
(https://no-color.org); otherwise plain text, aligned, never wrapped. On a terminal long lines
wrap under their own column.

Text from DNS and from servers is hostile: it reaches rich only as ``Text`` objects (rich
never parses them for ``[markup]`` or ``:emoji:``), after ``terminal_safe`` has made every
control character visible, so no ESC/CSI/OSC sequence, C1 control or bidi override from a
record or a greeting reaches the terminal.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TextIO

from rich.console import Console
from rich.text import Text

from scanner.checks import all_checks
from scanner.findings import SEVERITY, Finding, Status, domain_statuses
from scanner.profiles import Profile
from scanner.registry import CATEGORY_TITLES
from scanner.result import DomainResult
from scanner.verdict import Verdict, unmet

from scanner.textsafe import for_terminal as terminal_safe
from .summary import verdict_state

STATUS_STYLE = {Status.FAIL: "bold red", Status.ERROR: "bold magenta", Status.WARN: "yellow",
                Status.PASS: "green", Status.INFO: "cyan", Status.SKIPPED: "dim"}
VERDICT_STYLE = {"compliant": ("COMPLIANT", "bold green"),
                 "fail": ("NOT COMPLIANT", "bold red"),
                 "undetermined": ("UNDETERMINED", "bold yellow")}   # could not test
FOLDED = (Status.PASS, Status.INFO, Status.SKIPPED)   # one line per category unless verbose
WITH_FIX = (Status.FAIL, Status.ERROR, Status.WARN)   # rows that show the remediation
STATUS_WIDTH = max(len(s.value) for s in Status)
INDENT = "    "


def grade_text(verdict: Verdict) -> str:
    """'grade B', with what capped it; "" while verdicts carry no grade (issue 15 adds
    ``Verdict.grade``, "" for "no grade", and ``Verdict.caps``)."""
    grade = getattr(verdict, "grade", "")
    if not grade:
        return ""
    caps = getattr(verdict, "caps", ())
    return f"grade {grade}" + (f" (capped by {', '.join(caps)})" if caps else "")


def use_colour(stream: TextIO) -> bool:
    """Colour only on a terminal, and never with NO_COLOR set to anything but ""."""
    return _isatty(stream) and not os.environ.get("NO_COLOR")


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass(frozen=True)
class Row:
    """One line of a category: a check's findings of one status and text (their subjects
    listed together), or a folded line naming every check of a status."""
    status: Status
    check: str
    subjects: tuple[str, ...] = ()
    message: str = ""
    remediation: str = ""
    folded: tuple[str, ...] = ()        # the checks of a folded line


def categories(findings: Iterable[Finding], domain: str, *,
               verbose: bool = False) -> list[tuple[str, list[Row]]]:
    """[(category title, rows)]: the worst category first (ties in catalogue order), rows
    worst first (ties in catalogue order), folded lines last. Unless ``verbose``, a category
    where every check was skipped is left out."""
    specs = all_checks()
    order = {cid: i for i, cid in enumerate(specs)}
    by_cat: dict[str, list[Finding]] = {}
    for f in findings:
        spec = specs.get(f.check)
        by_cat.setdefault(spec.category if spec else "info", []).append(f)
    cat_order = {c: i for i, c in enumerate(CATEGORY_TITLES)}
    worst = {c: max(SEVERITY[f.status] for f in fs) for c, fs in by_cat.items()}
    ranked = sorted(by_cat, key=lambda c: (-worst[c], cat_order.get(c, len(cat_order)), c))
    return [(CATEGORY_TITLES.get(c, c), _rows(by_cat[c], order, domain, verbose))
            for c in ranked if verbose or worst[c] > SEVERITY[Status.SKIPPED]]


def _rows(findings: list[Finding], order: dict[str, int], domain: str,
          verbose: bool) -> list[Row]:
    """Unless ``verbose``, a check whose domain-level status folds (pass, info, skipped) is
    named on its status's line, and a check's subjects at a folded status are not shown
    beside its worse ones (smtp.starttls fails on port 25: that it was skipped on 465 is
    noise here)."""
    levels = domain_statuses(findings)
    full: dict[tuple, list[str]] = {}     # (status, check, message, remediation) -> subjects
    folded: dict[Status, list[str]] = {}
    for f in sorted(findings, key=lambda f: (-SEVERITY[f.status], order.get(f.check, 1 << 30),
                                             f.check)):
        if f.status in FOLDED and not verbose:
            level = levels[f.check]
            checks = folded.setdefault(level, [])
            if level is f.status and f.check not in checks:
                checks.append(f.check)
            continue
        fix = f.remediation if f.status in WITH_FIX else ""
        subjects = full.setdefault((f.status, f.check, f.message, fix), [])
        if f.subject and f.subject != domain:
            subjects.append(f.subject)
    rows = [Row(status, check, _compact(subjects), message, fix)
            for (status, check, message, fix), subjects in full.items()]
    return rows + [Row(s, "", folded=tuple(folded[s])) for s in FOLDED if folded.get(s)]


_ENDPOINT = re.compile(r"^(.*\]):(\d+)$")     # subject_endpoint: 'mx.example [192.0.2.1]:25'


def _compact(subjects: list[str]) -> tuple[str, ...]:
    """One SMTP host+IP with its ports together: 'mx [192.0.2.1]:25,587'."""
    ports: dict[str, list[str]] = {}
    for s in subjects:
        m = _ENDPOINT.match(s)
        host, port = (m.group(1), m.group(2)) if m else (s, "")
        ports.setdefault(host, [])
        if port:
            ports[host].append(port)
    return tuple(f"{host}:{','.join(p)}" if p else host for host, p in ports.items())


Line = tuple[Text, Text]     # (the prefix: indent and status column, the rest: may wrap)


def domain_lines(r: DomainResult, profile: Profile | None, *,
                 verbose: bool = False) -> list[Line]:
    """The block of one domain, as (prefix, text) pairs; a continuation of a wrapped text
    is indented by the prefix's width."""
    ev, v = r.evidence, r.verdict
    name = ev.domain or ev.input
    word, style = VERDICT_STYLE[verdict_state(r)]
    head = Text.assemble((terminal_safe(name), "bold"), "  ", (word, style),
                         f"  score {v.score}/100")
    grade = grade_text(v)
    if grade:
        head.append(f"  {grade}")
    head.append(f"  (profile {terminal_safe(v.profile)})", style="dim")
    lines: list[Line] = [(Text(), head)]
    if ev.domain and ev.input != ev.domain:
        lines.append(_note(f"input: {terminal_safe(ev.input)}"))
    if ev.error:
        lines.append(_note(f"scan incomplete: {terminal_safe(ev.error)}"))
    if v.failed:
        failed = unmet(replace(v, undetermined=()), profile)   # described
        lines.append(_note("requirements not met: " + ", ".join(map(terminal_safe, failed))))
    if v.undetermined:
        lines.append(_note("required but could not be tested: " + ", ".join(v.undetermined)))
    for title, rows in categories(r.findings, name, verbose=verbose):
        lines.append((Text(), Text()))
        lines.append((Text("  "), Text(title, style="bold")))
        lines.extend(line for row in rows for line in _row_lines(row))
    return lines


def _note(text: str) -> Line:
    return Text("  "), Text(text)


def _row_lines(row: Row) -> list[Line]:
    word = row.status.value.upper()
    prefix = Text.assemble(INDENT, (word, STATUS_STYLE[row.status]),
                           " " * (STATUS_WIDTH - len(word) + 1))
    under = Text(" " * len(prefix))
    if row.folded:
        n = len(row.folded)
        counted = f"{n} check{'s' if n > 1 else ''}"
        if row.status is Status.SKIPPED:   # not applicable here: which ones is for -v
            return [(prefix, Text(counted, style="dim"))]
        return [(prefix, Text(f"{counted}: " + ", ".join(row.folded), style="dim"))]
    first = Text.assemble((row.check, "bold"))
    if row.subjects:
        first.append("  " + ", ".join(terminal_safe(s) for s in row.subjects))
    lines = [(prefix, first), (under, Text(terminal_safe(row.message)))]
    if row.remediation:
        lines.append((under, Text("fix: " + terminal_safe(row.remediation), style="italic")))
    return lines


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """The reader went away (``| head``): rich points stdout at /dev/null, then the command
        line ends as for the other formats (status 0), not with rich's SystemExit(1), which
        would read as "--fail-on matched"."""
        try:
            super().on_broken_pipe()
        except SystemExit:
            raise BrokenPipeError from None


class TerminalView:
    """Writes each result's block to ``stream`` (results in the order given)."""

    def __init__(self, stream: TextIO, profile: Profile | None, *, verbose: bool = False,
                 colour: bool | None = None) -> None:
        colour = use_colour(stream) if colour is None else colour
        self.console = _Console(file=stream, color_system="auto" if colour else None,
                                force_terminal=colour or None, highlight=False, markup=False,
                                emoji=False, soft_wrap=True)
        self.width = self.console.width if _isatty(stream) else None   # wrap on terminals
        self.profile, self.verbose = profile, verbose
        self._first = True

    def add(self, r: DomainResult) -> None:
        if not self._first:
            self.console.print()
        self._first = False
        for prefix, text in domain_lines(r, self.profile, verbose=self.verbose):
            self._emit(prefix, text)
        self.console.file.flush()

    def _emit(self, prefix: Text, text: Text) -> None:
        room = None if self.width is None else max(self.width - prefix.cell_len, 20)
        pieces: Sequence[Text] = [text] if room is None else text.wrap(self.console, room)
        for i, piece in enumerate(pieces or [Text()]):
            line = Text.assemble(prefix if i == 0 else " " * prefix.cell_len, piece)
            line.rstrip()
            self.console.print(line, soft_wrap=True)

    def close(self) -> None:
        self.console.file.flush()
