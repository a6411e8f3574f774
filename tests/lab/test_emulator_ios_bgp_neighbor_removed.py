"""On the IOS-XE emulator, a push that removes BGP neighbours (a store decommissioned): IOS removes
a neighbour whole with `no neighbor X remote-as N`, its settings in `router bgp` and in every
address family, and refuses any later `no neighbor X ...` ("% Specify remote-as or peer-group
commands first"). The push sent the neighbour's `peer-group`, `description` and route-map
deletions after it: lines the router refused, in a message no error pattern caught, so the push
went on. Now the deletion of `remote-as` is the neighbour's only line, and the message fails a
push.

A push that changes a neighbour's AS (an inventory change of `asn.dc_core`, or of a store's
`asn`) sent `no neighbor X remote-as A`, which removes X whole, then `neighbor X remote-as B` and
nothing else: the neighbour came back bare, without its peer group, description, timers, BFD,
route-maps and prefix limit, not even activated in IPv4 unicast. Now every intended line of the
neighbour follows, and the rollback makes the old neighbour whole again."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from testsupport.rendering import TEST_IPSEC_PSK_SEED, TEST_SECRETS, on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.drivers import driver_for
from storestack.devices.render import render_hub
from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.models import EmulatedDevice
from storestack.lab.emulator.profiles.cisco_xe import IosSession

HUB = "hq-hub1"


def _fleet(monkeypatch: pytest.MonkeyPatch) -> Fleet:
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)
    return on_platform(load_fleet(sample_chain_path()), None, "cisco_xe")


def _configs(monkeypatch: pytest.MonkeyPatch, gone: str) -> tuple[str, str]:
    fleet = _fleet(monkeypatch)
    smaller = Fleet(fleet.spec, fleet.hubs, {store.id: store for store in fleet if store.id != gone}, fleet.root)
    return render_hub(fleet, HUB).text, render_hub(smaller, HUB).text


def _neighbors(text: str) -> set[str]:
    return set(re.findall(r"^ neighbor (\S+) remote-as ", text, re.MULTILINE))


def _session(running: str) -> tuple[DeviceState, IosSession]:
    device = DeviceState(EmulatedDevice(name=HUB, platform="cisco_xe", running_config=running))
    session = IosSession(device)
    session.handle("configure terminal")
    return device, session


def _refused(session: IosSession, lines: tuple[str, ...]) -> list[str]:
    return [f"{line.strip()}: {output.strip()}" for line in lines if (output := session.handle(line).output)]


@pytest.mark.parametrize("gone", ["nw-0001", "nw-0002"])
def test_decommissioning_a_store_sends_no_line_the_hub_refuses(monkeypatch: pytest.MonkeyPatch, gone: str) -> None:
    before, after = _configs(monkeypatch, gone)
    removed = _neighbors(before) - _neighbors(after)
    assert len(removed) >= 2  # the store's wired and LTE tunnels
    device, session = _session(before)
    diff = compute_diff(device.running_text(), after, "cisco_xe")
    # One line per removed neighbour, the one that removes it whole.
    for neighbor in removed:
        assert [line.strip() for line in diff.remediation if f"neighbor {neighbor} " in line] == [
            f"no neighbor {neighbor} remote-as {m}" for m in re.findall(rf"^ neighbor {re.escape(neighbor)} remote-as (\S+)$", before, re.MULTILINE)
        ]
    assert _refused(session, diff.remediation) == []
    text = device.running_text()
    assert [line for line in text.splitlines() if any(f"neighbor {n} " in line for n in removed)] == []
    assert compute_diff(text, after, "cisco_xe").remediation == ()
    # The way back makes the neighbours again, settings and address family lines and all.
    assert _refused(session, diff.rollback) == []
    assert compute_diff(device.running_text(), before, "cisco_xe").remediation == ()


def test_the_hub_refuses_a_line_naming_a_removed_neighbour_and_the_push_fails_on_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the push sent before: the router removes the neighbour with its first line and
    refuses the rest, in a message the IOS-XE error patterns now catch."""
    before, _after = _configs(monkeypatch, "nw-0001")
    neighbor = "100.64.0.1"
    asn = re.search(rf"^ neighbor {neighbor} remote-as (\S+)$", before, re.MULTILINE)
    assert asn is not None
    device, session = _session(before)
    assert session.handle("router bgp 65000").output == ""
    assert session.handle(f" no neighbor {neighbor} remote-as {asn.group(1)}").output == ""
    refused = session.handle(f" no neighbor {neighbor} peer-group STORES-SLA-REALTIME").output
    assert refused.strip() == "% Specify remote-as or peer-group commands first"
    assert re.search(driver_for("cisco_xe").error_pattern, refused)
    assert session.handle(" address-family ipv4").output == ""
    assert session.handle(f"  no neighbor {neighbor} route-map FROM-nw-0001-wan1 in").output.strip() == (
        "% Specify remote-as or peer-group commands first"
    )
    assert f"neighbor {neighbor} " not in device.running_text()


