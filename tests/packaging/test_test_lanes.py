"""`make test` runs the suite in two lanes side by side (`--lane lab` and `--lane other`,
tests/conftest.py): every test runs in exactly one of them, and each lab test in the lab lane,
where it keeps the CPU priority and the two-labs-at-once limit its timers rely on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
# A lab module with an `xdist_group`, one without, a module with a few lab tests among others, and
# one with no lab test.
SAMPLE = ["lab/test_lab_sla.py", "lab/test_lab_cloudvpn.py", "devices/test_render_frr.py", "network/test_bgp_timers.py"]


def _collected(*options: str) -> list[str]:
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *options,
         *(str(TESTS / path) for path in SAMPLE)],
        capture_output=True, text=True, cwd=TESTS.parent, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    return [line for line in run.stdout.splitlines() if "::" in line]


def test_the_two_lanes_run_every_test_once_and_the_lab_tests_in_the_lab_lane() -> None:
    everything = _collected()
    lab, other = _collected("--lane", "lab"), _collected("--lane", "other")
    assert sorted(lab + other) == sorted(everything)
    assert not set(lab) & set(other)
    assert any(test.startswith("tests/lab/test_lab_sla.py::") for test in lab)
    assert any(test.startswith("tests/lab/test_lab_cloudvpn.py::") for test in lab)
    assert any(test.startswith("tests/devices/test_render_frr.py::") for test in lab)
    assert any(test.startswith("tests/devices/test_render_frr.py::") for test in other)
    assert any(test.startswith("tests/network/") for test in other)
    lab_marked = _collected("-m", "lab")
    assert set(lab_marked) <= set(lab), "a test marked lab runs outside the lab lane"


def test_an_unknown_lane_is_refused() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "--lane", "labs", str(TESTS / "network/test_bgp_timers.py")],
        capture_output=True, text=True, cwd=TESTS.parent, check=False,
    )  # fmt: skip
    assert run.returncode != 0
    assert "--lane" in run.stderr and "labs" in run.stderr
