"""Evaluation, storage and reports, by a second process alongside the scan.

Why: the scan is bound by one event-loop core. Rendering the reports (CSV/JSONL rows, the
HTML table row and details) was ~20% of a bench run's CPU; judging each domain (evidence ->
findings -> verdict) and storing it ~18% of the scan process's (py-spy: judge 10.8%, the store
write 7.1%; its CPU fell from 20-22 s to 14-16 s per bench run). On lists of ``MIN_DOMAINS`` or
more, the scan process only collects: it sends each domain's evidence to this worker, which
judges it, stores it (a batch per commit) and acknowledges it, then renders the results in
input order as soon as every earlier position is in, on the machine's other core. When the
scan ends it renders the rest, adds the summary and the "since the previous scan" section, and
the four files appear as before: the same bytes ``render_scan`` writes (a test compares).
Results stored by someone else (an interrupted run being resumed, a Dask scan, the scan
process itself) are read back from the store, so the worker renders whatever the store holds.

Protocol, one line per message (bytes; JSON never contains a raw newline):
  scan -> worker  ``S <base64 pickle of the start dict>`` once, then per domain ``P <digest>
                  <JSON>`` for each shared object (scanner/store_codec.py: an SMTP probe, an
                  MX host) not sent before and ``E <evidence JSON>`` referring to them by
                  digest, ``D`` when the scan ended (no more evidence), ``F`` once the scan is
                  recorded as finished. Each shared object crosses the pipe and is stored
                  once per scan, not once per domain that uses it.
  worker -> scan  ``A <position> <compliant 0|1> <score> <fail-on matched 0|1> <grade>`` per
                  stored domain (the grade with "_" for spaces, ``not_graded``; ``-`` for
                  none), ``D`` after the last one, then one JSON line: the summary counts or
                  ``{"error": ...}``.
End of input before ``F`` (the scan process died or gave up): the worker stores the evidence
it has read (so ``scan --resume`` keeps it), discards its partial files and exits.

Failure costs only time: a worker that dies or falls behind leaves its unacknowledged domains
to the scan process, which judges and stores them itself (``INSERT OR REPLACE``: a domain
stored by both is stored once), and a worker that does not report success leaves the reports
to the scan process (``reports.stored.render_scan``). The worker ignores SIGINT/SIGTERM: a terminal's
Ctrl-C or systemd's stop reaches the whole process group, and it is the scan process that
decides what happens (stop, then finish).
"""
from __future__ import annotations

import base64
import fcntl
import gc
import json
import os
import pickle
import select
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from scanner.evidence import DomainEvidence
from scanner.profiles import Profile
from scanner.result import judge
from scanner.store import Store
from scanner.store_codec import Splitter, digest
from scanner.verdict import fail_on_matches

# Below this many domains the worker's start-up (an interpreter importing Jinja2 and the
# checks, ~0.3 s of CPU) costs more than judging and rendering in the scan process.
MIN_DOMAINS = 200
ENV = "MXAUDIT_REPORT_WORKER"   # "0": never; "1": always (tests); unset/"auto": MIN_DOMAINS
MAX_UNACKED = 1024    # evidence sent but not yet stored; beyond it the scan judges itself
MAX_HELD = 512        # judged results the worker keeps for rendering (the rest: re-read)
RENDER_SLICE = 64     # results rendered between two reads of the scan's messages
POLL_S = 0.1
PIPE_SIZE = 1 << 20   # room for ~100 domains' evidence in the pipe (Linux F_SETPIPE_SZ)
# Full garbage collections once per GC_FULL_EVERY collections of the middle generation
# (Python's default: 10). The worker holds up to MAX_HELD judged results (~250,000 objects,
# none in a reference cycle) and each full collection walks them all: on a replay of a
# 2,000-domain bench scan, 9 full collections took 1.3 s of the worker's 13.5 s of CPU.
# Cycles that die young are still collected by the younger generations as before.
GC_FULL_EVERY = 100


# -P: the working directory is not put on sys.path, so a ``scanner/`` folder there cannot be
# imported instead of mxaudit; the folder this process imported mxaudit from is added only if
# the worker's own path lacks it (a source checkout), never ahead of the standard library.
_BOOT = ("import sys; d = sys.argv[1]; d in sys.path or sys.path.insert(0, d); "
         "from importlib import import_module; sys.exit(import_module(sys.argv[2]).main())")


def worker_command(module: str = "scanner.run.worker") -> list[str]:
    """The command line of a helper process running ``module.main()`` (this report worker,
    or a collector process: scanner/run/collector.py)."""
    import scanner
    return [sys.executable, "-P", "-c", _BOOT, str(Path(scanner.__file__).resolve().parent.parent),
            module]


