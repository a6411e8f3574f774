from __future__ import annotations

import time
from itertools import islice

import pytest

from storestack.common import polling
from storestack.common.polling import backoff, sleep_before_next


def test_polls_start_small_and_back_off_to_the_ceiling() -> None:
    assert list(islice(backoff(0.05, 0.5), 6)) == [0.05, 0.1, 0.2, 0.4, 0.5, 0.5]
    # A first wait above the ceiling is the ceiling.
    assert list(islice(backoff(2.0, 0.25), 2)) == [0.25, 0.25]


def test_a_wait_never_runs_past_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(polling.time, "sleep", slept.append)
    now = time.monotonic()
    sleep_before_next(backoff(30.0, 30.0), now + 10.0)
    sleep_before_next(backoff(30.0, 30.0), now - 1.0)  # a deadline already passed
    waits = backoff(0.05, 1.0)
    sleep_before_next(waits, now + 3600.0)
    sleep_before_next(waits, now + 3600.0)
    assert 9.0 < slept[0] <= 10.0 and slept[1:] == [0.0, 0.05, 0.1]