def test_removing_a_peer_group_removes_its_members(monkeypatch: pytest.MonkeyPatch) -> None:
    before, _after = _configs(monkeypatch, "nw-0001")
    group = re.search(r"^ neighbor (\S+) peer-group$", before, re.MULTILINE)
    assert group is not None
    members = re.findall(rf"^ neighbor (\S+) peer-group {group.group(1)}$", before, re.MULTILINE)
    assert members
    device, session = _session(before)
    assert session.handle("router bgp 65000").output == ""
    assert session.handle(f" no neighbor {group.group(1)} peer-group").output == ""
    text = device.running_text()
    assert [name for name in (group.group(1), *members) if f"neighbor {name} " in text] == []


def _dc_core_moved(fleet: Fleet) -> Fleet:
    spec = fleet.spec.model_copy(update={"asn": fleet.spec.asn.model_copy(update={"dc_core": 65020})})
    return Fleet(spec, fleet.hubs, fleet.stores, fleet.root)


def _store_moved(fleet: Fleet) -> Fleet:
    store = fleet.stores["nw-0001"]
    stores = {**fleet.stores, store.id: store.model_copy(update={"asn": 4200000090})}
    return Fleet(fleet.spec, fleet.hubs, stores, fleet.root)


def _neighbour_lines(text: str, neighbor: str) -> list[str]:
    return sorted(line.strip() for line in text.splitlines() if line.strip().startswith(f"neighbor {neighbor} "))


def _moved(before: str, after: str) -> set[str]:
    def peers(text: str) -> set[tuple[str, str]]:
        return set(re.findall(r"^ neighbor (\S+) remote-as (\S+)$", text, re.MULTILINE))

    return {neighbor for neighbor, _asn in peers(after) - peers(before)} & {n for n, _a in peers(before)}


@pytest.mark.parametrize("change", [_dc_core_moved, _store_moved], ids=["dc-core", "store"])
def test_a_neighbour_whose_as_changes_comes_back_whole(
    monkeypatch: pytest.MonkeyPatch, change: Callable[[Fleet], Fleet]
) -> None:
    fleet = _fleet(monkeypatch)
    before, after = render_hub(fleet, HUB).text, render_hub(change(fleet), HUB).text
    moved = _moved(before, after)
    assert moved, "the change moves no neighbour to another AS"
    device, session = _session(before)
    diff = compute_diff(device.running_text(), after, "cisco_xe")
    assert _refused(session, diff.remediation) == []
    pushed = device.running_text()
    for neighbor in moved:
        # Peer group, description, timers, BFD, activation, route-maps: all of them again.
        assert _neighbour_lines(pushed, neighbor) == _neighbour_lines(after, neighbor), neighbor
    assert compute_diff(pushed, after, "cisco_xe").remediation == ()
    # The way back: the neighbours in their old AS, with every line they had.
    assert _refused(session, diff.rollback) == []
    back = device.running_text()
    for neighbor in moved:
        assert _neighbour_lines(back, neighbor) == _neighbour_lines(before, neighbor), neighbor
    assert compute_diff(back, before, "cisco_xe").remediation == ()


def test_a_peer_group_removed_under_members_that_stay_leaves_them_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stores moved from FRR to IOS-XE: the hub's STORES-SLA-REALTIME peer group goes, its
    members join STORES-WIRED and STORES-CELLULAR. `no neighbor G peer-group` removes "the peer
    group and all of its members" (Cisco IOS IP Command Reference, `neighbor peer-group
    (creating)`): the push then sent `no neighbor M peer-group G` (refused) and `neighbor M
    peer-group W` for neighbours the router no longer held. Now each member is made again whole
    after the group's deletion, and the rollback puts the group and its members back."""
    fleet = load_fleet(sample_chain_path())
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)
    before = render_hub(on_platform(fleet, None, "cisco_xe"), HUB).text
    after = render_hub(on_platform(fleet, "cisco_xe"), HUB).text
    gone = set(re.findall(r"^ neighbor (\S+) peer-group$", before, re.MULTILINE)) - set(
        re.findall(r"^ neighbor (\S+) peer-group$", after, re.MULTILINE)
    )
    members = {m for group in gone for m in re.findall(rf"^ neighbor (\S+) peer-group {group}$", before, re.MULTILINE)}
    assert members and members <= _neighbors(after)
    device, session = _session(before)
    diff = compute_diff(device.running_text(), after, "cisco_xe")
    assert _refused(session, diff.remediation) == []
    for neighbor in members:
        assert _neighbour_lines(device.running_text(), neighbor) == _neighbour_lines(after, neighbor), neighbor
    assert _refused(session, diff.rollback) == []
    for neighbor in members:
        assert _neighbour_lines(device.running_text(), neighbor) == _neighbour_lines(before, neighbor), neighbor
