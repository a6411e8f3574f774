"""A store platform whose guest policy route must name its breakout's gateway
(`GUEST_BREAKOUT_STATIC_ONLY`: Huawei VRP) cannot break guest Wi-Fi out over a DHCP link: the
inventory refuses such a store with the link's file:line and field, and says why."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from storestack.common.platforms import GUEST_BREAKOUT_STATIC_ONLY
from storestack.inventory import load_fleet, sample_chain_path
from storestack.inventory.errors import InventoryError
from storestack.inventory.generate import generate_fleet


def _chain_with_guest_on_nw0005(tmp_path: Path) -> Path:
    """nw-0005 is a VRP store whose only wired link, wan1, is broadband on DHCP; give it guest Wi-Fi."""
    root = tmp_path / "chain"
    shutil.copytree(sample_chain_path(), root)
    store = root / "stores" / "nw-0005.yaml"
    text = store.read_text()
    wan1 = text.split("  - name: lte1")[0]
    assert "platform: huawei_vrp" in text and "guest-wifi" not in text and "addressing" not in wan1
    store.write_text(text.replace("  iot: {vlan: 50}\n", "  iot: {vlan: 50}\n  guest-wifi: {vlan: 40}\n"))
    return root


def test_a_vrp_store_refuses_guest_wifi_over_a_dhcp_breakout(tmp_path: Path) -> None:
    root = _chain_with_guest_on_nw0005(tmp_path)
    with pytest.raises(InventoryError) as caught:
        load_fleet(root)
    lines = [str(issue) for issue in caught.value.issues]
    text = (root / "stores" / "nw-0005.yaml").read_text().splitlines()
    line = next(i for i, t in enumerate(text, 1) if t.strip() == "- name: wan1")
    assert lines == [
        f"stores/nw-0005.yaml:{line} wan[0].addressing: link wan1 is addressed by dhcp and is the guest "
        f"Wi-Fi breakout of a huawei_vrp store: {GUEST_BREAKOUT_STATIC_ONLY['huawei_vrp']}"
    ]


def test_a_static_breakout_or_another_platform_is_accepted(tmp_path: Path) -> None:
    root = _chain_with_guest_on_nw0005(tmp_path)
    store = root / "stores" / "nw-0005.yaml"
    text = store.read_text()
    store.write_text(
        text.replace(
            "    bandwidth_mbps: 500\n",
            "    bandwidth_mbps: 500\n    addressing: static\n    address: 198.51.100.30/30\n    gateway: 198.51.100.29\n",
            1,
        )
    )
    assert load_fleet(root).store("nw-0005").wan[0].addressing == "static"
    store.write_text(text.replace("platform: huawei_vrp", "platform: fortinet"))
    assert load_fleet(root).store("nw-0005").wan[0].addressing == "dhcp"


def test_generated_vrp_stores_with_guest_wifi_break_out_on_a_static_link() -> None:
    generated = generate_fleet(300, seed=7)
    vrp_guest = [
        store
        for store in generated.stores
        if store["appliances"][0]["platform"] == "huawei_vrp" and "guest-wifi" in store["lan"]
    ]
    breakouts = [next(link for link in store["wan"] if link["kind"] in ("fiber", "broadband")) for store in vrp_guest]
    assert {link["kind"] for link in breakouts} == {"fiber", "broadband"}  # both shapes occur
    assert all(link.get("addressing") == "static" for link in breakouts)
