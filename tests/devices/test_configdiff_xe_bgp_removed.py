"""IOS-XE: a BGP neighbour or peer group a change removes is deleted by the one line that removes it
whole (`no neighbor X remote-as N`, `no neighbor G peer-group`, with its members); no other line naming it is sent,
in `router bgp` or an address family, and an address family left with nothing to change is not
entered. The emulator, which refuses a line naming a neighbour it does not hold, takes every line."""

from __future__ import annotations

from storestack.devices.configdiff import ConfigDiff, compute_diff
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.models import EmulatedDevice
from storestack.lab.emulator.profiles.cisco_xe import IosSession

KEPT = """router bgp 65000
 neighbor 10.0.0.9 remote-as 65001
 neighbor 10.0.0.9 description dc core
 address-family ipv4
  neighbor 10.0.0.9 activate
  neighbor 10.0.0.9 route-map FROM-DC in
 exit-address-family
"""

BEFORE = """router bgp 65000
 neighbor HUBS peer-group
 neighbor HUBS timers 10 30
 neighbor 10.0.0.9 remote-as 65001
 neighbor 10.0.0.9 description dc core
 neighbor 100.64.0.2 remote-as 65000
 neighbor 100.64.0.2 peer-group HUBS
 neighbor 100.64.0.2 description hub2
 address-family ipv4
  neighbor HUBS activate
  neighbor HUBS route-map TO-HUBS out
  neighbor 10.0.0.9 activate
  neighbor 10.0.0.9 route-map FROM-DC in
  neighbor 100.64.0.2 activate
  neighbor 100.64.0.2 route-map FROM-HUB2 in
 exit-address-family
"""


def _pushed_and_back(before: str, after: str, diff: ConfigDiff) -> None:
    """The emulator, holding `before`, takes every line of `diff` and ends with `after`, then
    every line of its rollback and ends with `before` again."""
    device = DeviceState(EmulatedDevice(name="r1", platform="cisco_xe", running_config=before))
    session = IosSession(device)
    session.handle("configure terminal")
    assert [out for line in diff.remediation if (out := session.handle(line).output)] == []
    assert compute_diff(device.running_text(), after, "cisco_xe").remediation == ()
    assert [out for line in diff.rollback if (out := session.handle(line).output)] == []
    assert compute_diff(device.running_text(), before, "cisco_xe").remediation == ()


def test_a_removed_peer_group_goes_by_one_line_with_its_members() -> None:
    diff = compute_diff(BEFORE, KEPT, "cisco_xe")
    sent = [line.strip() for line in diff.remediation]
    assert [line for line in sent if "HUBS" in line] == ["no neighbor HUBS peer-group"]
    # Its member goes with the group (Cisco IOS IP Command Reference, `neighbor peer-group
    # (creating)`: "the peer group and all of its members"): nothing more is sent for it.
    assert [line for line in sent if "100.64.0.2" in line] == []
    assert "address-family ipv4" not in sent
    _pushed_and_back(BEFORE, KEPT, diff)


def test_a_neighbour_leaving_a_peer_group_keeps_its_other_lines_changed() -> None:
    """Only a neighbour the intended config no longer makes goes whole: one that stays has its
    deletions sent line by line."""
    after = BEFORE.replace(" neighbor 100.64.0.2 peer-group HUBS\n", "").replace("  neighbor 100.64.0.2 route-map FROM-HUB2 in\n", "")
    sent = [line.strip() for line in compute_diff(BEFORE, after, "cisco_xe").remediation]
    assert "no neighbor 100.64.0.2 peer-group HUBS" in sent
    assert "no neighbor 100.64.0.2 route-map FROM-HUB2 in" in sent


def test_a_neighbour_moved_to_another_as_is_made_again_whole() -> None:
    """`no neighbor X remote-as A` removes X whole (Cisco IOS IP Command Reference, `neighbor
    remote-as`): X's other intended lines follow `neighbor X remote-as B`, the unchanged ones too,
    and no deletion of a line the router removed with it (its old route-map) is sent."""
    after = KEPT.replace("remote-as 65001", "remote-as 65002").replace("FROM-DC in", "FROM-DC2 in")
    diff = compute_diff(KEPT, after, "cisco_xe")
    sent = [line.strip() for line in diff.remediation]
    assert sent == [
        "router bgp 65000",
        "no neighbor 10.0.0.9 remote-as 65001",
        "neighbor 10.0.0.9 remote-as 65002",
        "neighbor 10.0.0.9 description dc core",
        "address-family ipv4",
        "neighbor 10.0.0.9 activate",
        "neighbor 10.0.0.9 route-map FROM-DC2 in",
        "exit-address-family",
        "exit",
    ]
    _pushed_and_back(KEPT, after, diff)
