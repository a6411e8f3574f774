"""Fixtures for the lab tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from testsupport.lab import require_frr_lab

from storestack import lab


@pytest.fixture
def frr_lab_dir(tmp_path: Path) -> Iterator[Path]:
    """A state dir for a lab that is always torn down, even when the test fails."""
    require_frr_lab()
    state_dir = tmp_path / "lab"
    try:
        yield state_dir
    finally:
        lab.down(state_dir)
