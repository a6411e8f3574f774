"""The IKE identity of a store link whose store id and link name are long. The inventory takes store
ids and link names of up to 32 characters (`Slug`), and a store link identifies itself to the
hubs as `<id>-<link>.<domain>`: 83 characters for a 32-character id, a 32-character link and the
sample chain's domain, where a FortiOS phase 1 takes a local ID of at most 63 (`config vpn ipsec
phase1-interface`, `localid`: Fortinet's schema of the table, as its Terraform provider for
FortiOS 7.x carries it, `StringLenBetween(0, 63)`). The store's push stopped at its phase 1, and
the tunnel over that link never came up. The identity is now held to 63 characters where the
network intent makes it (a readable head and a hash of the full name before the domain), so the
store sends, and every hub expects, the same identity that FortiOS takes."""

from __future__ import annotations

from pathlib import Path

import pytest
from testsupport.rendering import LONG_LINK_NAME, LONG_STORE_ID, on_platform, renamed_store_chain

from storestack.devices.lint import ConfigFile, run_platform_rules
from storestack.devices.lint.fortinet import _entries, parse
from storestack.devices.render import render_hub, render_store
from storestack.inventory import InventoryError, load_fleet
from storestack.inventory.paths import sample_chain_path

OLD = "nw-0003"  # a store of hq-hub1 and hq-hub2 whose wan2 is a broadband secondary link
LIMIT = 63


def _phase1s(text: str) -> dict[str, tuple[str | None, str | None]]:
    """Each phase 1's (local ID, peer ID)."""
    return {
        entry.name: (entry.first("localid"), entry.first("peerid"))
        for entry in _entries(parse(text), "vpn ipsec phase1-interface")
    }


def test_a_long_store_id_and_link_make_an_ike_identity_fortios_takes(tmp_path: Path) -> None:
    fleet = on_platform(load_fleet(renamed_store_chain(tmp_path, OLD, LONG_STORE_ID, {"wan2": LONG_LINK_NAME})), "fortinet")
    (store,) = (c for c in render_store(fleet, LONG_STORE_ID) if c.role == "edge")
    mine = _phase1s(store.text)
    local_ids = {local for local, _ in mine.values() if local is not None}
    assert local_ids and all(len(local) <= LIMIT for local in local_ids), sorted(local_ids)
    # one identity per link, the long link's still readable, and the short links' as they were
    assert len(local_ids) == 3
    assert f"{LONG_STORE_ID}-wan1.northwind.example" in local_ids
    (long_id,) = local_ids - {f"{LONG_STORE_ID}-wan1.northwind.example", f"{LONG_STORE_ID}-lte1.northwind.example"}
    assert long_id.startswith(f"{LONG_STORE_ID}-broad") and long_id.endswith(".northwind.example")
    # every hub expects what the store sends: its phase 1 to that link names the same peer ID
    for hub in fleet.hubs:
        peer_ids = {peer for _, peer in _phase1s(render_hub(fleet, hub).text).values()}
        assert local_ids <= peer_ids, (hub, sorted(local_ids - peer_ids))
    file = ConfigFile(name=f"{store.name}.cfg", platform="fortinet", role="edge", hostname=store.name, text=store.text)
    assert [f.message for f in run_platform_rules([file]) if f.rule == "fortios-value-length"] == []


def test_the_lint_holds_a_phase1_local_id_to_63_characters() -> None:
    fleet = on_platform(load_fleet(sample_chain_path()), "fortinet")
    (store,) = (c for c in render_store(fleet, OLD) if c.role == "edge")
    line = next(line for line in store.text.splitlines() if line.startswith("        set localid "))

    def findings(text: str) -> list[str]:
        file = ConfigFile(name=f"{store.name}.cfg", platform="fortinet", role="edge", hostname=store.name, text=text)
        return [f.message for f in run_platform_rules([file]) if f.rule == "fortios-value-length"]

    assert findings(store.text) == []
    for length, expected in ((LIMIT, 0), (LIMIT + 1, 1)):
        broken = store.text.replace(line + "\n", f'        set localid "{"i" * length}"\n', 1)
        assert broken != store.text
        assert len(findings(broken)) == expected


def test_a_domain_that_leaves_no_room_for_an_identity_is_refused(tmp_path: Path) -> None:
    root = renamed_store_chain(tmp_path, OLD, LONG_STORE_ID)
    fleet_file = root / "fleet.yaml"
    text = fleet_file.read_text()
    assert "domain: northwind.example\n" in text
    long_domain = ".".join(["d" * 25, "e" * 25, "example"])  # 59 characters
    fleet_file.write_text(text.replace("domain: northwind.example\n", f"domain: {long_domain}\n", 1))
    # the inventory refuses it at its line, before any intent is built (tests/inventory/test_ike_domain_limit.py)
    with pytest.raises(InventoryError, match=r"fleet\.yaml:\d+ organisation\.domain: .*IKE identit"):
        load_fleet(root)
