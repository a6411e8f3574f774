"""`storestack inventory generate --out DIR` stopped part-way (Ctrl-C, a failed write) leaves DIR
as it was: no smaller fleet that validates as if it were the one asked for."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from storestack.cli.main import cli
from storestack.common import files
from storestack.inventory import load_fleet


def _interrupt_after(monkeypatch: pytest.MonkeyPatch, writes: int) -> None:
    """Ctrl-C (SIGINT's KeyboardInterrupt) while the `writes + 1`th file is being written."""
    real = files.atomic_write_text
    calls = {"n": 0}

    def write(path: Path, text: str, **options: Any) -> bool:
        calls["n"] += 1
        if calls["n"] > writes:
            raise KeyboardInterrupt
        return real(path, text, **options)

    monkeypatch.setattr("storestack.inventory.generate.atomic_write_text", write)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_an_interrupted_generation_leaves_no_fleet(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, as_json: bool
) -> None:
    out = tmp_path / "fleet"
    _interrupt_after(monkeypatch, 4)  # fleet.yaml and three of the eight stores
    args = ["inventory", "generate", "--stores", "8", "--seed", "3", "--out", str(out)]
    result = CliRunner().invoke(cli, [*args, "--json"] if as_json else args)
    assert result.exit_code == 130, result.output
    if as_json:
        assert json.loads(result.stdout)["ok"] is False
    assert not out.exists(), "a partial fleet was left behind"
    assert list(tmp_path.iterdir()) == [], "the staged files were left behind"


def test_an_interrupted_regeneration_leaves_the_previous_fleet_as_it_was(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out = tmp_path / "fleet"
    runner = CliRunner()
    first = runner.invoke(cli, ["inventory", "generate", "--stores", "6", "--seed", "1", "--out", str(out)])
    assert first.exit_code == 0, first.output
    load_fleet(out, write_lock=True)  # the IPAM lock file `validate` writes beside it
    before = _tree(out)
    assert "allocations.yaml" in before

    _interrupt_after(monkeypatch, 5)
    args = ["inventory", "generate", "--stores", "9", "--seed", "2", "--out", str(out), "--json"]
    stopped = runner.invoke(cli, args)
    assert stopped.exit_code == 130, stopped.output
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fleet"]

    monkeypatch.undo()
    done = runner.invoke(cli, args)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["written"] == 10
    assert sorted(load_fleet(out).stores) == [f"ms-{n:05d}" for n in range(1, 10)]
    assert (out / "allocations.yaml").read_bytes() == before["allocations.yaml"], "the lock file is kept"
    again = runner.invoke(cli, args)
    assert json.loads(again.stdout)["written"] == 0, "a re-run writes nothing"


@pytest.mark.parametrize("renames", [0, 1, 2, 3])
def test_an_interrupt_while_the_new_fleet_takes_its_place_puts_the_old_one_back(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, renames: int
) -> None:
    """Ctrl-C between any two of the renames that put the new stores/ and fleet.yaml in place."""
    out = tmp_path / "fleet"
    runner = CliRunner()
    assert runner.invoke(cli, ["inventory", "generate", "--stores", "4", "--seed", "1", "--out", str(out)]).exit_code == 0
    before = _tree(out)
    real = files.os.rename
    calls = {"n": 0}

    def rename(source: Any, target: Any) -> None:
        calls["n"] += 1
        if calls["n"] == renames + 1:
            raise KeyboardInterrupt
        real(source, target)

    monkeypatch.setattr(files.os, "rename", rename)
    args = ["inventory", "generate", "--stores", "3", "--seed", "2", "--out", str(out), "--allow-destroy", "1"]
    assert runner.invoke(cli, args).exit_code == 130
    monkeypatch.undo()
    assert _tree(out) == before
    assert sorted(p.name for p in out.iterdir()) == ["fleet.yaml", "stores"]


def test_a_fleet_generated_into_the_working_folder_keeps_the_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`--out .` twice: the shell's working folder is the same folder afterwards, not a removed one."""
    monkeypatch.chdir(tmp_path)
    inode = tmp_path.stat().st_ino
    runner = CliRunner()
    for stores in ("2", "3"):
        result = runner.invoke(cli, ["inventory", "generate", "--stores", stores, "--out", "."])
        assert result.exit_code == 0, result.output
    assert Path.cwd().stat().st_ino == inode and tmp_path.stat().st_ino == inode
    assert sorted(load_fleet(tmp_path).stores) == ["ms-00001", "ms-00002", "ms-00003"]
