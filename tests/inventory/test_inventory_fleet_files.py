"""The fleet reader reads only regular files inside the fleet directory, and says what it skips."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from storestack.cli.main import cli
from storestack.inventory import InventoryError, load_fleet

SECRET_LINE = "db_password: s3cr3t-F0REIGN-value\n"


@pytest.fixture
def foreign_file(tmp_path: Path) -> Path:
    """A YAML file outside the fleet, holding something no message may ever show."""
    path = tmp_path / "outside" / "secrets.yaml"
    path.parent.mkdir()
    path.write_text(SECRET_LINE)
    return path


def _validate(fleet: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["inventory", "validate", str(fleet), *extra])
    return result.exit_code, result.output


def test_a_store_file_linked_to_a_file_outside_the_fleet_is_refused_without_echoing_it(
    fleet_dir: Path, foreign_file: Path, errors_of: Callable[[Path], list[str]]
) -> None:
    (fleet_dir / "stores" / "zz-0001.yaml").symlink_to(foreign_file)
    assert errors_of(fleet_dir) == [
        "stores/zz-0001.yaml is a link to a file outside the fleet directory (refused)"
    ]
    for extra in ((), ("--json",)):
        code, output = _validate(fleet_dir, *extra)
        assert code == 1
        assert "s3cr3t" not in output and "db_password" not in output
    assert json.loads(_validate(fleet_dir, "--json")[1])["errors"][0]["file"] == "stores/zz-0001.yaml"


def test_a_stores_folder_linked_outside_the_fleet_is_refused(
    fleet_dir: Path, foreign_file: Path, errors_of: Callable[[Path], list[str]]
) -> None:
    shutil.copytree(fleet_dir / "stores", foreign_file.parent / "stores")
    shutil.rmtree(fleet_dir / "stores")
    (fleet_dir / "stores").symlink_to(foreign_file.parent / "stores")
    errors = errors_of(fleet_dir)
    assert "stores/ is a link to a directory outside the fleet directory (refused)" in errors
    assert all("s3cr3t" not in line for line in errors)


def test_a_link_that_stays_inside_the_fleet_is_followed(fleet_dir: Path) -> None:
    store = fleet_dir / "stores" / "sh-0002.yaml"
    kept = fleet_dir / "kept" / "sh-0002.yaml"
    kept.parent.mkdir()
    store.rename(kept)
    store.symlink_to(Path("..") / "kept" / "sh-0002.yaml")
    assert "sh-0002" in load_fleet(fleet_dir).stores


def test_a_store_file_linked_to_a_device_is_refused_before_reading(
    fleet_dir: Path, errors_of: Callable[[Path], list[str]]
) -> None:
    # Inside the fleet, so only the file type can stop it (/dev/zero would never end).
    device = fleet_dir / "zero"
    os.mknod(device, 0o600 | 0o020000, os.makedev(1, 5))
    (fleet_dir / "stores" / "zz-0001.yaml").symlink_to(device)
    assert errors_of(fleet_dir) == ["stores/zz-0001.yaml is a character device, not a regular file (refused)"]


def test_a_fifo_store_file_is_refused_and_never_waited_on(fleet_dir: Path) -> None:
    os.mkfifo(fleet_dir / "stores" / "zz-0001.yaml")
    # In a child process, so a reader that blocks on the FIFO fails the test instead of hanging it.
    program = (
        "import sys\nfrom storestack.inventory import InventoryError, load_fleet\n"
        "try:\n    load_fleet(sys.argv[1])\nexcept InventoryError as exc:\n"
        "    print('\\n'.join(map(str, exc.issues)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, str(fleet_dir)], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.splitlines() == ["stores/zz-0001.yaml is a FIFO, not a regular file (refused)"]


def test_a_huge_store_file_is_refused_by_its_size_before_it_is_read(
    fleet_dir: Path, errors_of: Callable[[Path], list[str]]
) -> None:
    with open(fleet_dir / "stores" / "zz-0001.yaml", "wb") as handle:
        handle.truncate(64 * 1024**3)  # sparse: 64 GiB that take no disk
    assert errors_of(fleet_dir) == ["stores/zz-0001.yaml file is larger than 1000000 bytes"]


def test_a_fleet_file_that_is_a_directory_is_an_error_not_a_traceback(
    fleet_dir: Path, errors_of: Callable[[Path], list[str]]
) -> None:
    (fleet_dir / "stores" / "sh-0002.yaml").unlink()
    (fleet_dir / "stores" / "sh-0002.yaml").mkdir()
    assert "stores/sh-0002.yaml is a directory, not a regular file (refused)" in errors_of(fleet_dir)


def test_store_files_in_a_subfolder_or_with_another_extension_are_named(
    fleet_dir: Path, errors_of: Callable[[Path], list[str]]
) -> None:
    stores = fleet_dir / "stores"
    (stores / "north").mkdir()
    shutil.copy(stores / "sh-0002.yaml", stores / "north" / "sh-0009.yaml")
    shutil.copy(stores / "sh-0002.yaml", stores / "sh-0008.yaml.bak")
    shutil.copy(stores / "sh-0002.yaml", stores / "sh-0007.YAML")
    (stores / ".gitkeep").write_text("")
    (stores / "README.md").write_text("# stores\n")
    assert errors_of(fleet_dir) == [
        "stores/north/sh-0009.yaml is not read: store files live directly in stores/ (move it up, or remove it)",
        "stores/sh-0007.YAML store files must be named <id>.yaml (not .YAML); this file is not read",
        "stores/sh-0008.yaml.bak store files must be named <id>.yaml (not .yaml.bak); this file is not read",
    ]


@pytest.mark.parametrize("change", ["renamed", "emptied"])
def test_a_fleet_without_store_files_is_an_error(
    fleet_dir: Path, change: str, errors_of: Callable[[Path], list[str]]
) -> None:
    if change == "renamed":
        (fleet_dir / "stores").rename(fleet_dir / "store")
    else:
        for path in (fleet_dir / "stores").iterdir():
            path.unlink()
    assert errors_of(fleet_dir) == ["stores/ no store files (expected stores/<id>.yaml)"]
    code, output = _validate(fleet_dir)
    assert code == 1 and "ok" not in output


def test_an_unlistable_stores_folder_is_an_error_not_a_traceback(
    fleet_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_scandir = os.scandir

    def refusing(path: object) -> object:
        if str(path).endswith("stores"):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)  # type: ignore[call-overload]

    monkeypatch.setattr(os, "scandir", refusing)
    with pytest.raises(InventoryError) as caught:
        load_fleet(fleet_dir)
    assert [str(issue) for issue in caught.value.issues] == [
        "stores/ cannot list the directory: Permission denied"
    ]


def test_an_unreadable_fleet_file_is_an_error_not_a_traceback(
    fleet_dir: Path, monkeypatch: pytest.MonkeyPatch, errors_of: Callable[[Path], list[str]]
) -> None:
    real_open = os.open

    def refusing(path: object, *args: object, **kwargs: object) -> int:
        if str(path).endswith("sh-0002.yaml"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refusing)
    assert errors_of(fleet_dir) == ["stores/sh-0002.yaml cannot read file: Permission denied"]


def test_a_bundle_path_that_is_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "bundle.yaml")
    program = "from storestack.cli.main import cli; cli()"
    done = subprocess.run(
        [sys.executable, "-c", program, "inventory", "validate", str(tmp_path / "bundle.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "is a FIFO, not a regular file (refused)" in done.stderr
