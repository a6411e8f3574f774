"""A store platform that sends one FQDN IKE identity for the whole device
(`STORE_ONE_FQDN_IDENTITY`: Huawei VRP, `ike local-name`) identifies its other links by their
static address, so at most one of its links may lack one: the inventory refuses a second with the
link's file:line and field, and says why; the generator never writes such a store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from storestack.common.platforms import STORE_ONE_FQDN_IDENTITY
from storestack.inventory import load_fleet, sample_chain_path
from storestack.inventory.errors import InventoryError
from storestack.inventory.generate import generate_fleet

_FIXED_APN = "    addressing: static\n    address: 198.51.100.42/30\n    gateway: 198.51.100.41\n"


def _chain_with_dhcp_lte_on_nw0005(tmp_path: Path) -> Path:
    """nw-0005 is a VRP store: wan1 on DHCP, lte1 on a fixed-IP APN; take lte1's address away."""
    root = tmp_path / "chain"
    shutil.copytree(sample_chain_path(), root)
    store = root / "stores" / "nw-0005.yaml"
    text = store.read_text()
    assert "platform: huawei_vrp" in text and _FIXED_APN in text
    store.write_text(text.replace(_FIXED_APN, ""))
    return root


def test_a_vrp_store_refuses_a_second_link_without_a_static_address(tmp_path: Path) -> None:
    root = _chain_with_dhcp_lte_on_nw0005(tmp_path)
    with pytest.raises(InventoryError) as caught:
        load_fleet(root)
    text = (root / "stores" / "nw-0005.yaml").read_text().splitlines()
    line = next(i for i, t in enumerate(text, 1) if t.strip() == "- name: lte1")
    assert [str(issue) for issue in caught.value.issues] == [
        f"stores/nw-0005.yaml:{line} wan[1].addressing: link lte1 is addressed by dhcp, and so is link "
        f"wan1 of this huawei_vrp store: {STORE_ONE_FQDN_IDENTITY['huawei_vrp']}"
    ]


def test_another_platform_or_a_decommissioned_store_is_accepted(tmp_path: Path) -> None:
    root = _chain_with_dhcp_lte_on_nw0005(tmp_path)
    store = root / "stores" / "nw-0005.yaml"
    text = store.read_text()
    store.write_text(text.replace("platform: huawei_vrp", "platform: fortinet"))
    assert [link.addressing for link in load_fleet(root).store("nw-0005").wan] == ["dhcp", "dhcp"]
    store.write_text(text.replace("state: active", "state: decommissioned"))
    load_fleet(root)


def test_generated_vrp_stores_keep_one_link_without_a_static_address() -> None:
    generated = generate_fleet(300, seed=7)
    vrp = [store for store in generated.stores if store["appliances"][0]["platform"] == "huawei_vrp"]
    assert len(vrp) > 20
    assert all(sum(1 for link in store["wan"] if link.get("addressing") != "static") <= 1 for store in vrp)
    assert any(len(store["wan"]) > 1 for store in vrp)
