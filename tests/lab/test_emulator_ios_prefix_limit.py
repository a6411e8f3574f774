"""On the IOS-XE emulator, the push that adds a store to an IOS-XE hub changes the prefix limit
of the hub's session to the other hub (it carries every store's prefixes): the new limit is sent
alone, replacing the old one, so the session holds a limit at every line of the push. Sent as
`no neighbor X maximum-prefix OLD` first, the session had none until the new line came."""

from __future__ import annotations

import re

import pytest
from testsupport.rendering import TEST_IPSEC_PSK_SEED, TEST_SECRETS, on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_hub
from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.models import EmulatedDevice
from storestack.lab.emulator.profiles.cisco_xe import IosSession

HUB = "hq-hub1"
ADDED = "nw-0002"
_LIMIT = re.compile(r"^ +neighbor (\S+) maximum-prefix (\d+) ", re.MULTILINE)


def _limits(text: str) -> dict[str, list[int]]:
    """Each neighbour's or peer group's prefix limits, as the config holds them."""
    limits: dict[str, list[int]] = {}
    for peer, maximum in _LIMIT.findall(text):
        limits.setdefault(peer, []).append(int(maximum))
    return limits


@pytest.fixture
def configs(monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)
    fleet = on_platform(load_fleet(sample_chain_path()), None, "cisco_xe")
    without = Fleet(fleet.spec, fleet.hubs, {store.id: store for store in fleet if store.id != ADDED}, fleet.root)
    return render_hub(without, HUB).text, render_hub(fleet, HUB).text


def test_a_changed_prefix_limit_is_replaced_never_removed_first(configs: tuple[str, str]) -> None:
    before, after = configs
    held, wanted = _limits(before), _limits(after)
    changed = {peer for peer in held.keys() & wanted.keys() if held[peer] != wanted[peer]}
    assert changed, "adding a store changes no prefix limit of the hub"
    device = DeviceState(EmulatedDevice(name=HUB, platform="cisco_xe", running_config=before))
    session = IosSession(device)
    session.handle("configure terminal")
    for direction, (start, end) in (("push", (before, after)), ("rollback", (after, before))):
        lines = compute_diff(device.running_text(), end, "cisco_xe").remediation
        assert [line for line in lines if re.match(r"^ *no neighbor \S+ maximum-prefix ", line)] == [], direction
        for index, line in enumerate(lines):
            assert session.handle(line).output == "", (direction, line)
            state = _limits(device.running_text())
            # Every session limited before and after holds exactly one limit at every line.
            assert [peer for peer in held.keys() & wanted.keys() if len(state.get(peer, [])) != 1] == [], (direction, index, line)
        assert _limits(device.running_text()) == _limits(end), direction
        assert [line for line in compute_diff(device.running_text(), end, "cisco_xe").remediation if "maximum-prefix" in line] == []
        assert _limits(start) != _limits(end)
