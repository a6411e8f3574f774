"""Gate for tests that need the real FRR lab.

They skip on a developer machine without root, FRR and sshd, but FAIL when the CI environment
variable is set: CI must never pass by skipping the real lab.
"""

from __future__ import annotations

import os

import pytest

from storestack import lab


def require_frr_lab() -> None:
    try:
        lab.check_prerequisites()
    except lab.LabPrerequisiteError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but the FRR lab cannot run here: {exc}")
        pytest.skip(f"FRR lab unavailable: {exc}")
