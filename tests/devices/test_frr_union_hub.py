"""An FRR hub's first push of a fleet change (its `held_over` config) passes the stores it
gains to the other hubs on the DC core's condition, as its config after the change does.

A hub passes its stores' routes (the store block and its stores' loopbacks, `HubBeacon.stores`,
prefix list HUB-STORES) to the other hubs only while it holds the DC core (`neighbor ...
advertise-map HUB-STORES exist-map BEACON-CONDITION`; FRR user guide, BGP, "Advertise Map": the
routes the advertise-map matches are announced only while a route the exist-map matches is in
the BGP table). Route-map HUBS permits every store loopback, so a loopback HUB-STORES leaves out
goes to the other hubs whether or not the hub holds the DC core. And it passes the return packets
of a store whose other hub the change moves to both hubs (`devices/frr.py` `hub_partner_context`).
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest
from testsupport.rendering import TEST_IPSEC_PSK_SEED, TEST_SECRETS, hub_removed_chain, three_hub_chain

from storestack.devices.render import render_change_hubs, render_hub
from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.network.build import NetworkIntent


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)


def _prefix_list(config: str, name: str) -> set[ipaddress.IPv4Network]:
    return {
        ipaddress.IPv4Network(m.group(1))
        for m in re.finditer(rf"(?m)^ip prefix-list {name} seq \d+ permit (\S+)", config)
    }


def _union(before: Fleet, after: Fleet, hub: str) -> dict[str, str]:
    (union,) = render_change_hubs(before, after, [hub])
    return {"cfg": union.text, **dict(union.companions)}


def test_a_union_hub_withdraws_the_loopbacks_of_the_stores_it_gains_with_the_dc_core(tmp_path: Path) -> None:
    """Removing hq-hub2 of three, hq-hub1's first push gains the backup tunnels of the stores
    moving to hq-hub3; their loopbacks go to the other hubs on the DC core's condition, as the
    stores' segments and its own stores' loopbacks do."""
    before, after = load_fleet(three_hub_chain(tmp_path / "before")), load_fleet(hub_removed_chain(tmp_path / "after"))
    held, final = NetworkIntent(before), NetworkIntent(after)
    gained = {t.peer for t in final.hub("hq-hub1").tunnels if t.kind == "store-hub"} - {
        t.peer for t in held.hub("hq-hub1").tunnels if t.kind == "store-hub"
    }
    assert gained, "hq-hub1 gains no store"
    loopbacks = {
        ipaddress.IPv4Network(f"{a.loopback}/32") for store in gained for a in after.stores[store].appliances
    }
    union = _prefix_list(_union(before, after, "hq-hub1")["cfg"], "HUB-STORES")
    assert loopbacks <= _prefix_list(render_hub(after, "hq-hub1").text, "HUB-STORES")
    assert sorted(loopbacks - union) == []
    # Nothing the hub held before goes in its first push.
    assert _prefix_list(render_hub(before, "hq-hub1").text, "HUB-STORES") <= union


def _map(ruleset: str, name: str) -> dict[str, str]:
    found = re.search(rf"map {name} \{{[^}}]*elements = \{{ ([^}}]*) \}}", ruleset)
    return dict(element.split(" : ") for element in found.group(1).split(", ")) if found else {}


def test_a_union_hub_passes_a_moving_stores_return_packets_to_its_other_hub_before_and_after(tmp_path: Path) -> None:
    """Adding hq-hub3, hq-hub2's stores move their backup from hq-hub1 to hq-hub3: until its push
    a store has a tunnel to hq-hub1, from then on to hq-hub3. hq-hub2's first push marks their
    addresses and its tunnels to them for hq-hub1 (0x5303, host 3 of the DC core LAN) and copies
    what it passes to hq-hub3 (10.0.0.5) too; its own stores it shares with hq-hub1 alone get no
    copy, and no config of either fleet copies anything (tests/devices/test_frr_hub_added_partner_netns.py
    sends the packets)."""
    before, after = load_fleet(sample_chain_path()), load_fleet(three_hub_chain(tmp_path))
    moving = next(p for p in NetworkIntent(after).hub("hq-hub2").return_partners if p.hostname == "hq-hub3")
    ruleset = dict(render_change_hubs(before, after, ["hq-hub2"])[0].companions)["nftables.conf"]
    addresses = {str(net) for net in moving.destinations}
    assert _map(ruleset, "partner_copies") == {net: "10.0.0.5" for net in addresses}
    assert {net: mark for net, mark in _map(ruleset, "partner_stores").items() if net in addresses} == {
        net: "0x00005303" for net in addresses
    }
    tunnel_copies = _map(ruleset, "partner_tunnel_copies")
    tunnels = {t.split('"')[1].rsplit("-", 1)[0] for t in tunnel_copies}
    assert tunnels == set(moving.stores) and set(tunnel_copies.values()) == {"10.0.0.5"}
    # From each of those tunnels, its own store's sources and nothing else (the copy leaves before
    # the forward chain's spoofing checks): as the tunnel's `store_tunnel_sources`
    found = re.search(r"set store_tunnel_sources \{[^}]*elements = \{ ([^}]*) \}", ruleset)
    assert found
    own = {element for element in found.group(1).split(", ") if element.split('"')[1] in {t.split('"')[1] for t in tunnel_copies}}
    assert set(tunnel_copies) == own
    for fleet in (before, after):
        for hub in fleet.hubs:
            assert " dup to " not in dict(render_hub(fleet, hub).companions)["nftables.conf"], hub
