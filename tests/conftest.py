"""Root of the test tree: makes `testsupport` (helpers shared across test folders) importable,
registers the fixtures shared across test folders (the one demo run, `testsupport.demo`),
refuses a run whose `--dist loadgroup` would split an `xdist_group`, and on a pytest-xdist worker
gives the lab tests' processes the CPU before the other tests' (`testsupport.priority`)."""

from __future__ import annotations

import pytest
from testsupport.priority import take_priority

pytest_plugins = ["testsupport.demo"]

# The first pytest whose test ids ignore pytest-xdist's group suffix (see below).
_SPLITS_XDIST_GROUPS = (9, 2)


def pytest_configure(config: pytest.Config) -> None:
    """Said once, by the controller, before any worker starts (a worker's refusal below reaches
    the terminal only as xdist's internal error)."""
    if getattr(config.option, "dist", "no") != "loadgroup" or hasattr(config, "workerinput"):
        return
    version = tuple(int(part) for part in pytest.__version__.split(".")[:2] if part.isdigit())
    if version >= _SPLITS_XDIST_GROUPS:
        raise pytest.UsageError(
            f"pytest {pytest.__version__} spreads each xdist_group over the workers under --dist loadgroup: "
            "install the pytest the project pins (pyproject.toml, `make setup`)"
        )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A lab module runs one lab for all its tests, and some of its tests go on from the state the
    one before left (the SLA brownout, then the recovery): `make test` keeps each such module on
    one worker with `xdist_group` and `--dist loadgroup`. pytest-xdist does that by suffixing
    the test ids with the group, which pytest 9.2 ignores: the groups would be spread over the
    workers and those tests fail, or pass by the luck of the schedule. Stop here instead.

    The lab modules go first (`lab_modules_first`)."""
    lab_modules_first(items)
    if not getattr(config.option, "loadgroup", False):
        return
    split = [item.nodeid for item in items if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
    if split:
        raise pytest.UsageError(
            f"--dist loadgroup cannot keep {split[0]} with its xdist_group under pytest {pytest.__version__}: "
            "install the pytest the project pins (pyproject.toml, `make setup`)"
        )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before the test's fixtures start anything: a lab test at the normal CPU priority, any other
    yielding to it (`testsupport.priority`)."""
    take_priority(item)


def lab_modules_first(items: list[pytest.Item]) -> None:
    """Order the modules so that the longest work is handed out first: the modules with an
    `xdist_group` (each runs a lab of its own, or the demo, for minutes), then the other modules
    with a `lab` test, then the rest, each kind in collection order. pytest-xdist hands out the
    work in that order (but for the groups, which its `--loadscope-reorder`, on by default, hands
    out first anyway, those of the most tests first), so a lab test collected late could run
    alone on one worker while the others, done with everything else, wait; the short tests at the
    end fill in instead. Whole modules move, so a module's fixtures are still set up once per
    worker that runs its tests."""

    def rank(item: pytest.Item) -> int:
        if item.get_closest_marker("xdist_group"):
            return 0
        return 1 if item.get_closest_marker("lab") else 2

    module_rank: dict[str, int] = {}
    for item in items:
        module = item.nodeid.split("::")[0]
        module_rank[module] = min(module_rank.get(module, 2), rank(item))
    items.sort(key=lambda item: module_rank[item.nodeid.split("::")[0]])
