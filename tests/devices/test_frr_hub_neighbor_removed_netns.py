"""An FRR hub's store neighbours leaving their peer group, against a real FRR 8.4 bgpd.

FRR deletes a neighbour whole, with all its settings, when it leaves its peer group: `no neighbor
X peer-group G` runs `peer_delete` (bgpd/bgp_vty.c `no_neighbor_set_peer_group`, FRR 8.4.4), as
`no neighbor X remote-as N` does. Any later `no neighbor X ...` is refused ("% Specify remote-as
or peer-group commands first"), and a neighbour that stays, bound to another group, comes back
bare from `neighbor X peer-group NEW` (no remote-as: its session never opens) unless all its
lines are sent again. A hub's store links leave their group whenever the fleet changes under
it: a hub added (the stores homed on hq-hub2 take the new hub as their backup and leave
hq-hub1), a store decommissioned or moved to another hub, a store moved between FRR and a vendor
platform (its links' BFD profile, so their peer group, changes).

Each case loads the hub's config before the change into bgpd, applies the push's remediation
(`compute_diff`) as vtysh takes it, and requires no line refused and nothing left to remediate.
The hub's interfaces are veth devices that stay for the whole change: what zebra does with the
tunnel interfaces the routing companion deletes before the FRR lines is not this test's subject.

Root and FRR: skipped on a developer machine without them, a failure under CI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from frr_instance import assert_remediation_converges, require_frr
from testsupport.rendering import on_platform, three_hub_chain

from storestack.devices.configdiff.diff import compute_diff
from storestack.devices.render import render_hub
from storestack.inventory import Fleet, load_fleet

HUB = "hq-hub1"


def _hub(fleet: Fleet) -> str:
    return render_hub(fleet, HUB).text


def _cases(fleet: Fleet, tmp_path: Path) -> dict[str, tuple[str, str]]:
    all_frr = on_platform(fleet, "frr")
    return {
        # The sample chain's stores as they are (IOS-XE, VRP and FortiOS among them) from a
        # fleet of FRR stores: their links take the vendor platforms' BFD profiles.
        "stores-to-vendors": (_hub(all_frr), _hub(fleet)),
        "stores-to-frr": (_hub(fleet), _hub(all_frr)),
        # A third hub: hq-hub1 no longer backs the stores homed on hq-hub2.
        "hub-added": (_hub(all_frr), _hub(on_platform(load_fleet(three_hub_chain(tmp_path)), "frr"))),
    }


def _groups(text: str) -> dict[str, str]:
    """Each neighbour's peer group."""
    return dict(re.findall(r"^ neighbor (\d\S+) peer-group (\S+)$", text, re.MULTILINE))


def _deleted_at(remediation: list[str], before: str) -> dict[str, int]:
    """Each neighbour the remediation deletes, with the index of the line that deletes it: its
    own `no neighbor X remote-as` or `no neighbor X peer-group G`, or its group's deletion."""
    members: dict[str, list[str]] = {}
    for neighbor, group in _groups(before).items():
        members.setdefault(group, []).append(neighbor)
    deleted: dict[str, int] = {}
    for index, line in enumerate(remediation):
        if (found := re.match(r"no neighbor (\d\S+) (?:peer-group|remote-as) \S+$", line)) is not None:
            deleted.setdefault(found.group(1), index)
        elif (found := re.match(r"no neighbor (\S+) peer-group$", line)) is not None:
            for neighbor in members.get(found.group(1), []):
                deleted.setdefault(neighbor, index)
    return deleted


@pytest.mark.parametrize("case", ["stores-to-vendors", "stores-to-frr", "hub-added"])
def test_the_remediation_sends_no_line_for_a_neighbour_it_deleted(fleet: Fleet, tmp_path: Path, case: str) -> None:
    """Offline: after the line that deletes a neighbour, no deletion names it, and a neighbour
    that stays, bound to another group, is made again whole (its AS and its inbound route-map)
    after it."""
    before, after = _cases(fleet, tmp_path)[case]
    remediation = [line.strip() for line in compute_diff(before, after, "frr").remediation]
    deleted_at = _deleted_at(remediation, before)
    assert deleted_at, f"{case}: the change deletes no neighbour: the test checks nothing"
    for neighbor, at in deleted_at.items():
        later = [line for line in remediation[at + 1 :] if line.startswith(f"no neighbor {neighbor} ")]
        assert all(re.fullmatch(rf"no neighbor {re.escape(neighbor)} remote-as \S+", line) for line in later), (
            f"{case}: {later} sent after the neighbour was deleted"
        )
    old, new = _groups(before), _groups(after)
    moved = {neighbor for neighbor in old.keys() & new.keys() if old[neighbor] != new[neighbor]}
    assert moved or case == "hub-added", f"{case}: no store link changes its peer group: the test checks nothing"
    for neighbor in moved:
        at = deleted_at[neighbor]
        remade = [line for line in remediation[at + 1 :] if line.startswith(f"neighbor {neighbor} ")]
        made = [line.strip() for line in after.splitlines() if line.strip().startswith(f"neighbor {neighbor} ")]
        assert sorted(remade) == sorted(made), f"{case}: {neighbor} is not made again whole"


@pytest.mark.parametrize("case", ["stores-to-vendors", "stores-to-frr", "hub-added"])
def test_a_hub_takes_the_remediation_and_converges(fleet: Fleet, tmp_path: Path, case: str) -> None:
    require_frr()
    before, after = _cases(fleet, tmp_path)[case]
    assert_remediation_converges(HUB, before, after, tmp_path, case)
