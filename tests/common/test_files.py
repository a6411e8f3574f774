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


def test_staged_writes_of_two_threads_into_one_folder_both_land(tmp_path: Path) -> None:
    """A rollout saves each store's plan from its own thread into one folder: one thread's staging
    (alive, of this process) is not taken for another run's."""
    import threading

    from storestack.common.files import staged_directory

    inside = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(name: str) -> None:
        try:
            with staged_directory(tmp_path) as staging:
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
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.json"]
