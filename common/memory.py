"""Memory housekeeping shared by the bulk paths (loading a fleet, rendering its configs)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def without_cyclic_gc(*, long_lived: bool = False) -> Iterator[None]:
    """Pause the cyclic garbage collector for a bounded burst of allocations.

    Loading and rendering build millions of small objects that are acyclic (freed by reference
    counting alone) or long-lived; the collector would walk them again and again (about half of
    a 10,000-store load, a fifth of a render) and free nothing. Whatever cycles the burst leaves
    are collected as usual once it ends.

    `long_lived`: what the burst built stays (a loaded fleet), so it goes straight to the oldest
    generation (`gc.freeze()` then `gc.unfreeze()`) instead of being walked once more by the next
    young collection (a tenth of a 10,000-store load); a cycle it left is found by the next full
    collection. Not done while objects are frozen: they stay frozen.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if long_lived and gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if was_enabled:
            gc.enable()
