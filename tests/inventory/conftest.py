"""Shared helpers: a small valid fleet on disk, and invalid cases laid over it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from storestack.inventory import InventoryError, load_fleet

FIXTURES = Path(__file__).parent / "fixtures"
BASE_FLEET = FIXTURES / "base"


def build_fleet(target: Path, case: str | None = None) -> Path:
    """The base fleet copied to `target`, with the files of `fixtures/invalid/<case>` laid over it."""
    shutil.copytree(BASE_FLEET, target)
    if case is not None:
        shutil.copytree(FIXTURES / "invalid" / case, target, dirs_exist_ok=True)
    return target


def error_lines(path: Path) -> list[str]:
    """Every error the loader reports for the fleet at `path`, as the CLI prints them."""
    with pytest.raises(InventoryError) as caught:
        load_fleet(path)
    return [str(issue) for issue in caught.value.issues]


@pytest.fixture
def make_fleet(tmp_path: Path) -> Callable[..., Path]:
    """`make_fleet(case=None, name="fleet")`: a fleet directory under tmp_path."""

    def make(case: str | None = None, name: str = "fleet") -> Path:
        return build_fleet(tmp_path / name, case)

    return make


@pytest.fixture
def errors_of() -> Callable[[Path], list[str]]:
    return error_lines


@pytest.fixture
def fleet_dir(make_fleet: Callable[..., Path]) -> Path:
    return make_fleet()


@pytest.fixture
def edit_store(fleet_dir: Path) -> Callable[[str, Callable[[dict[str, Any]], None]], Path]:
    """Change one store file of `fleet_dir` through its data (for values YAML can carry as-is)."""

    def edit(store_id: str, change: Callable[[dict[str, Any]], None]) -> Path:
        path = fleet_dir / "stores" / f"{store_id}.yaml"
        data = yaml.safe_load(path.read_text())
        change(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        return path

    return edit
