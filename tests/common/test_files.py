import os
import stat
from pathlib import Path

import pytest

from storestack.common.files import atomic_write_text


def test_write_reports_changed_then_unchanged(tmp_path: Path) -> None:
    target = tmp_path / "out" / "edge.cfg"
    assert atomic_write_text(target, "hostname a\n") is True
    assert atomic_write_text(target, "hostname a\n") is False
    assert target.read_text() == "hostname a\n"


def test_secret_files_get_the_requested_mode(tmp_path: Path) -> None:
    target = tmp_path / "push.cfg"
    atomic_write_text(target, "secret\n", mode=0o600)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_failed_write_leaves_previous_file_and_no_temporaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "edge.cfg"
    atomic_write_text(target, "good\n")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write_text(target, "half\n")
    assert target.read_text() == "good\n"
    assert [p.name for p in tmp_path.iterdir()] == ["edge.cfg"]


@pytest.mark.parametrize("there", [True, False], ids=["folder-there", "new-folder"])
def test_staged_writes_of_two_threads_into_one_folder_both_land(tmp_path: Path, there: bool) -> None:
    """A rollout saves each store's plan and stack files from its own thread into one folder,
    which may not be there yet: one thread's staging (alive, of this process) is not taken for
    another run's, and neither run fails where the other made the folder first."""
    import threading

    from storestack.common.files import staged_directory

    folder = tmp_path / "plans"
    if there:
        folder.mkdir()
    inside = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(name: str) -> None:
        try:
            with staged_directory(folder) as staging:
                (staging / name).write_text(name)
                inside.wait(timeout=10)  # both stagings exist before either ends
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(name,)) for name in ("a.json", "b.json")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(p.name for p in folder.iterdir()) == ["a.json", "b.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plans"]


# A real run of `staged_directory` in its own process, held still inside its block (its staging
# made and locked, one file written) so that it can be killed there.
_HELD_STAGING = """
import os, sys, time
from pathlib import Path
from storestack.common.files import staged_directory
out, mark = Path(sys.argv[1]), Path(sys.argv[2])
with staged_directory(out) as staging:
    (staging / "new.cfg").write_text("new")
    mark.write_text(str(os.getpid()))
    time.sleep(600)
"""


def test_a_killed_runs_staging_whose_pid_now_runs_another_process_is_recovered_at_once(tmp_path: Path) -> None:
    """The pid of a run killed outright is handed to another process (pids wrap around): that
    process holds no lock and writes nothing here, so the next run must not wait a minute for it,
    nor refuse to write, but take the staging for the dead run's it is."""
    import re
    import signal
    import subprocess
    import sys
    import time

    from storestack.common.files import staged_directory

    out, mark = tmp_path / "out", tmp_path / "held"
    out.mkdir()
    (out / "old.cfg").write_text("old")
    held = subprocess.Popen([sys.executable, "-c", _HELD_STAGING, str(out), str(mark)])
    try:
        deadline = time.monotonic() + 60
        while not mark.exists():
            assert held.poll() is None and time.monotonic() < deadline, "the held run never reached its hold"
            time.sleep(0.05)
    finally:
        held.send_signal(signal.SIGKILL)
        held.wait(timeout=30)
    (staging,) = (p for p in out.iterdir() if p.name.startswith(".staged-"))
    other = subprocess.Popen(["sleep", "60"])  # the process that now has the dead run's pid
    try:
        reused = staging.with_name(re.sub(r"^\.staged-\d+", f".staged-{other.pid}", staging.name))
        staging.rename(reused)
        os.utime(reused)  # as fresh as a staging just made
        with staged_directory(out) as again:
            (again / "new.cfg").write_text("newer")
    finally:
        other.kill()
        other.wait(timeout=30)
    assert sorted(p.name for p in out.iterdir()) == ["new.cfg", "old.cfg"], "the dead run's staging stayed"
    assert (out / "new.cfg").read_text() == "newer"
