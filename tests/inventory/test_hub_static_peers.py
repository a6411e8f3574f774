"""A hub platform that binds each store tunnel to the store's address (`HUB_STATIC_PEERS_ONLY`)
cannot serve a store on a DHCP or cellular address: the inventory refuses such a store with the
link's file:line and field, and says why once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from testsupport.rendering import hubs_on_yaml, static_wan_yaml

from storestack.common.platforms import HUB_STATIC_PEERS_ONLY, Platform
from storestack.inventory import load_fleet, sample_chain_path
from storestack.inventory.errors import InventoryError


def _chain(tmp_path: Path, hub1: Platform, hub2: Platform = "frr") -> Path:
    root = tmp_path / "chain"
    shutil.copytree(sample_chain_path(), root)
    hubs_on_yaml(root, hub1, hub2)
    return root


def test_a_vrp_hub_refuses_every_dynamically_addressed_link_it_would_serve(tmp_path: Path) -> None:
    root = _chain(tmp_path, "huawei_vrp")
    with pytest.raises(InventoryError) as caught:
        load_fleet(root)
    lines = [str(issue) for issue in caught.value.issues]
    reason = HUB_STATIC_PEERS_ONLY["huawei_vrp"]
    # nw-0001's LTE link is the second in its list, written without `addressing` (DHCP).
    text = (root / "stores" / "nw-0001.yaml").read_text().splitlines()
    line = next(i for i, t in enumerate(text, 1) if t.strip() == "- name: lte1")
    assert (
        f"stores/nw-0001.yaml:{line} wan[1].addressing: link lte1 is addressed by dhcp, but hub hq-hub1 "
        f"(huawei_vrp) serves this store: {reason}"
    ) in lines
    # Two hubs serve every store (its own and the next as backup): every DHCP link of the chain
    # is refused, each once, and no static one.
    dynamic = sum(
        path.read_text().count("  - name: ") - path.read_text().count("addressing: static")
        for path in (root / "stores").glob("*.yaml")
    )
    assert len([line for line in lines if ".addressing: " in line]) == dynamic > 8
    assert all("wan[0].addressing" not in line for line in lines if "nw-0001" in line)


def test_static_links_make_the_same_chain_valid_and_other_hub_platforms_take_dhcp(tmp_path: Path) -> None:
    root = _chain(tmp_path, "huawei_vrp", "huawei_vrp")
    static_wan_yaml(root)
    fleet = load_fleet(root)
    assert {hub.platform for hub in fleet.hubs.values()} == {"huawei_vrp"}
    assert all(link.addressing == "static" for store in fleet for link in store.wan)
    assert load_fleet(_chain(tmp_path / "other", "cisco_xe", "fortinet")).hubs
