"""On the IOS-XE emulator, the push that adds a third hub to an IOS-XE hub, line by line: the hub's
DC port keeps forwarding transit and the other hub's BFD, and never lets in what it refuses before
and after (a source in the overlay pool).

The new hub's BGP and BFD entries go into HUB-INFRASTRUCTURE ahead of the ones they come before,
so every later entry moves up a number. Renumbered by deleting from the bottom and adding from the
top, the ACL lost its closing `permit ip any any` at the push's first line and held only its first
entries for some seventy lines: all transit through the hub (HQ and the DC towards the stores and
the clouds) was dropped, and the other hub's BFD entry was missing for some ten lines. The store
filters (FROM-STORES, FROM-STORE-<id>), which take the new hub's addresses among their denies, went
the same way. Every ACL the push changes now holds, at every line, every entry it holds before and
after, in order."""

from __future__ import annotations

import ipaddress
import re

import pytest
from testsupport.rendering import TEST_IPSEC_PSK_SEED, TEST_SECRETS, on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.lint import Packet
from storestack.devices.lint.cisco_xe import acl_verdict
from storestack.devices.lint.linetree import parse, top
from storestack.devices.render import render_hub
from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.models import EmulatedDevice
from storestack.lab.emulator.profiles.cisco_xe import IosSession

HUB = "hq-hub1"
DC_PORT_ACL = "HUB-INFRASTRUCTURE"
_address = ipaddress.IPv4Address
# An HQ server's answer to a store's POS host: transit the DC port forwards towards the tunnels.
TRANSIT = Packet("tcp", _address("10.0.10.5"), _address("10.64.0.10"), 443)
# hq-hub2's BFD control packets to this hub's DC address (single-hop BFD, UDP 3784).
HUB2_BFD = Packet("udp", _address("10.0.0.4"), _address("10.0.0.3"), 3784)
# A packet claiming an overlay source on the DC LAN, which the DC port refuses before and after.
SPOOFED = Packet("tcp", _address("100.64.0.1"), _address("10.0.0.3"), 179)


def _with_third_hub(fleet: Fleet) -> Fleet:
    """The same fleet with an hq-hub3 beside hq-hub2 (its own DC, public, management, loopback
    and beacon addresses), serving no store: what a chain adds before moving stores onto it."""
    hq = fleet.spec.sites.hq
    spec_hub = hq.hubs[-1].model_copy(
        update={
            "hostname": "hq-hub3",
            "dc_address": _address("10.0.0.5"),
            "public_address": _address("203.0.113.13"),
            "management_address": _address("10.0.250.13"),
        }
    )
    spec = fleet.spec.model_copy(
        update={"sites": fleet.spec.sites.model_copy(update={"hq": hq.model_copy(update={"hubs": [*hq.hubs, spec_hub]})})}
    )
    hub = fleet.hubs["hq-hub2"].model_copy(
        update={
            "hostname": "hq-hub3",
            "dc_address": _address("10.0.0.5"),
            "public_address": _address("203.0.113.13"),
            "management_address": _address("10.0.250.13"),
            "loopback": _address("10.255.0.13"),
            "beacon": _address("10.255.0.23"),
        }
    )
    return Fleet(spec, {**fleet.hubs, "hq-hub3": hub}, {store.id: store for store in fleet}, fleet.root)


def _acls(text: str) -> dict[str, list[str]]:
    """Each extended ACL's entries, in order, without their numbers."""
    return {
        line.words[3]: [" ".join(child.words[1:]) for child in line.children]
        for line in top(parse(text, ("!",)), "ip", "access-list", "extended")
    }


def _forwards(text: str, packet: Packet) -> bool:
    acl = next(line for line in top(parse(text, ("!",)), "ip", "access-list", "extended") if line.words[3] == DC_PORT_ACL)
    return acl_verdict(acl, packet).forwarded


@pytest.fixture
def configs(monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)
    fleet = on_platform(load_fleet(sample_chain_path()), None, "cisco_xe")
    return render_hub(fleet, HUB).text, render_hub(_with_third_hub(fleet), HUB).text


def _push(device: DeviceState, session: IosSession, lines: tuple[str, ...]) -> list[str]:
    states = []
    for line in lines:
        assert session.handle(line).output == "", line
        states.append(device.running_text())
    return states


def _kept_in_order(states: list[str], before: str, after: str) -> list[str]:
    """The (line, ACL) pairs where an ACL the push changes misses an entry it holds both before
    and after, holds one of neither, or holds two in another order than both sides do."""
    held, wanted = _acls(before), _acls(after)
    broken = []
    for index, state in enumerate(states):
        for name, entries in _acls(state).items():
            if name not in held or name not in wanted or held[name] == wanted[name]:
                continue
            common = [entry for entry in held[name] if entry in wanted[name]]
            if [entry for entry in entries if entry in common] != common or not set(entries) <= {*held[name], *wanted[name]}:
                broken.append(f"{index}: {name}")
    return broken


