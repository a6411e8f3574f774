"""An FRR hub's first push of a fleet change (its `held_over` config) passes the stores it
gains to the other hubs on the DC core's condition, as its config after the change does.

A hub passes its stores' routes (the store block and its stores' loopbacks, `HubBeacon.stores`,
prefix list HUB-STORES) to the other hubs only while it holds the DC core (`neighbor ...
advertise-map HUB-STORES exist-map BEACON-CONDITION`; FRR user guide, BGP, "Advertise Map": the
routes the advertise-map matches are announced only while a route the exist-map matches is in
the BGP table). Route-map HUBS permits every store loopback, so a loopback HUB-STORES leaves out
goes to the other hubs whether or not the hub holds the DC core.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest
from testsupport.rendering import TEST_IPSEC_PSK_SEED, TEST_SECRETS, hub_removed_chain, three_hub_chain

from storestack.devices.render import render_change_hubs, render_hub
from storestack.inventory import Fleet, load_fleet
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
