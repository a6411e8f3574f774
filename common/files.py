"""Atomic file writes: a failed run leaves the previous good file in place."""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from storestack.common.errors import CommonFamily, UsageError


class FileWriteError(CommonFamily, UsageError, OSError):
    """A file could not be written (its folder is a file, missing, read-only, full …); names the
    file and the system's reason. Whatever was there before is left as it was. `path` is the
    file (or folder) it could not write, for a --json error's `file`."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"cannot write {path}: {reason}")
        self.path = str(path)
        self.reason = reason

    def __reduce__(self) -> tuple[type[FileWriteError], tuple[str, str]]:
        # Rebuilt from its own arguments where it crosses a process (a render worker's).
        return (FileWriteError, (self.path, self.reason))


def private_directory(path: Path) -> None:
    """Create `path` if need be and make it 0700: the folder of files that hold secrets."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)
    except OSError as exc:
        raise FileWriteError(path, str(exc.strerror or exc)) from exc


def atomic_write_text(path: Path, text: str, *, mode: int = 0o644, durable: bool = True) -> bool:
    """Write `text` to `path` via a temporary file and rename.

    Returns False (and leaves the file untouched) when the content is already identical,
    so callers can report written/unchanged counts and keep re-runs idempotent.

    `durable` flushes the file to disk before the rename, so it survives a power cut. Files
    that are derived from the inventory and rewritten by the next run (rendered stack and
    device configs, saved plans) pass False: the rename alone keeps a crashed or failed run
    from leaving a torn file, and one fsync per file is most of the time of writing thousands.
    """
    path = Path(path)
    try:
        return _write(path, text, mode=mode, durable=durable)
    except OSError as exc:
        raise FileWriteError(path, str(exc.strerror or exc)) from exc


def _write(path: Path, text: str, *, mode: int, durable: bool) -> bool:
    try:
        if path.read_text(encoding="utf-8") == text:
            if (path.stat().st_mode & 0o777) != mode:
                os.chmod(path, mode)
            return False
    except (FileNotFoundError, UnicodeDecodeError, IsADirectoryError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    # The temporary file's name is chosen before it is created (not by `tempfile.mkstemp`), so a
    # Ctrl-C arriving the moment it is created, before its name is known here, still removes it.
    tmp_name = str(path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        fd = os.open(tmp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except FileExistsError:  # only `os.open`: a file of that name (64 random bits) is not ours
        raise
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return True


@contextmanager
def staged_directory(path: Path) -> Iterator[Path]:
    """A folder whose new content appears whole or not at all.

    The block fills the empty folder this yields. When the block ends, what it holds takes its
    place: a `path` that is not there yet appears in one rename (staged beside it); in a folder
    already there (kept, so a shell working in it stays there), each entry staged (inside it)
    replaces the entry of its name, files after folders, and its other entries stay. Should
    anything stop the block (an error, Ctrl-C), the staged folder is removed and `path` is left as
    it was; should anything stop those renames, the entries already replaced are put back. Never a
    folder holding part of what the block meant to write.
    """
    path = Path(path)
    token = secrets.token_hex(8)
    existing = path.is_dir()
    # Named before it is created, so a Ctrl-C the moment it is made still finds it to remove.
    staging = path / f".staged-{token}" if existing else path.parent / f".{path.name}.{token}.tmp"
    try:
        if not existing:
            path.parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        # `mkdir(exist_ok=True)` says "File exists" of a parent that is a file.
        reason = os.strerror(errno.ENOTDIR) if isinstance(exc, FileExistsError) else str(exc.strerror or exc)
        raise FileWriteError(path, reason) from exc
    try:
        yield staging
        try:
            if existing:
                _replace_entries(staging, path, path / f".replaced-{token}")
            else:
                os.rename(staging, path)
        except OSError as exc:
            raise FileWriteError(path, str(exc.strerror or exc)) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _replace_entries(staging: Path, path: Path, aside: Path) -> None:
    """Each entry of `staging` in place of `path`'s entry of its name (moved to `aside`, removed
    at the end), folders first; interrupted or refused, every entry replaced so far goes back."""
    names = [entry.name for entry in sorted(staging.iterdir(), key=lambda e: (not e.is_dir(), e.name))]
    aside.mkdir()
    try:
        for name in names:
            if os.path.lexists(path / name):
                os.rename(path / name, aside / name)
            os.rename(staging / name, path / name)
    except BaseException:
        # Told apart by where each entry is now, not by what this loop got to record.
        for name in reversed(names):
            if not os.path.lexists(staging / name) and os.path.lexists(path / name):
                os.rename(path / name, staging / name)  # the new entry, back out
            if os.path.lexists(aside / name):
                os.rename(aside / name, path / name)  # the old one, back in
        shutil.rmtree(aside, ignore_errors=True)
        raise
    shutil.rmtree(aside, ignore_errors=True)
