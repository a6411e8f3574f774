"""A store's BGP session whose BFD timers change (its link's BFD profile) deletes the old timers
with their values, `undo peer X bfd min-tx-interval T min-rx-interval R detect-multiplier M`, and
types the new ones, leaving `peer X bfd enable` as it was. Huawei documents that form beside the
keywords-alone one: campus switch command reference, "peer bfd" (BGP view): `undo peer {
group-name | ipv4-address } bfd { min-tx-interval min-tx-interval | min-rx-interval
min-rx-interval | detect-multiplier multiplier } *` and `undo peer { group-name | ipv4-address }
bfd { min-tx-interval | min-rx-interval | detect-multiplier } *`. The emulated AR in immediate
validation takes the push and its rollback and then holds what each intended; it takes the
keywords-alone form too, each named timer back to its default (the line gone once it sets none),
where it used to keep the timers and show the deletion as a line of its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from testsupport.emulator_push import send_to_vrp, vrp_immediate_with

from storestack.devices.configdiff import compute_diff
from storestack.devices.secret_ledger import HELD_AS_SENT

GOLDEN = Path(__file__).parent / "golden" / "huawei_vrp"
OLD = " peer 100.64.0.4 bfd min-tx-interval 200 min-rx-interval 200 detect-multiplier 3\n"
NEW = " peer 100.64.0.4 bfd min-tx-interval 500 min-rx-interval 500 detect-multiplier 5\n"


def _bfd_lines(text: str) -> list[str]:
    return sorted(line.strip() for line in text.splitlines() if line.strip().startswith("peer 100.64.0.4 bfd"))


def test_a_peers_changed_bfd_timers_are_deleted_with_their_values_and_typed_again() -> None:
    before = (GOLDEN / "dual-wan.cfg").read_text()
    assert OLD in before
    intended = before.replace(OLD, NEW, 1)
    device, session = vrp_immediate_with(before)
    running = device.running_text()
    diff = compute_diff(running, intended, "huawei_vrp")
    bfd = [line.strip() for line in diff.remediation if " bfd " in line]
    assert bfd == [f"undo {OLD.strip()}", NEW.strip()]
    send_to_vrp(session, diff.remediation)
    pushed = device.running_text()
    assert _bfd_lines(pushed) == ["peer 100.64.0.4 bfd enable", NEW.strip()]
    assert compute_diff(pushed, intended, "huawei_vrp", held=HELD_AS_SENT).in_sync
    send_to_vrp(session, diff.rollback)
    assert _bfd_lines(device.running_text()) == _bfd_lines(running)
    assert compute_diff(device.running_text(), running, "huawei_vrp", held=HELD_AS_SENT).in_sync


@pytest.mark.parametrize(
    ("timers", "held"),
    [
        ("min-tx-interval min-rx-interval detect-multiplier", []),
        ("detect-multiplier min-tx-interval", ["peer 100.64.0.4 bfd min-rx-interval 200"]),
    ],
)
def test_the_emulated_ar_resets_the_bfd_timers_a_deletion_names_by_their_keywords(timers: str, held: list[str]) -> None:
    before = (GOLDEN / "dual-wan.cfg").read_text()
    device, session = vrp_immediate_with(before)
    bgp = next(line for line in before.splitlines() if line.startswith("bgp "))
    send_to_vrp(session, [bgp, f" undo peer 100.64.0.4 bfd {timers}"])
    now = device.running_text()
    assert _bfd_lines(now) == sorted(["peer 100.64.0.4 bfd enable", *held])
    assert "undo peer" not in now
