"""Atomic file writes: a failed run leaves the previous good file in place."""

from __future__ import annotations

import errno
import fcntl
import os
import re
import secrets
import shutil
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from storestack.common.errors import CommonFamily, UsageError


class FileWriteError(CommonFamily, UsageError, OSError):
    """A file could not be written (its folder is a file, missing, read-only, full …); names the
    file and the system's reason. Whatever was there before is left as it was. `path` is the
    file (or folder) it could not write, for a --json error's `file`."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"cannot write {path}: {reason}", file=str(path))
        self.path = str(path)
        self.reason = reason

    def __reduce__(self) -> tuple[type[FileWriteError], tuple[str, str]]:
        # Rebuilt from its own arguments where it crosses a process (a render worker's).
        return (FileWriteError, (self.path, self.reason))


class KeyFileError(CommonFamily, UsageError, ValueError):
    """A file that should hold a random key (`private_key`) is refused: others may read it, or it
    holds no key of the right length. Names the file (`file`, for a --json error); the file is left
    as it is, for its owner to look at."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}", file=str(path))
        self.path = str(path)
        self.reason = reason

    def __reduce__(self) -> tuple[type[KeyFileError], tuple[str, str]]:
        return (KeyFileError, (self.path, self.reason))


KEY_BYTES = 32


