"""Output files: written beside their targets and renamed into place, so a reader (or a crash)
never sees a half-written report, and a report *set* is renamed in together only once every
file of it is whole: a failure while writing (disk full) leaves the previous set as it was,
never a new results.jsonl beside last night's CSVs."""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, BinaryIO, TextIO

from scanner.errors import OutputError, UsageError


def _umask() -> int:
    mask = os.umask(0o022)   # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask


class FileSet:
    """Temporary files that become their targets together, at ``commit``; ``discard`` (or a
    failure while writing one) removes them and leaves the targets untouched."""

    def __init__(self) -> None:
        self._ready: list[tuple[str, Path]] = []
        self._obsolete: list[Path] = []

    @contextmanager
    def text(self, path: Path, *, newline: str | None = None) -> Iterator[TextIO]:
        """A temporary file beside ``path``. An OSError while making or writing it (disk
        full, I/O error) removes it and becomes an OutputError naming ``path``."""
        with self._temporary(path, "w", encoding="utf-8", newline=newline) as fh:
            yield fh

    @contextmanager
    def binary(self, path: Path) -> Iterator[BinaryIO]:
        with self._temporary(path, "wb") as fh:
            yield fh

    @contextmanager
    def gzip_text(self, path: Path, level: int = 6) -> Iterator[TextIO]:
        """A gzip-compressed UTF-8 text file (the header carries no name and no time, so the
        same text gives the same bytes)."""
        with self._temporary(path, "wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", compresslevel=level, fileobj=raw,
                               mtime=0) as gz, io.TextIOWrapper(gz, encoding="utf-8") as fh:
                yield fh

    @contextmanager
    def _temporary(self, path: Path, mode: str, **how: object) -> Iterator[IO]:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        except OSError as exc:
            raise _output_error(path, exc) from exc
        try:
            os.fchmod(fd, 0o666 & ~_umask())   # mkstemp makes 0600; reports get normal modes
            with os.fdopen(fd, mode, **how) as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            _unlink(tmp)
            raise _output_error(path, exc) from exc
        except BaseException:
            _unlink(tmp)
            raise
        self._ready.append((tmp, path))

    def obsolete(self, path: Path) -> None:
        """A file of an earlier set this one replaces without rewriting (results.jsonl when
        the set now has results.jsonl.gz): removed at ``commit``."""
        self._obsolete.append(path)

    def digests(self) -> dict[Path, dict]:
        """Target -> {"sha256", "bytes"} of every finished file, read back from disk: the
        bytes a reader of the committed set will find (the integrity manifest lists them)."""
        out = {}
        for tmp, path in self._ready:
            with open(tmp, "rb") as fh:
                digest = hashlib.file_digest(fh, "sha256")
            out[path] = {"sha256": digest.hexdigest(), "bytes": os.path.getsize(tmp)}
        return out

    def commit(self) -> None:
        """Rename every finished file into place, back to back, remove the obsolete ones,
        then sync the folders."""
        ready, self._ready = self._ready, []
        obsolete, self._obsolete = self._obsolete, []
        for i, (tmp, path) in enumerate(ready):
            try:
                os.replace(tmp, path)
            except OSError as exc:
                for rest, _ in ready[i:]:
                    _unlink(rest)
                raise _output_error(path, exc) from exc
        for path in obsolete:
            _unlink(str(path))
        for folder in {path.parent for _, path in ready} | {path.parent for path in obsolete}:
            _sync_folder(folder)

    def discard(self) -> None:
        ready, self._ready = self._ready, []
        self._obsolete = []
        for tmp, _ in ready:
            _unlink(tmp)


@contextmanager
def atomic_text(path: Path, *, newline: str | None = None) -> Iterator[TextIO]:
    """One file, renamed into place when it is whole."""
    files = FileSet()
    with files.text(path, newline=newline) as fh:
        yield fh
    files.commit()


def ensure_folder(out: Path) -> None:
    """The output folder must be usable before any domain is scanned, not after."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UsageError(f"--out {out}: exists and is not a folder") from None
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot create the folder ({exc.strerror or exc})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise UsageError(f"--out {out}: folder is not writable")


def _output_error(path: Path, exc: OSError) -> OutputError:
    return OutputError(f"cannot write {path}: {exc.strerror or exc}")


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
