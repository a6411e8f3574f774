"""Shared helpers for the stacks tests: a writable copy of the sample chain."""

from __future__ import annotations

import shutil
from pathlib import Path

from storestack.inventory import sample_chain_path

GOLDEN = Path(__file__).parent / "golden"


def copy_sample_chain(into: Path) -> Path:
    target = into / "sample-chain"
    shutil.copytree(sample_chain_path(), target)
    return target


def edit_store(fleet_dir: Path, store_id: str, old: str, new: str) -> None:
    path = fleet_dir / "stores" / f"{store_id}.yaml"
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))