def wanted(total: int | None) -> bool:
    mode = os.environ.get(ENV, "auto")
    if mode == "0" or total is None:    # stdin lists: the size (and so the HTML layout) is unknown
        return False
    return mode == "1" or total >= MIN_DOMAINS


# ---------------------------------------------------------------------------- scan side
Judged = Callable[[DomainEvidence, bool, int, bool, str], None]  # ev, compliant, score,
#                                                                   fail-on matched, grade


class ReportWorker:
    """The scan process's handle on the worker. While the event loop runs (``attach``),
    ``send`` never blocks: lines queue in memory and go out when the pipe has room;
    acknowledgements arrive through a reader callback and reach ``on_judged``. Evidence the
    worker cannot take (dead, or ``MAX_UNACKED`` behind) goes to ``on_orphan``: the scan
    process judges and stores it itself."""

    def __init__(self, proc: subprocess.Popen, stderr) -> None:
        self.proc, self.stderr = proc, stderr
        self.error: str | None = None
        self.lost = False
        self.on_judged: Judged = lambda ev, compliant, score, matched, grade: None
        self.on_orphan: Callable[[DomainEvidence], None] = lambda ev: None
        self._unacked: dict[int, DomainEvidence] = {}
        self._splitter = Splitter()
        self._out = bytearray()
        self._in = b""
        self._loop = None
        self._waiting = False     # a writer callback is armed (the pipe was full)
        self._drained = False

    @classmethod
    def start(cls, db: Path, scan_id: int, out: Path, profile: Profile, total: int,
              fail_on: str | None = None, pdf: bool = False, *,
              gzip_jsonl: bool = False) -> "ReportWorker | None":
        # the worker's stderr goes to a file, not a pipe nobody reads during the scan: its
        # last line explains a worker that died before it could answer (an import error...)
        stderr = tempfile.TemporaryFile()
        proc = None
        try:
            proc = subprocess.Popen(worker_command(), stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=stderr)
            start = {"db": str(db), "scan_id": scan_id, "out": str(out), "total": total,
                     "profile": profile, "fail_on": fail_on, "pdf": pdf,
                     "gzip_jsonl": gzip_jsonl}
            proc.stdin.write(b"S " + base64.b64encode(pickle.dumps(start)) + b"\n")
            proc.stdin.flush()
        except (OSError, pickle.PicklingError):
            if proc is not None:
                proc.kill()
                proc.wait()
            stderr.close()
            return None
        for pipe in (proc.stdin, proc.stdout):
            try:
                fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_SIZE)
            except (OSError, AttributeError):   # not Linux, or above pipe-max-size: 64 KiB
                pass
        return cls(proc, stderr)

    def sink(self, fallback: Callable[[DomainEvidence], None], on_judged: Judged):
        """The scan's sink: evidence to the worker; what it cannot take to ``fallback``
        (the scan process judges and stores it), now or when the worker is lost."""
        self.on_judged, self.on_orphan = on_judged, fallback

        def send(ev: DomainEvidence) -> None:
            if not self.send(ev):
                fallback(ev)
        return send

    # -- while the scan's event loop runs
    def attach(self, loop) -> None:
        self._loop = loop
        if self.lost:
            return
        os.set_blocking(self.proc.stdin.fileno(), False)
        os.set_blocking(self.proc.stdout.fileno(), False)
        loop.add_reader(self.proc.stdout.fileno(), self._readable)

    def detach(self) -> None:
        if self._loop is not None and not self.lost:
            self._loop.remove_reader(self.proc.stdout.fileno())
            self._loop.remove_writer(self.proc.stdin.fileno())
            self._waiting = False
            os.set_blocking(self.proc.stdin.fileno(), True)
            os.set_blocking(self.proc.stdout.fileno(), True)
        self._loop = None

    def send(self, ev: DomainEvidence) -> bool:
        """Hand one domain's evidence to the worker; False: judge it yourself."""
        if self.lost or len(self._unacked) >= MAX_UNACKED:
            return False
        self._unacked[ev.position] = ev
        skeleton, shared = self._splitter.split(ev)
        for d, text in shared:
            self._out += b"P %s %s\n" % (d.encode("ascii"), text.encode("utf-8", "surrogatepass"))
        self._out += b"E " + skeleton.encode("utf-8", "surrogatepass") + b"\n"
        if self._loop is None:            # no event loop (a Dask scan): write it now
            self._pump(lambda: not self._out)
        elif not self._waiting:
            self._write()
        return True

    def _write(self) -> None:
        """As much as the pipe takes now; the rest when the loop says it has room."""
        fd = self.proc.stdin.fileno()
        if self._flush():
            if not self._waiting:
                self._waiting = True
                self._loop.add_writer(fd, self._write)
        elif self._waiting:
            self._waiting = False
            self._loop.remove_writer(fd)

    def _flush(self) -> bool:
        """Write what the (non-blocking) pipe takes; True if some is left for later."""
        try:
            while self._out:
                del self._out[:os.write(self.proc.stdin.fileno(), self._out[:PIPE_SIZE])]
        except BlockingIOError:
            return True
        except OSError as exc:              # the worker is gone
            self._lose(f"cannot write to the worker: {exc.strerror or exc}")
        return False

    def _readable(self) -> None:
        try:
            data = os.read(self.proc.stdout.fileno(), 1 << 16)
        except BlockingIOError:
            return
        except OSError as exc:
            self._lose(f"cannot read from the worker: {exc.strerror or exc}")
            return
        if not data:
            self._lose(None)
            return
        self._take(data)

    def _take(self, data: bytes) -> None:
        *lines, self._in = (self._in + data).split(b"\n")
        for line in lines:
            if line.startswith(b"A "):
                _, pos, compliant, score, matched, grade = line.split()
                ev = self._unacked.pop(int(pos), None)
                if ev is not None:
                    self.on_judged(ev, compliant == b"1", int(score), matched == b"1",
                                   grade.decode("ascii").replace("_", " ").strip("-"))
            elif line == b"D":
                self._drained = True
            else:                            # an error line before its time: give up on it
                self._lose(line.decode("utf-8", "replace")[:300])
                return

    def _lose(self, why: str | None) -> None:
        """The worker is gone or broken: its unacknowledged domains come back to us."""
        if self.lost:
            return
        self.lost = True
        if self._loop is not None:
            self._loop.remove_reader(self.proc.stdout.fileno())
            self._loop.remove_writer(self.proc.stdin.fileno())
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.error = why or self._last_words()
        orphans, self._unacked, self._out = self._unacked, {}, bytearray()
        for position in sorted(orphans):
            self.on_orphan(orphans[position])

    # -- after the scan's event loop
    def drain(self, timeout: float = 3600.0) -> None:
        """Wait until the worker has stored every domain sent (the scan's counts come from
        the store); a worker lost meanwhile hands its domains to ``on_orphan``."""
        if self.lost:
            return
        self._out += b"D\n"
        self._pump(lambda: self._drained, timeout)

    def _pump(self, done: Callable[[], bool], timeout: float = 3600.0) -> None:
        """Without the event loop: write what is queued and read acknowledgements (those
        already waiting, then as they come) until ``done()``."""
        stdin, stdout = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        os.set_blocking(stdin, False)
        try:
            wait = 0.0
            while not self.lost:
                ready, writable, _ = select.select([stdout], [stdin] if self._out else [], [],
                                                   wait)
                if wait and not ready and not writable:
                    self._lose("no answer from the worker")
                    return
                if writable:
                    self._flush()
                if ready and not self.lost:
                    self._readable()
                if done() and not ready:
                    return
                wait = 0.0 if ready or writable else timeout
        finally:
            if not self.lost:
                os.set_blocking(stdin, True)

    def finish(self, timeout: float = 3600.0) -> dict | None:
        """Tell the worker the scan is over; its summary counts, or None (then the caller
        writes the reports itself; ``error`` says why)."""
        if self.lost:
            return None
        try:
            line, _ = self.proc.communicate(b"F\n", timeout=timeout)
            line = self._in + line
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


