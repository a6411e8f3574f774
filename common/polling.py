"""Waiting for a state that changes at a moment nobody can predict (a BGP session, a route).

A fixed poll makes the caller wait half a poll on average after the change; a poll that starts
small and backs off finds a quick change quickly and costs few reads when the change is slow.
"""

from __future__ import annotations

import time
from collections.abc import Iterator


def backoff(first: float, ceiling: float, *, factor: float = 2.0) -> Iterator[float]:
    """The waits between polls: `first`, then each `factor` times the last, up to `ceiling`."""
    wait = min(first, ceiling)
    while True:
        yield wait
        wait = min(ceiling, wait * factor)


def sleep_before_next(waits: Iterator[float], deadline: float) -> None:
    """Sleep the next wait of `waits`, never past `deadline` (a time.monotonic() value)."""
    time.sleep(max(0.0, min(next(waits), deadline - time.monotonic())))
