"""Fixtures for the lab tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from testsupport.lab import ONE_STORE_FIXTURE, OneStoreLab, SharedOneStoreLab, require_frr_lab

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


@pytest.fixture(scope="session")
def _one_store_lab_holder(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedOneStoreLab]:
    modules = {item.module.__name__ for item in request.session.items if ONE_STORE_FIXTURE in getattr(item, "fixturenames", ())}  # type: ignore[attr-defined]
    holder = SharedOneStoreLab(tmp_path_factory, modules)
    try:
        yield holder
    finally:
        holder.close()


@pytest.fixture(scope="module")
def one_store_lab(request: pytest.FixtureRequest, _one_store_lab_holder: SharedOneStoreLab) -> Iterator[OneStoreLab]:
    """The shared one-store IPsec lab, for a module that keeps the xdist_group ONE_STORE_GROUP.
    Such a module only observes the lab or puts back what it changed (an observer table, a
    route, a silenced port) before it ends; one that leaves a change behind (a pushed config, an
    impaired link) brings up its own lab with `testsupport.lab.rolled_out_lab`."""
    require_frr_lab()
    with _one_store_lab_holder.lease(request.module.__name__) as shared:
        yield shared