class _Messages:
    """The scan's lines, read straight from the file descriptor: a buffered reader's
    read-ahead would hide lines from ``select``."""

    BATCH = 256    # lines handled between two render slices

    def __init__(self, fd: int) -> None:
        self.fd, self.eof = fd, False
        self._rest, self._lines = b"", []

    def read(self, timeout: float | None) -> list[bytes]:
        """Up to about BATCH complete lines (waiting up to ``timeout`` for the first ones)."""
        while not self.eof and len(self._lines) < self.BATCH:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            if not ready:
                break
            data = os.read(self.fd, 1 << 20)
            if not data:
                self.eof = True
                break
            *new, self._rest = (self._rest + data).split(b"\n")
            self._lines += new
            timeout = 0
        lines, self._lines = self._lines[:self.BATCH], self._lines[self.BATCH:]
        return lines

    def first(self) -> bytes:
        """The start line (waiting for it); what came with it stays for ``read``."""
        while True:
            lines = self.read(None)
            if lines:
                self._lines[:0] = lines[1:]
                return lines[0]
            if self.eof:
                raise _Abandoned


class _Worker:
    """Judges and stores what the scan sends, renders in input order, finishes on ``F``."""

    def __init__(self, store: Store, scan_id: int, out: Path, total: int, profile: Profile,
                 fail_on: str | None, messages: _Messages, answer: Callable[[bytes], None],
                 pdf: bool = False, gzip_jsonl: bool = False) -> None:
        self.store, self.scan_id, self.out, self.total = store, scan_id, out, total
        self.profile, self.fail_on, self.pdf = profile, fail_on, pdf
        self.gzip_jsonl = gzip_jsonl
        self.messages, self.answer = messages, answer
        self.held: dict[int, object] = {}     # position -> DomainResult judged here
        self.position = 0                     # the next one to render

    def run(self) -> dict:
        from reports.stored import report_meta, since_previous, trend_of
        from reports.writer import ReportWriter

        meta = report_meta(self.store.scan(self.scan_id), self.profile)
        with ReportWriter(self.out, self.profile, meta, count=self.total,
                          trend=trend_of(self.store, self.scan_id), pdf=self.pdf,
                          gzip_jsonl=self.gzip_jsonl) as writer:
            finishing, behind = False, False
            while not finishing:
                finishing = self._take(self.messages.read(0 if behind else POLL_S))
                behind = self._render(writer.add, RENDER_SLICE)
            self._render(writer.add, None)
            if not writer.fits:
                raise _Relayout               # an interrupted scan: discard, render the usual way
            rec = self.store.scan(self.scan_id)
            summary = writer.finish(since_previous(self.store, rec), report_meta(rec, self.profile))
        return summary.counts()

    def _take(self, lines: list[bytes]) -> bool:
        """Judge and store the evidence among ``lines``, acknowledge it; True on ``F``."""
        rows, shared, acks, finish, drained = [], [], [], False, False
        objects = self.store.shared_objects(self.scan_id)
        for line in lines:
            if line.startswith(b"E "):
                skeleton = line[2:]           # stored as it came (UTF-8)
                r = judge(objects.evidence(skeleton, complete=False), self.profile)
                rows.append((r, skeleton))
                position = r.evidence.position
                if len(self.held) < MAX_HELD:
                    self.held[position] = r
                matched = fail_on_matches(r, self.profile, self.fail_on)
                acks.append(b"A %d %d %d %d %s\n" % (
                    position, r.verdict.compliant, r.verdict.score, matched,
                    (r.verdict.grade or "-").replace(" ", "_").encode("ascii")))
            elif line.startswith(b"P "):
                d, text = line[2:].decode("utf-8", "surrogatepass").split(" ", 1)
                if digest(text) != d:
                    raise ValueError(f"shared evidence {d[:30]!r} does not match its digest")
                objects.pending[d] = text
                shared.append((d, text))
            elif line == b"D":
                drained = True
            elif line == b"F":
                finish = True
            else:
                raise _Abandoned
        if rows or shared:
            self.store.add_rows(self.scan_id, rows, shared)
            objects.pending.clear()
        if drained:
            acks.append(b"D\n")
        if acks:
            self.answer(b"".join(acks))
        if self.messages.eof and not finish:
            raise _Abandoned                  # what was sent is stored; the reports are not
        return finish

    def _render(self, render: Callable, limit: int | None) -> bool:
        """Render from ``position`` on, in input order, up to ``limit`` results (None: all
        that is stored, skipping positions never scanned). True if more is ready."""
        done = 0
        while limit is None or done < limit:
            r = self.held.pop(self.position, None)
            if r is None:
                if limit is None:
                    nxt = self.store.next_position(self.scan_id, self.position)
                    if nxt is None:
                        return False
                    self.position = nxt
                    r = self.held.pop(nxt, None)
                if r is None:
                    r = self.store.result_at(self.scan_id, self.position)
                    if r is None:
                        return False          # still being scanned
            render(r)
            self.position += 1
            done += 1
        return True


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, GC_FULL_EVERY)
    messages = _Messages(sys.stdin.fileno())
    stdout = sys.stdout.fileno()

    def answer(data: bytes) -> None:
        while data:
            data = data[os.write(stdout, data):]

    try:
        line = messages.first()
        if not line.startswith(b"S "):
            raise _Abandoned
        start = pickle.loads(base64.b64decode(line[2:]))
        with Store(Path(start["db"])) as store:
            try:
                result = _Worker(store, start["scan_id"], Path(start["out"]), start["total"],
                                 start["profile"], start["fail_on"], messages, answer,
                                 start.get("pdf", False), start.get("gzip_jsonl", False)).run()
            except _Relayout:
                from reports.stored import render_scan
                result = render_scan(store, start["scan_id"], Path(start["out"]),
                                     start["profile"], pdf=start.get("pdf", False),
                                     gzip_jsonl=start.get("gzip_jsonl", False)).counts()
    except (_Abandoned, BrokenPipeError):
        return 3
    except Exception as exc:  # the parent renders the reports itself and says why
        answer(json.dumps({"error": f"{type(exc).__name__}: {exc}"[:300]}).encode() + b"\n")
        return 70
    answer(json.dumps(result).encode() + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
