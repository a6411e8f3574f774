"""The CPU priority of a pytest-xdist worker's test (`tests/conftest.py` `pytest_runtest_setup`).

`make test` runs a worker per core, or more with `PYTEST_WORKERS=4` (the lab tests spend most of
their time waiting on the lab's timers with the cores idle); either way a lab test shares the
cores with the other workers' CPU-bound tests. A worker running a test that runs no
lab yields the CPU (nice `YIELDING_NICE`); one running a lab test takes the normal priority back
(nice 0) before the test's fixtures start anything, so that the lab's daemons, the test's pollers
and its flows, which inherit it, are not starved by the CPU-bound tests of the other workers. On
Linux the value is per thread: threads and processes the test starts inherit it, the worker's
other threads keep theirs."""

from __future__ import annotations

import os

import pytest

# The nice value of a worker while it runs a test that runs no lab. Sharing a core with a lab
# process that wants it, such a test gets about a tenth of it (the scheduler's weights for nice
# 10 and 0 are 110 and 1024): the lab keeps nine tenths, and the emulator tests' few-second
# session timeouts still hold, which nice 19 (weight 15, under 2 %) would starve.
YIELDING_NICE = 10


def runs_a_lab(item: pytest.Item) -> bool:
    """A test of the lab (`lab` marker) or of a module that runs one, or the demo, for all its
    tests (an `xdist_group`): it waits on the lab's timers (BFD, BGP, the SLA windows, a till's
    probe flow), so its processes must get the CPU when they ask for it."""
    return item.get_closest_marker("lab") is not None or item.get_closest_marker("xdist_group") is not None


def take_priority(item: pytest.Item) -> None:
    """Set the calling thread's nice value for `item`: 0 for a lab test, `YIELDING_NICE` for any
    other. Only on a pytest-xdist worker, and only when root (lowering a nice value needs root,
    as the lab does): a plain pytest run, or a developer's without root, keeps its priority."""
    if not hasattr(item.config, "workerinput") or os.geteuid() != 0:
        return
    os.setpriority(os.PRIO_PROCESS, 0, 0 if runs_a_lab(item) else YIELDING_NICE)
