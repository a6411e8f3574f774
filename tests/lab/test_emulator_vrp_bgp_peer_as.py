"""VRP: a BGP peer whose AS changes (the inventory's `asn.dc_core`, a store's `asn`) is deleted by
`undo peer X`, which deletes "all configurations related to the peer" (Huawei command reference
"peer as-number"), and made again whole: on the VRP emulator in immediate validation the hub ends
with every intended line of the peer (group, description, timers, `enable` and route-policies in
`ipv4-family unicast`), and the rollback brings the old peer back whole."""

from __future__ import annotations

import re
from pathlib import Path

from testsupport.emulator_push import send_to_vrp, vrp_immediate_with

from storestack.devices.configdiff import compute_diff

GOLDEN = Path(__file__).parents[1] / "devices" / "golden" / "huawei_vrp"
STORE_PEERS = ("100.64.0.1", "100.64.255.253")


def _peer_lines(text: str, peer: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if re.match(rf"^\s+peer {re.escape(peer)} ", line)]


def _moved(before: str) -> str:
    """The hub with the DC core in AS 65011 and store nw-0001 in AS 4200000100."""
    after = before.replace("as-number 65010", "as-number 65011")
    for peer in STORE_PEERS:
        after = after.replace(f"peer {peer} as-number 4200000000", f"peer {peer} as-number 4200000100")
    return after


def test_a_peer_moved_to_another_as_is_deleted_by_its_address_and_made_again_whole() -> None:
    before = (GOLDEN / "hub.cfg").read_text()
    intended = _moved(before)
    diff = compute_diff(before, intended, "huawei_vrp")
    sent = [line.strip() for line in diff.remediation]
    for peer in ("10.0.0.1", "10.0.0.2", *STORE_PEERS):
        assert f"undo peer {peer}" in sent
        # Nothing else of the old peer is undone: the AR deleted it with the peer.
        assert [line for line in sent if line.startswith(f"undo peer {peer} ")] == []
        # Every line of the new peer follows its deletion, the unchanged ones too.
        assert set(_peer_lines(intended, peer)) <= set(sent)
        assert sent.index(f"undo peer {peer}") < min(sent.index(line) for line in _peer_lines(intended, peer))


def test_the_push_and_its_rollback_leave_each_moved_peer_whole_on_the_emulator() -> None:
    before = (GOLDEN / "hub.cfg").read_text()
    device, session = vrp_immediate_with(before, "hq-hub1")
    running = device.running_text()
    intended = _moved(running)
    diff = compute_diff(running, intended, "huawei_vrp")
    send_to_vrp(session, diff.remediation)
    pushed = device.running_text()
    for peer in ("10.0.0.1", "10.0.0.2", *STORE_PEERS):
        assert sorted(_peer_lines(pushed, peer)) == sorted(_peer_lines(intended, peer)), peer
    assert compute_diff(pushed, intended, "huawei_vrp").remediation == ()
    send_to_vrp(session, diff.rollback)
    assert compute_diff(device.running_text(), running, "huawei_vrp").remediation == ()
