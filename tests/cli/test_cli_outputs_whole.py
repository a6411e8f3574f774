"""`devices render`, `stacks render` and `plan` write their folder whole or not at all: stopped
part-way (Ctrl-C, a failed write), the folder is as it was, never some files of the new run
beside the old ones of the last (configs of two inventories, plans of two fleets)."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner, Result
from testsupport.cli import FLEET, cli_runner

from storestack.cli.main import cli
from storestack.devices import render as devices_render
from storestack.stacks import plan as stacks_plan
from storestack.stacks import render as stacks_render


def _interrupt_at(monkeypatch: pytest.MonkeyPatch, module: ModuleType, call: int) -> None:
    """Ctrl-C (SIGINT's KeyboardInterrupt) as the module writes its `call`th file."""
    real = module.atomic_write_text
    calls = {"n": 0}

    def write(path: Path, text: str, **options: Any) -> bool:
        calls["n"] += 1
        if calls["n"] == call:
            raise KeyboardInterrupt
        return bool(real(path, text, **options))

    monkeypatch.setattr(module, "atomic_write_text", write)


Tree = dict[str, tuple[bytes, int]]


def _tree(root: Path) -> Tree:
    """Every file under `root`, hidden ones too, with its content and mode."""
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _make_old(root: Path) -> Tree:
    """Every file under `root` given other content (of an older run), so a new run changes all."""
    for path in root.rglob("*"):
        if path.is_file():
            path.write_text(f"# an older run's {path.name}\n")
    return _tree(root)


def _interrupted_then_done(
    runner: CliRunner, args: list[str], out: Path, module: ModuleType, call: int, make_old: Callable[[Path], Tree]
) -> Result:
    """Run `args` into `out`, make its files an older run's, run again stopped at the module's
    `call`th write (the folder must be the older one still, nothing beside it), then once more
    (the folder must be the first run's); the last run's result."""
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    fresh = _tree(out)
    old = make_old(out)
    with pytest.MonkeyPatch.context() as patch:
        _interrupt_at(patch, module, call)
        stopped = runner.invoke(cli, args)
    assert stopped.exit_code == 130, stopped.output
    assert _tree(out) == old, "the interrupted run left new files beside old ones"
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name], "the staged files were left"
    done = runner.invoke(cli, args)
    assert done.exit_code == 0, done.output
    assert _tree(out) == fresh
    return done


@pytest.mark.parametrize("secrets", [False, True], ids=["display", "with-secrets"])
def test_an_interrupted_devices_render_leaves_the_folder_as_it_was(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, secrets: bool
) -> None:
    out = tmp_path / "configs"
    args = ["devices", "render", *FLEET, "--out", str(out), "--json", *(["--with-secrets"] if secrets else [])]
    runner = cli_runner(monkeypatch, tmp_path)
    done = _interrupted_then_done(runner, args, out, devices_render, 3, _make_old)
    assert len(json.loads(done.stdout)["written"]) > 3
    assert json.loads(runner.invoke(cli, args).stdout)["written"] == [], "a re-run writes nothing"


def test_an_interrupted_first_devices_render_leaves_no_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    out = tmp_path / "configs"
    _interrupt_at(monkeypatch, devices_render, 3)
    stopped = cli_runner(monkeypatch, tmp_path).invoke(cli, ["devices", "render", *FLEET, "--out", str(out)])
    assert stopped.exit_code == 130, stopped.output
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_stacks_render_leaves_the_folder_as_it_was(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out = tmp_path / "stacks"
    args = ["stacks", "render", *FLEET, "--out", str(out)]
    done = _interrupted_then_done(cli_runner(monkeypatch, tmp_path), args, out, stacks_render, 4, _make_old)
    assert "wrote 0" not in done.output


def _older_plans(plans: Path) -> Tree:
    """Each saved plan one resource short (as a plan of an older fleet), and a plan of a stack the
    fleet no longer has, which a complete plan deletes."""
    for path in plans.glob("*.json"):
        saved = json.loads(path.read_text())
        saved["resources"] = saved["resources"][:-1]
        path.write_text(json.dumps(saved, indent=1) + "\n")
    gone = plans / "store-nw-0099.json"
    gone.write_text((plans / "store-nw-0008.json").read_text().replace("nw-0008", "nw-0099"))
    os.chmod(gone, 0o600)
    return _tree(plans)


def test_an_interrupted_plan_leaves_the_saved_plans_as_they_were(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    plans = tmp_path / "plans"
    args = ["plan", *FLEET, "--plans-dir", str(plans), "--json", "--allow-destroy", "1"]
    done = _interrupted_then_done(cli_runner(monkeypatch, tmp_path), args, plans, stacks_plan, 4, _older_plans)
    assert json.loads(done.stdout)["removed_stacks"] == ["store-nw-0099"], "the gone stack's plan is deleted"


def test_an_interrupted_nornir_export_leaves_the_three_files_as_they_were(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Nornir reads hosts.yaml, groups.yaml and defaults.yaml together: never one of a new export
    beside the others of an older one."""
    from storestack.cli import inventory as inventory_cli

    out = tmp_path / "nornir"
    args = ["inventory", "export", "--format", "nornir", *FLEET, "--out", str(out), "--json"]
    runner = cli_runner(monkeypatch, tmp_path)
    done = _interrupted_then_done(runner, args, out, inventory_cli, 2, _make_old)
    assert sorted(json.loads(done.stdout)["written"]) == ["defaults.yaml", "groups.yaml", "hosts.yaml"]
