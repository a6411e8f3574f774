"""A store link that changes from a fixed address to DHCP (or back) turns the FortiOS hub's phase 1
for it from static (`remote-gw`) to dial-up (`type dynamic`). FortiOS fixes a phase 1's type when
it is configured ("The IPsec phase 1 interface type cannot be changed after it is configured ...
a new interface must be configured", Administration Guide 7.4, "Phase 1 configuration"): a push
that changed it in place was refused by the hub and rolled back, and every later push to that hub
failed the same way, leaving the store's link without its tunnel to the hub. The push now deletes
the phase 1 (its phase 2 and its place in the store's zone first) and configures it anew; the way
back does the same in reverse."""

from __future__ import annotations

import ipaddress
import re

import pytest
from testsupport.emulator_push import fortios_holding, send_to_fortios
from testsupport.rendering import on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_hub
from storestack.devices.secret_ledger import HELD_AS_SENT
from storestack.inventory import Fleet, load_fleet, sample_chain_path

HUB = "hq-hub1"
STORE = "nw-0001"
LINK = "nw-0001-wan1"


@pytest.fixture(scope="module")
def fortios() -> Fleet:
    return on_platform(load_fleet(sample_chain_path()), "fortinet")


def _on_dhcp(fleet: Fleet, store_id: str, link_name: str) -> Fleet:
    """The same fleet with one statically addressed store link on DHCP."""
    store = fleet.stores[store_id]
    links = [
        link.model_copy(update={"addressing": "dhcp", "address": None, "gateway": None}) if link.name == link_name else link
        for link in store.wan
    ]
    stores = {each.id: each for each in fleet}
    stores[store_id] = store.model_copy(update={"wan": links})
    return Fleet(fleet.spec, fleet.hubs, stores, fleet.root)


def _swapped(fleet: Fleet, store_id: str) -> Fleet:
    """The same fleet with each link of the store moved between DHCP and a fixed address."""
    store = fleet.stores[store_id]
    links = []
    for index, link in enumerate(store.wan):
        if link.addressing == "static":
            links.append(link.model_copy(update={"addressing": "dhcp", "address": None, "gateway": None}))
        else:
            network = ipaddress.IPv4Network(f"198.18.200.{4 * index}/30")
            address = ipaddress.IPv4Interface((network.network_address + 2, 30))
            links.append(
                link.model_copy(
                    update={"addressing": "static", "address": address, "gateway": network.network_address + 1}
                )
            )
    stores = {each.id: each for each in fleet}
    stores[store_id] = store.model_copy(update={"wan": links})
    return Fleet(fleet.spec, fleet.hubs, stores, fleet.root)



def _phase1(text: str, name: str) -> str:
    block = re.search(r"^config vpn ipsec phase1-interface\n(.*?)^end$", text, re.S | re.M)
    assert block is not None
    entry = re.search(rf'^    edit "{name}"\n(.*?)^    next$', block.group(1), re.S | re.M)
    assert entry is not None, name
    return entry.group(1)


def test_a_store_link_moved_to_dhcp_gets_a_new_dialup_phase1_on_the_hub(fortios: Fleet) -> None:
    static = render_hub(fortios, HUB).text
    dialup = render_hub(_on_dhcp(fortios, STORE, "wan1"), HUB).text
    assert "set remote-gw" in _phase1(static, LINK) and "set type dynamic" not in _phase1(static, LINK)
    assert "set type dynamic" in _phase1(dialup, LINK)

    device, session = fortios_holding(static, HUB)
    held = device.running_text()

    diff = compute_diff(held, dialup, "fortinet", held=HELD_AS_SENT)
    # No line changes the type of the phase 1 the hub holds: it goes, and comes back dial-up.
    send_to_fortios(session, diff.remediation)
    now = device.running_text()
    assert "set type dynamic" in _phase1(now, LINK) and "set remote-gw" not in _phase1(now, LINK)
    assert compute_diff(now, dialup, "fortinet", held=HELD_AS_SENT).in_sync
    # The store's zone holds both of its tunnels again, the new phase 1's tunnel interface its addresses.
    zone = re.search(rf'edit "store-{STORE}"\n\s*set interface ([^\n]*)', now)
    assert zone is not None and f'"{LINK}"' in zone.group(1)

    # The way back: static again, as the hub held it.
    send_to_fortios(session, diff.rollback)
    assert compute_diff(device.running_text(), static, "fortinet", held=HELD_AS_SENT).in_sync


def test_every_link_of_a_store_changing_type_takes_its_zone_and_policies_along_and_back(fortios: Fleet) -> None:
    """Where each of a store's tunnels to the hub is made anew, its zone has no member left for a
    moment: the zone, and the policies that name it alone, go and come back with the tunnels."""
    before = render_hub(fortios, HUB).text
    after = render_hub(_swapped(fortios, STORE), HUB).text
    device, session = fortios_holding(before, HUB)
    diff = compute_diff(device.running_text(), after, "fortinet", held=HELD_AS_SENT)
    assert f'  delete "store-{STORE}"' in diff.remediation
    send_to_fortios(session, diff.remediation)
    assert compute_diff(device.running_text(), after, "fortinet", held=HELD_AS_SENT).in_sync
    send_to_fortios(session, diff.rollback)
    assert compute_diff(device.running_text(), before, "fortinet", held=HELD_AS_SENT).in_sync


def test_the_lab_hub_refuses_a_phase1_type_changed_in_place(fortios: Fleet) -> None:
    """The emulated hub holds FortiOS's rule: a phase 1's type is set when it is made."""
    static = render_hub(fortios, HUB).text
    device, session = fortios_holding(static, HUB)
    lines = ("config vpn ipsec phase1-interface", f'edit "{LINK}"', "set type dynamic")
    replies = [session.handle(line).output for line in lines]
    assert "Command fail" in replies[-1]
    session.handle("abort")
    assert "set type dynamic" not in _phase1(device.running_text(), LINK)
