"""VRP: a BGP peer's `peer X route-policy P import` applies route-policy P, which "After a
route-policy is created, the peer route-policy command is used to apply" (AR command reference
EDOC1100064351, "peer route-policy"). A store added to a hub typed its peers' import policy in
the BGP view before the policy existed, and a store taken off a hub (the push's rollback) deleted
the policy's nodes while its peers still applied it. The policy is now defined before the peer
line that applies it and deleted after the peer goes; on the VRP emulator in immediate
validation the push and its rollback take every line and leave the hub as intended."""

from __future__ import annotations

import re

from testsupport.emulator_push import vrp_push_and_rollback
from testsupport.rendering import on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_hub
from storestack.inventory import Fleet, load_fleet, sample_chain_path

STORE = "nw-0007"
HUB = "hq-hub1"
APPLIED = re.compile(r"^peer (\S+) route-policy (FROM-nw-0007-\S+) import$")


def _hubs() -> tuple[str, str]:
    """hq-hub1 (VRP) without STORE, and with it: the store added to the fleet."""
    full = on_platform(load_fleet(sample_chain_path()), "huawei_vrp")
    stores = {store.id: store for store in full if store.id != STORE}
    without = Fleet(full.spec, full.hubs, stores, full.root)
    return render_hub(without, HUB).text, render_hub(full, HUB).text


def _applied(lines: tuple[str, ...]) -> dict[str, str]:
    return {found.group(1): found.group(2) for line in lines if (found := APPLIED.match(line.strip()))}


def test_a_store_added_defines_its_peers_import_policies_before_applying_them() -> None:
    before, after = _hubs()
    sent = [line.strip() for line in compute_diff(before, after, "huawei_vrp").remediation]
    applied = _applied(tuple(sent))
    assert len(applied) == 2, applied
    for peer, policy in applied.items():
        defined = [i for i, line in enumerate(sent) if re.match(rf"route-policy {policy} permit node \d+$", line)]
        assert defined and max(defined) < sent.index(f"peer {peer} route-policy {policy} import"), (peer, policy)


def test_a_store_taken_off_deletes_its_import_policies_after_its_peers() -> None:
    before, after = _hubs()
    diff = compute_diff(before, after, "huawei_vrp")
    sent = [line.strip() for line in diff.rollback]
    for peer, policy in _applied(diff.remediation).items():
        deleted = [i for i, line in enumerate(sent) if re.match(rf"undo route-policy {policy} node \d+$", line)]
        assert deleted and min(deleted) > sent.index(f"undo peer {peer}"), (peer, policy)


def test_the_push_and_its_rollback_take_every_line_on_the_emulator() -> None:
    before, after = _hubs()
    vrp_push_and_rollback(before, after, HUB)
