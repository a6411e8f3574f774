"""VRP: a hub's store peer that moves to another peer group (its store moved to another platform,
whose tunnels take another BFD profile: STORES-WIRED to STORES-SLA-REALTIME) loses the old group
by `undo peer X group G`, which "deletes a peer from a peer group and all configurations of the
peer" and "has the same function with the undo peer command" (Huawei NetEngine 8000 F1A command
reference, "peer group"). The push made the old group's line's deletion and the new group's line
only, so the hub was left with the peer's group and nothing else of it: no AS number, no
description, no import route-policy, and the store's sessions to it stayed down. The peer is made
again whole after the deletion: on the VRP emulator in immediate validation the hub ends with
every intended line of the peer, and the rollback brings the old peer back whole."""

from __future__ import annotations

import re

from testsupport.emulator_push import send_to_vrp, vrp_immediate_with
from testsupport.rendering import on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_hub
from storestack.devices.secret_ledger import HELD_AS_SENT
from storestack.inventory import Fleet, load_fleet, sample_chain_path

STORE = "nw-0002"
HUB = "hq-hub1"
MOVED = ("100.64.255.251", "100.64.0.7")  # nw-0002's wan1 and lte1 peers on hq-hub1


def _peer_lines(text: str, peer: str) -> list[str]:
    return sorted(line.strip() for line in text.splitlines() if re.match(rf"^\s+peer {re.escape(peer)} ", line))


def _hubs() -> tuple[str, str]:
    """hq-hub1 (VRP, every store on VRP), before and after STORE moved to FRR."""
    before = on_platform(load_fleet(sample_chain_path()), "huawei_vrp")
    stores = {store.id: store for store in before}
    moved = stores[STORE]
    stores[STORE] = moved.model_copy(
        update={"appliances": [a.model_copy(update={"platform": "frr"}) for a in moved.appliances]}
    )
    after = Fleet(before.spec, before.hubs, stores, before.root)
    return render_hub(before, HUB).text, render_hub(after, HUB).text


def test_a_store_moved_to_another_platform_moves_its_hub_peers_to_another_group() -> None:
    before, after = _hubs()
    for peer in MOVED:
        old = [line for line in _peer_lines(before, peer) if " group " in line]
        new = [line for line in _peer_lines(after, peer) if " group " in line]
        assert old and new and set(old).isdisjoint(new), (old, new)


def test_a_peer_moved_to_another_group_is_made_again_whole_after_its_deletion() -> None:
    before, after = _hubs()
    sent = [line.strip() for line in compute_diff(before, after, "huawei_vrp").remediation]
    for peer in MOVED:
        removing = [line for line in sent if re.match(rf"undo peer {re.escape(peer)}(?: group \S+)?$", line)]
        assert len(removing) == 1, removing
        # Every line of the peer follows the deletion that took it, the unchanged ones too.
        assert set(_peer_lines(after, peer)) <= set(sent)
        assert sent.index(removing[0]) < min(sent.index(line) for line in _peer_lines(after, peer))


def test_the_push_and_its_rollback_leave_each_moved_peer_whole_on_the_emulator() -> None:
    before, after = _hubs()
    device, session = vrp_immediate_with(before, HUB)
    running = device.running_text()
    diff = compute_diff(running, after, "huawei_vrp")
    send_to_vrp(session, diff.remediation)
    pushed = device.running_text()
    for peer in MOVED:
        assert _peer_lines(pushed, peer) == _peer_lines(after, peer), peer
    assert compute_diff(pushed, after, "huawei_vrp", held=HELD_AS_SENT).remediation == ()
    send_to_vrp(session, diff.rollback)
    for peer in MOVED:
        assert _peer_lines(device.running_text(), peer) == _peer_lines(running, peer), peer
    assert compute_diff(device.running_text(), running, "huawei_vrp", held=HELD_AS_SENT).remediation == ()
