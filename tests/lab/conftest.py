"""Fixtures for the lab tests.

Tests that need root, FRR and sshd skip on a developer machine without them, but FAIL when
the CI environment variable is set: CI must never pass by skipping the real lab.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from storestack import lab


def require_frr_lab() -> None:
    try:
        lab.check_prerequisites()
    except lab.LabPrerequisiteError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but the FRR lab cannot run here: {exc}")
        pytest.skip(f"FRR lab unavailable: {exc}")


@pytest.fixture
def frr_lab_dir(tmp_path: Path) -> Iterator[Path]:
    """A state dir for a lab that is always torn down, even when the test fails."""
    require_frr_lab()
    state_dir = tmp_path / "lab"
    try:
        yield state_dir
    finally:
        lab.down(state_dir)
