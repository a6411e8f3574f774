"""The collector pause around bulk work: nothing leaks, nothing frozen is thawed."""

from __future__ import annotations

import gc
import weakref

import pytest

from storestack.common.memory import without_cyclic_gc


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle() -> weakref.ref[_Node]:
    first, second = _Node(), _Node()
    first.other, second.other = second, first
    return weakref.ref(first)


@pytest.mark.parametrize("long_lived", [False, True])
def test_a_cycle_left_by_the_burst_is_still_collected(long_lived: bool) -> None:
    with without_cyclic_gc(long_lived=long_lived):
        assert not gc.isenabled()
        cycle = _cycle()
    assert gc.isenabled()
    assert cycle() is not None  # nothing collected it yet
    gc.collect()
    assert cycle() is None


def test_what_a_long_lived_burst_built_goes_to_the_oldest_generation() -> None:
    """So the next young collection does not walk it all (a tenth of a 10,000-store load)."""
    # A CLI command run earlier in this test process froze what it loaded (cli/devices.py), and
    # the promotion is skipped while anything is frozen: start from nothing frozen.
    gc.unfreeze()
    with without_cyclic_gc(long_lived=True):
        kept = [_Node() for _ in range(10_000)]
    oldest = {id(obj) for obj in gc.get_objects(generation=2)}
    assert id(kept[0]) in oldest and id(kept[-1]) in oldest


def _frozen(obj: object) -> bool:
    """Whether `obj`, an object the collector tracks, is in the permanent generation (frozen):
    `gc.get_objects()` lists every generation but that one."""
    return not any(tracked is obj for tracked in gc.get_objects())


def test_frozen_objects_stay_frozen() -> None:
    """What a CLI command froze stays frozen through a long-lived burst (its promotion, a freeze
    then an unfreeze, would thaw it). Told by an object of the test's own: the process's freeze
    count also drops when another thread frees a frozen object meanwhile."""
    sentinel = _Node()
    gc.collect()
    gc.freeze()
    try:
        assert _frozen(sentinel)
        with without_cyclic_gc(long_lived=True):
            kept = [_Node() for _ in range(1_000)]
        assert _frozen(sentinel)
        assert len(kept) == 1_000
    finally:
        gc.unfreeze()
