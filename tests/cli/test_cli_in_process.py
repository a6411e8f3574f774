"""The CLI run inside a longer-lived Python process (a script or test calling it through click):
a command leaves the process's garbage collector as it found it."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from testsupport.cli import FLEET, cli_runner

from storestack.cli.main import cli


def test_devices_render_leaves_nothing_frozen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`devices render` keeps the cyclic collector off what it loaded while it runs; once done,
    what it loaded must be freeable again (frozen objects are never collected, and each later
    fleet load would walk them all)."""
    gc.unfreeze()
    result = cli_runner(monkeypatch, tmp_path).invoke(cli, ["devices", "render", *FLEET, "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert gc.get_freeze_count() == 0