def read_private_key(path: Path, *, size: int = KEY_BYTES) -> bytes | None:
    """The random key kept at `path` (`size` bytes in hex, mode 0600); None where there is none.
    Refused (`KeyFileError`): one others may read or write (any mode bit beyond 0600; a key
    someone else may have read keys nothing), a symbolic link or no regular file, one holding no
    key of `size` bytes (edited, truncated)."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None  # not there (nor its folder): made by `private_key`, which says why it cannot
        reason = "it is a symbolic link" if exc.errno == errno.ELOOP else str(exc.strerror or exc)
        raise KeyFileError(path, f"{reason}; a key file must be a regular file of mode 0600") from None
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise KeyFileError(path, "it is no regular file; a key file must be a regular file of mode 0600")
        if status.st_mode & 0o077:
            raise KeyFileError(
                path,
                f"mode 0{stat.S_IMODE(status.st_mode):o} lets others read or write the key (it must be 0600); "
                "remove it if anyone else may have read it (a new key is made), else chmod 600 it",
            )
        data = os.read(fd, 4 * size + 64)
    finally:
        os.close(fd)
    try:
        key = bytes.fromhex(data.decode("ascii").strip())
    except ValueError:
        key = b""
    if len(key) != size:
        raise KeyFileError(
            path, f"holds no key of {size} bytes in hex; remove it (a new key is made: what the old one keyed is not known)"
        )
    return key


def private_key(path: Path, *, size: int = KEY_BYTES) -> bytes:
    """The random key kept at `path` (`read_private_key`), made where there is none: `size`
    random bytes in hex, mode 0600, written whole under a temporary name and linked into place, so
    a run stopped part-way leaves no torn key and two runs making it at once end up with the same
    one; one there already is never replaced. Its folder is made where missing (callers wanting it
    0700 use `private_directory` first)."""
    path = Path(path)
    key = read_private_key(path, size=size)
    if key is not None:
        return key
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        # `mkdir(exist_ok=True)` says "File exists" of a folder (or a parent) that is a file.
        reason = os.strerror(errno.ENOTDIR) if isinstance(exc, FileExistsError) else str(exc.strerror or exc)
        raise FileWriteError(path.parent, reason) from exc
    draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        atomic_write_text(draft, secrets.token_bytes(size).hex() + "\n", mode=0o600)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another run made it first: its key is the one
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
            os.replace(draft, path)  # a file system without hard links: the rename alone
    except FileWriteError:
        raise
    except OSError as exc:
        raise FileWriteError(path, str(exc.strerror or exc)) from exc
    finally:
        draft.unlink(missing_ok=True)
    made = read_private_key(path, size=size)
    if made is None:
        raise FileWriteError(path, "the key written is not there")
    return made


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


# The folders `staged_directory` stages in, named after the process that owns them (its pid and,
# where the system tells it, its start time: `_owner`): inside a folder already there
# `.staged-OWNER-TOKEN` (and `.replaced-OWNER-TOKEN`, the entries it replaced, made once the block
# is over), beside a new one `.NAME.staged-OWNER-TOKEN`. A name without the start time is of an
# older run, whose pid alone is known.
_STAGED = re.compile(r"\.(staged|replaced)-((\d+)-(?:(\d+)-)?[0-9a-f]{16})")
# In a staging folder, the names of the entries its block removes (`remove`), written before the
# entries begin to take their places, so that a run killed outright meanwhile is finished whole.
_REMOVALS = ".staged-removals"
# A staging folder nobody holds locked whose owner runs (the same process: its pid, and its start
# time where known) is left for this long, so one just made, not locked yet, is never taken for a
# dead run's.
_UNLOCKED_GRACE_S = 60.0


def _started(pid: int) -> int | None:
    """When process `pid` started (clock ticks after boot, `/proc/PID/stat` field 22, proc(5)):
    with the pid, what tells it from a later process given the same pid; None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return int(stat.read().rsplit(")", 1)[-1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _owner() -> str:
    """This process, as staging folders name their owner: its pid, and its start time if known."""
    started = _started(os.getpid())
    return f"{os.getpid()}" if started is None else f"{os.getpid()}-{started}"


def would_change(path: Path, text: str, mode: int = 0o644) -> bool:
    """Whether `atomic_write_text(path, text, mode=mode)` would change the file (its text or mode)."""
    try:
        if Path(path).read_text(encoding="utf-8") != text:
            return True
        return (Path(path).stat().st_mode & 0o777) != mode
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError, IsADirectoryError):
        return True


def linked_copy(source: Path, target: Path) -> None:
    """`source`, a folder, copied to `target` (in a staging folder) with its files hard-linked:
    cheap, and safe because no file is written in place here (every write replaces it by a
    rename); copied where the file system has no hard links."""

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    try:
        shutil.copytree(source, target, symlinks=True, copy_function=link, dirs_exist_ok=True)
    except (OSError, shutil.Error) as exc:
        raise FileWriteError(target, str(getattr(exc, "strerror", None) or exc)) from exc


@contextmanager
def staged_directory(path: Path, *, remove: Iterable[str] = (), private: bool = False) -> Iterator[Path]:
    """A folder whose new content appears whole or not at all.

    The block fills the empty folder this yields. When the block ends, what it holds takes its
    place: a `path` that is not there yet appears in one rename (staged beside it); in a folder
    already there (kept, so a shell working in it stays there), each entry staged (inside it)
    replaces the entry of its name, files after folders, the entries named in `remove` go, and
    its other entries stay. Should anything stop the block (an error, Ctrl-C), the staged folder
    is removed and `path` is left as it was; should anything stop those renames, the entries
    already replaced are put back. Never a folder holding part of what the block meant to write.

    The staging folder is locked while its run lives. A run killed outright (SIGKILL) cleans up
    nothing; the next one finishes it (`recover_staged`): a dead run's staging is removed, or,
    killed while its entries took their places, the rest of them put in place. A run of another
    process still writing `path` is refused (`FileWriteError` naming its pid). A dead run is told
    from a live one by its pid and its start time, so a pid the system has since given to another
    process is no reason to wait. Two runs making the same new `path` at once (the threads of a
    rollout's stores) both land: the later one's entries take their places in the folder the
    first one made.

    `private` (a folder of secret files): the staging, and a `path` made by it, are 0700 from
    the start.
    """
    path = Path(path)
    recover_staged(path)
    token = f"{_owner()}-{secrets.token_hex(8)}"
    existing = path.is_dir()
    # Named before it is created, so a Ctrl-C the moment it is made still finds it to remove.
    staging = path / f".staged-{token}" if existing else path.parent / f".{path.name}.staged-{token}"
    lock: int | None = None
    try:
        if not existing:
            path.parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir(mode=0o700 if private else 0o777)
        lock = _locked(staging)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        # `mkdir(exist_ok=True)` says "File exists" of a parent that is a file.
        reason = os.strerror(errno.ENOTDIR) if isinstance(exc, FileExistsError) else str(exc.strerror or exc)
        raise FileWriteError(path, reason) from exc
    try:
        yield staging
        try:
            if existing:
                _replace_entries(staging, path, path / f".replaced-{token}", sorted(set(remove)))
            else:
                try:
                    os.rename(staging, path)
                except OSError as exc:
                    if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST) or path.is_symlink() or not path.is_dir():
                        raise
                    # Made meanwhile by another run: staged inside it, as in a folder already there
                    # (the lock moves with the folder), so that a kill from here on is finished too.
                    inside = path / f".staged-{token}"
                    os.rename(staging, inside)
                    staging = inside
                    _replace_entries(staging, path, path / f".replaced-{token}", sorted(set(remove)))
        except OSError as exc:
            raise FileWriteError(path, str(exc.strerror or exc)) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if lock is not None:
            os.close(lock)


def recover_staged(path: Path) -> None:
    """Finish what a run of `staged_directory` killed outright left of `path`: its staging folder
    removed (the block had not ended: `path` is as it was), or, where it had begun replacing
    `path`'s entries, the staged ones still waiting put in place (the new content whole).

    Raises `FileWriteError` naming the pid of a run still writing `path` (its staging locked)."""
    path = Path(path)
    try:
        inside = [path / name for name in os.listdir(path)] if path.is_dir() and not path.is_symlink() else []
    except OSError as exc:
        raise FileWriteError(path, str(exc.strerror or exc)) from exc
    try:
        beside = [
            path.parent / name
            for name in os.listdir(path.parent)
            if name.startswith(f".{path.name}.staged-") and _STAGED.fullmatch(name[len(path.name) + 1 :])
        ]
    except OSError:
        beside = []  # a parent not there yet, or one that may be written but not listed: nothing left
    # This process's own are of its other threads' runs, alive (a rollout saves each store's plan).
    owners = {match.group(2): match for entry in inside if (match := _STAGED.fullmatch(entry.name)) and not _own(match)}
    for owner, match in sorted(owners.items()):
        staging, aside = path / f".staged-{owner}", path / f".replaced-{owner}"
        _recover(path, staging if staging.is_dir() else aside, match, partial(_finish, staging, path, aside))
    for staging in beside:
        match = _STAGED.fullmatch(staging.name[len(path.name) + 1 :])
        if match and not _own(match):
            _recover(path, staging, match)


