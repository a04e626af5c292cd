"""Reports written alongside the scan, by a second process.

Why: the scan is bound by one event-loop core, and rendering the reports (decoding each stored
result, the CSV/JSONL rows, the HTML table row and details) was ~20% of a bench run's CPU, all
of it after the last domain. A worker process follows the scan instead: it reads the results
the scan commits to the store, in input order, and renders each as soon as every earlier
position is in, on the machine's other core. When the scan ends it renders the rest, adds the
summary and the "since the previous scan" section, and the four files appear as before. The
outputs are the same bytes ``finish_reports`` writes (a test compares them).

Protocol (parent -> worker stdin, pickled): the start message ``{"db", "scan_id", "out",
"total", "profile"}``, then ``"finish"`` once the scan is recorded as finished. Worker ->
parent stdout: one JSON line, the summary counts or ``{"error": ...}``. End of input before
``"finish"`` (the scan process died or gave up) makes the worker discard its partial files.
The worker ignores SIGINT/SIGTERM: a terminal's Ctrl-C or systemd's stop reaches the whole
process group, and it is the scan process that decides what happens (stop, then finish).

Anything that goes wrong in the worker costs nothing but time: the parent writes the reports
itself (``finish_reports``) when the worker did not report success.
"""
from __future__ import annotations

import json
import os
import pickle
import select
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from ..profiles import Profile
from ..store import Store, decode_result

# Below this many domains the worker's start-up (an interpreter importing Jinja2 and the
# checks, ~0.3 s of CPU) costs more than rendering in-process after the scan.
MIN_DOMAINS = 200
ENV = "MXAUDIT_REPORT_WORKER"   # "0": never; "1": always (tests); unset/"auto": MIN_DOMAINS
BATCH = 256
POLL_S = 0.1


def wanted(total: int | None) -> bool:
    mode = os.environ.get(ENV, "auto")
    if mode == "0" or total is None:    # stdin lists: the size (and so the HTML layout) is unknown
        return False
    return mode == "1" or total >= MIN_DOMAINS


class ReportWorker:
    """The parent's handle on the worker process."""

    def __init__(self, proc: subprocess.Popen, stderr) -> None:
        self.proc, self.stderr = proc, stderr
        self.error: str | None = None

    @classmethod
    def start(cls, db: Path, scan_id: int, out: Path, profile: Profile,
              total: int) -> "ReportWorker | None":
        # the worker's stderr goes to a file, not a pipe nobody reads during the scan: its
        # last line explains a worker that died before it could answer (an import error...)
        stderr = tempfile.TemporaryFile()
        proc = None
        try:
            proc = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=stderr)
            pickle.dump({"db": str(db), "scan_id": scan_id, "out": str(out), "total": total,
                         "profile": profile}, proc.stdin)
            proc.stdin.flush()
        except (OSError, pickle.PicklingError):
            if proc is not None:
                proc.kill()
                proc.wait()
            stderr.close()
            return None
        return cls(proc, stderr)

    def finish(self, timeout: float = 3600.0) -> dict | None:
        """Tell the worker the scan is over; its summary counts, or None (then the caller
        writes the reports itself; ``error`` says why)."""
        try:
            line, _ = self.proc.communicate(pickle.dumps("finish"), timeout=timeout)
            answer = json.loads(line.decode().splitlines()[-1]) if line.strip() else {}
        except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            return None
        if self.proc.returncode != 0 or "domains" not in answer:
            self.error = answer.get("error") or self._last_words()
            return None
        return answer

    def _last_words(self) -> str:
        self.stderr.seek(0)
        lines = self.stderr.read()[-4096:].decode("utf-8", "replace").strip().splitlines()
        tail = f": {lines[-1][:200]}" if lines else ""
        return f"exit status {self.proc.returncode}{tail}"

    def abandon(self) -> None:
        """The scan stops without reports (or the parent wrote them): end the worker."""
        self.stderr.close()
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()     # end of input: the worker discards its files
            except OSError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------------------- the worker
class _Abandoned(Exception):
    """The parent went away (or gave up) before saying "finish"."""


class _Relayout(Exception):
    """The scan ended with a domain count that calls for another HTML layout."""


def _follow(store: Store, scan_id: int, out: Path, total: int, profile: Profile, stdin) -> dict:
    from reports.html import DETAIL_LIMIT, FULL_DETAIL_LIMIT, HtmlSpool
    from reports.tabular import tabular_writer

    from ..registry import all_checks
    from ._common import report_meta, since_previous

    compact, details = total > FULL_DETAIL_LIMIT, total <= DETAIL_LIMIT
    meta = report_meta(store.scan(scan_id), profile)
    with HtmlSpool(meta, lambda domain: store.trend(domain, scan_id),
                   compact=compact, details=details) as page:
        with tabular_writer(out, list(all_checks())) as (add, summary):
            position, finishing = 0, False
            while True:
                rows = store.result_rows(scan_id, position, BATCH)
                rendered = 0
                for row in rows:
                    if row[0] != position and not finishing:
                        break             # an earlier domain is still being scanned
                    r = decode_result(*row[1:])
                    add(r)
                    page.add(r)
                    position, rendered = row[0] + 1, rendered + 1
                if finishing:
                    if len(rows) < BATCH:
                        break             # every stored row is rendered, gaps and all
                elif rendered < BATCH:
                    finishing = _finish_said(stdin)
            if (summary.domains > FULL_DETAIL_LIMIT, summary.domains <= DETAIL_LIMIT) != (compact, details):
                raise _Relayout           # an interrupted scan: discard, render the usual way
            rec = store.scan(scan_id)
            page.meta = report_meta(rec, profile)
            page.finish(out, summary, since_previous(store, rec))
    return {"domains": summary.domains, "compliant": summary.compliant, "errors": summary.errors}


def _finish_said(stdin) -> bool:
    """Wait up to POLL_S for the parent; True once it said "finish"."""
    ready, _, _ = select.select([stdin], [], [], POLL_S)
    if not ready:
        return False
    try:
        message = pickle.load(stdin)
    except (EOFError, pickle.UnpicklingError):
        raise _Abandoned from None
    if message != "finish":
        raise _Abandoned
    return True


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    stdin = sys.stdin.buffer
    try:
        start = pickle.load(stdin)
        with Store(Path(start["db"])) as store:
            try:
                answer = _follow(store, start["scan_id"], Path(start["out"]), start["total"],
                                 start["profile"], stdin)
            except _Relayout:
                from ._common import finish_reports
                s = finish_reports(store, start["scan_id"], Path(start["out"]), start["profile"])
                answer = {"domains": s.domains, "compliant": s.compliant, "errors": s.errors}
    except _Abandoned:
        return 3
    except Exception as exc:  # the parent renders the reports itself and says why
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"[:300]}), flush=True)
        return 70
    print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