def test_adding_a_hub_never_stops_transit_through_the_dc_port(configs: tuple[str, str]) -> None:
    before, after = configs
    assert _acls(before)[DC_PORT_ACL] != _acls(after)[DC_PORT_ACL]
    for config in (before, after):
        assert _forwards(config, TRANSIT) and _forwards(config, HUB2_BFD) and not _forwards(config, SPOOFED)
    device = DeviceState(EmulatedDevice(name=HUB, platform="cisco_xe", running_config=before))
    session = IosSession(device)
    session.handle("configure terminal")
    diff = compute_diff(device.running_text(), after, "cisco_xe")
    states = _push(device, session, diff.remediation)
    assert [n for n, state in enumerate(states) if not _forwards(state, TRANSIT)] == []
    assert [n for n, state in enumerate(states) if not _forwards(state, HUB2_BFD)] == []
    assert [n for n, state in enumerate(states) if _forwards(state, SPOOFED)] == []
    assert _kept_in_order(states, before, after) == []
    # The device ends with the intended ACLs, numbers and all: nothing left to send for them.
    assert [line for line in compute_diff(device.running_text(), after, "cisco_xe").remediation if "access-list" in line] == []
    back = _push(device, session, diff.rollback)
    assert [n for n, state in enumerate(back) if not _forwards(state, TRANSIT)] == []
    assert _kept_in_order(back, after, before) == []
    assert _acls(device.running_text()) == _acls(before)


def test_the_acl_is_numbered_apart_first_where_a_gap_is_too_narrow(configs: tuple[str, str]) -> None:
    """Held entries one number apart leave no free number between them: the ACL is first
    numbered apart in place (the same command, a wider step), never deleted and added again."""
    before, after = configs
    tight = re.sub(
        rf"^(ip access-list extended {DC_PORT_ACL}\n)((?: .*\n)*)",
        lambda m: m.group(1) + "".join(f" {n + 1} {line.split(' ', 2)[2]}\n" for n, line in enumerate(m.group(2).splitlines())),
        before,
        flags=re.MULTILINE,
    )
    device = DeviceState(EmulatedDevice(name=HUB, platform="cisco_xe", running_config=tight))
    session = IosSession(device)
    session.handle("configure terminal")
    diff = compute_diff(device.running_text(), after, "cisco_xe")
    spread = [n for n, line in enumerate(diff.remediation) if re.fullmatch(rf"ip access-list resequence {DC_PORT_ACL} (\d+) \1", line) and not line.endswith(" 10 10")]
    assert spread and spread[0] < diff.remediation.index(f"ip access-list extended {DC_PORT_ACL}")
    states = _push(device, session, diff.remediation)
    assert [n for n, state in enumerate(states) if not _forwards(state, TRANSIT)] == []
    assert _kept_in_order(states, tight, after) == []
    assert _acls(device.running_text())[DC_PORT_ACL] == _acls(after)[DC_PORT_ACL]


@pytest.mark.parametrize("gone", ["nw-0001", "nw-0002"])
def test_decommissioning_a_store_keeps_every_other_stores_entries_at_every_line(
    monkeypatch: pytest.MonkeyPatch, gone: str
) -> None:
    """The hub's store filters (FROM-STORES, FROM-CLOUD-*) number each store's entries by its
    place among the hub's stores, 10 apart, as the device numbers them again after a reload
    ("Sequence numbers are not nvgened ... revert to the default sequence starting number and
    increment", Sequence Numbering Behavior). A store that goes moves every later store's entries
    down: deleted and added again, each later store's BGP to the hub was outside FROM-STORES for
    part of the push. Now the entries that go are deleted, and the ACL is renumbered in place."""
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)
    fleet = on_platform(load_fleet(sample_chain_path()), None, "cisco_xe")
    smaller = Fleet(fleet.spec, fleet.hubs, {store.id: store for store in fleet if store.id != gone}, fleet.root)
    before, after = render_hub(fleet, HUB).text, render_hub(smaller, HUB).text
    assert _acls(before)["FROM-STORES"] != _acls(after)["FROM-STORES"]
    device = DeviceState(EmulatedDevice(name=HUB, platform="cisco_xe", running_config=before))
    session = IosSession(device)
    session.handle("configure terminal")
    diff = compute_diff(device.running_text(), after, "cisco_xe")
    assert _kept_in_order(_push(device, session, diff.remediation), before, after) == []
    assert [line for line in compute_diff(device.running_text(), after, "cisco_xe").remediation if "access-list" in line] == []