def _own(name: re.Match[str]) -> bool:
    """Whether a staging folder's name (`_STAGED`) is of this process (where the name has its
    start time, a dead process's that had the same pid is not)."""
    if int(name.group(3)) != os.getpid():
        return False
    return name.group(4) is None or _started(os.getpid()) == int(name.group(4))


def _recover(path: Path, held: Path, name: re.Match[str], finish: Callable[[], None] | None = None) -> None:
    """Run `finish` and remove `held` (a staging folder, `name` its owner's) unless its run is alive."""
    pid = int(name.group(3))
    started = int(name.group(4)) if name.group(4) is not None else None
    try:
        lock = _locked(held)
    except FileNotFoundError:
        return  # removed meanwhile (its run ended, or another one recovered it)
    except BlockingIOError:
        raise FileWriteError(path, f"another run (pid {pid}) is writing it; try again once it has ended") from None
    except OSError as exc:
        raise FileWriteError(path, str(exc.strerror or exc)) from exc
    try:
        if _alive(pid, started) and time.time() - held.stat().st_mtime < _UNLOCKED_GRACE_S:
            raise FileWriteError(path, f"another run (pid {pid}) is writing it; try again once it has ended")
        try:
            if finish is not None:
                finish()
        except OSError as exc:
            raise FileWriteError(path, str(exc.strerror or exc)) from exc
        shutil.rmtree(held, ignore_errors=True)
    finally:
        os.close(lock)


def _finish(staging: Path, path: Path, aside: Path) -> None:
    """A killed run's replacement finished: with `aside` there its block had ended (the staging
    whole), so its staged entries still waiting take their places and the entries it removes
    go; without, it had not."""
    if aside.is_dir() and staging.is_dir():
        for name in _staged_names(staging):
            if os.path.lexists(path / name) and not os.path.lexists(aside / name):
                os.rename(path / name, aside / name)
            os.rename(staging / name, path / name)
        for name in _removals(staging):
            if os.path.lexists(path / name):
                os.rename(path / name, aside / name)
    shutil.rmtree(aside, ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)


def _locked(folder: Path) -> int:
    """An open descriptor of `folder` holding its exclusive lock, which the system releases when
    the process ends however it ends; BlockingIOError when another process holds it."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _alive(pid: int, started: int | None = None) -> bool:
    """Whether process `pid` runs (a zombie, killed and not yet reaped, does not); with `started`,
    the one that started then (another process given the pid since does not count)."""
    if started is not None:
        now = _started(pid)
        if now is not None and now != started:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _replace_entries(staging: Path, path: Path, aside: Path, removed: list[str]) -> None:
    """Each entry of `staging` in place of `path`'s entry of its name (moved to `aside`, removed
    at the end), folders first, then `removed` moved aside; interrupted or refused, every entry
    replaced or removed so far goes back."""
    names = _staged_names(staging)
    gone = [name for name in removed if name not in names and os.path.lexists(path / name)]
    if gone:  # before `aside` is made: a run killed from then on is finished by the next (`_finish`)
        atomic_write_text(staging / _REMOVALS, "".join(f"{name}\n" for name in gone), mode=0o600, durable=False)
    aside.mkdir()
    try:
        for name in names:
            if os.path.lexists(path / name):
                os.rename(path / name, aside / name)
            os.rename(staging / name, path / name)
        for name in gone:
            os.rename(path / name, aside / name)
    except BaseException:
        # Told apart by where each entry is now, not by what this loop got to record.
        for name in reversed(gone):
            if os.path.lexists(aside / name):
                os.rename(aside / name, path / name)
        for name in reversed(names):
            if not os.path.lexists(staging / name) and os.path.lexists(path / name):
                os.rename(path / name, staging / name)  # the new entry, back out
            if os.path.lexists(aside / name):
                os.rename(aside / name, path / name)  # the old one, back in
        shutil.rmtree(aside, ignore_errors=True)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def _staged_names(staging: Path) -> list[str]:
    """The entries of `staging` that take their places, folders first."""
    entries = [entry for entry in staging.iterdir() if entry.name != _REMOVALS]
    return [entry.name for entry in sorted(entries, key=lambda e: (not e.is_dir(), e.name))]


def _removals(staging: Path) -> list[str]:
    """The entries a staging's block removes (`_REMOVALS`), each a plain name."""
    try:
        lines = (staging / _REMOVALS).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [name for name in lines if name not in ("", ".", "..") and "/" not in name]
