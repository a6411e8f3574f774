"""Root of the test tree: makes `testsupport` (helpers shared across test folders) importable,
registers the fixtures shared across test folders (the one demo run, `testsupport.demo`), and
refuses a run whose `--dist loadgroup` would split an `xdist_group`."""

from __future__ import annotations

import pytest

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
    workers and those tests fail, or pass by the luck of the schedule. Stop here instead."""
    if not getattr(config.option, "loadgroup", False):
        return
    split = [item.nodeid for item in items if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
    if split:
        raise pytest.UsageError(
            f"--dist loadgroup cannot keep {split[0]} with its xdist_group under pytest {pytest.__version__}: "
            "install the pytest the project pins (pyproject.toml, `make setup`)"
        )

