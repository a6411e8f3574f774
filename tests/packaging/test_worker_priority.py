"""On a pytest-xdist worker of `make test` (two workers, or more than the cores with
`PYTEST_WORKERS=4`), a test that runs no lab yields the CPU, and a lab test, with every process it starts, has the normal priority
(`testsupport.priority`, from `tests/conftest.py` `pytest_runtest_setup`)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from types import SimpleNamespace
from typing import cast

import pytest
from testsupport.priority import YIELDING_NICE, runs_a_lab, take_priority


def _item(*markers: str, worker: bool = True) -> pytest.Item:
    config = SimpleNamespace(workerinput={"workerid": "gw0"}) if worker else SimpleNamespace()
    return cast(pytest.Item, SimpleNamespace(config=config, get_closest_marker=lambda name: name if name in markers else None))


def _priorities_after(*items: pytest.Item) -> list[tuple[int, int]]:
    """For each item in turn, the nice value of the thread that ran the hook for it, and that of a
    process the thread then started; in a thread of its own (the value is per thread on Linux),
    so that this worker's own stays as it is."""
    seen: list[tuple[int, int]] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            for item in items:
                take_priority(item)
                child = subprocess.run(
                    [sys.executable, "-c", "import os; print(os.getpriority(os.PRIO_PROCESS, 0))"],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                seen.append((os.getpriority(os.PRIO_PROCESS, 0), int(child.stdout)))
        except BaseException as exc:  # reported by the test's thread
            failure.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return seen


@pytest.fixture(autouse=True)
def _root() -> None:
    if os.geteuid() != 0:
        pytest.skip("only a root worker can take the normal priority back")


def test_a_worker_yields_for_a_test_without_a_lab_and_takes_the_priority_back_for_a_lab_test() -> None:
    plain, lab, group, plain_again = _item(), _item("lab"), _item("xdist_group"), _item()
    yielding = YIELDING_NICE
    assert _priorities_after(plain, lab, plain_again, group) == [(yielding, yielding), (0, 0), (yielding, yielding), (0, 0)]


def test_a_process_without_workers_keeps_its_priority() -> None:
    start = os.getpriority(os.PRIO_PROCESS, 0)
    assert _priorities_after(_item(worker=False), _item("lab", worker=False)) == [(start, start), (start, start)]


def test_the_lab_tests_are_those_with_a_lab_or_a_module_running_one() -> None:
    assert [runs_a_lab(_item()), runs_a_lab(_item("lab")), runs_a_lab(_item("xdist_group")), runs_a_lab(_item("slow"))] == [False, True, True, False]


def test_this_test_runs_no_lab_so_on_a_worker_it_yields(request: pytest.FixtureRequest) -> None:
    if not hasattr(request.config, "workerinput"):
        pytest.skip("a plain pytest run keeps its priority")
    assert os.getpriority(os.PRIO_PROCESS, 0) == YIELDING_NICE
