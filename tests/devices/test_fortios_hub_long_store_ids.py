"""FortiOS objects named after a store whose id, or a link whose name, is long. The inventory takes store ids
and link names of up to 32 characters (`Slug`), and the hub names each store's prefix list
`STORE-<id>` and each of its links' inbound route-maps `FROM-<id>-<link>`, which FortiOS holds to
35 characters (FortiOS 7.4.3 CLI Reference, "config router prefix-list": `name`, "Maximum length:
35"; 7.4.0 "config router route-map", and the BGP neighbor's `route-map-in`, "Maximum length:
35"): a store id of 30 characters or more made a name the unit refuses, and the hub's push
failed at the store's prefix list. A store's own route-maps are named after its links and hubs
(`HUB-IN-<link>-<hub>`, `HUB-OUT-<link>-<hub>[-DEGRADED]`, `AWS-IN-<link>`) and overflowed the
same way with a link name of 16 characters or more. Such a name is now shortened as the hub's zones and policies
are (a readable head and a hash of the full name, `short_ifname`), and the lint holds route-map,
prefix-list and zone names to FortiOS's limits (a zone's name is 35 characters too, FortiOS
7.4.8 CLI Reference, "config system zone"), where it held a zone to an interface's 15."""

from __future__ import annotations

import shutil
from pathlib import Path

from testsupport.rendering import LONG_STORE_ID, on_platform

from storestack.devices.lint import ConfigFile, run_platform_rules
from storestack.devices.lint.fortinet import _entries, parse
from storestack.devices.render import render_hub, render_store
from storestack.inventory import load_fleet
from storestack.inventory.paths import sample_chain_path

HUB = "hq-hub1"
OLD = "nw-0003"  # a store of hq-hub1 with three links
LIMIT = 35
LINK_STORE = "nw-0001"  # a dual-WAN store with AWS tunnels
LONG_LINK = "fiber-primary-amsterdam-zuidas-1"  # 32 characters, the longest link name taken


def _long_id_chain(tmp_path: Path) -> Path:
    root = tmp_path / "chain"
    shutil.copytree(sample_chain_path(), root)
    stores = root / "stores"
    text = (stores / f"{OLD}.yaml").read_text()
    (stores / f"{OLD}.yaml").unlink()
    (stores / f"{LONG_STORE_ID}.yaml").write_text(text.replace(f"id: {OLD}\n", f"id: {LONG_STORE_ID}\n", 1))
    return root


def _hub_text(tmp_path: Path) -> str:
    fleet = on_platform(load_fleet(_long_id_chain(tmp_path)), "fortinet")
    assert LONG_STORE_ID in fleet.stores
    return render_hub(fleet, HUB).text


def test_a_long_store_id_names_the_hubs_route_filters_as_fortios_takes_them(tmp_path: Path) -> None:
    text = _hub_text(tmp_path)
    parsed = parse(text)
    prefix_lists = {entry.name for entry in _entries(parsed, "router prefix-list")}
    route_maps = {entry.name for entry in _entries(parsed, "router route-map")}
    assert all(len(name) <= LIMIT for name in prefix_lists | route_maps), sorted(prefix_lists | route_maps)
    # the long store's own filters are there, one prefix list and one route-map per link, and
    # what its sessions and route-maps name is what the hub defines
    mine = {name for name in route_maps if name.startswith("FROM-northwind-utrecht")}
    assert len(mine) == 3
    used_maps = {line.split('"')[1] for line in text.splitlines() if "set route-map-in " in line}
    used_lists = {line.split('"')[1] for line in text.splitlines() if "set match-ip-address " in line}
    assert mine <= used_maps <= route_maps
    assert used_lists <= prefix_lists
    assert any(name.startswith("STORE-northwind-utrecht") for name in used_lists)


def test_the_lint_holds_fortios_names_to_their_tables_limits(tmp_path: Path) -> None:
    """The hub with the long store id lints clean (its zone, `store-<id>` shortened to 35
    characters, is a name FortiOS takes); a route-map or prefix list of 36 characters is flagged."""
    text = _hub_text(tmp_path)

    def findings(config: str) -> list[str]:
        file = ConfigFile(name=f"{HUB}.cfg", platform="fortinet", role="hub", hostname=HUB, text=config)
        return [f.message for f in run_platform_rules([file]) if f.rule == "fortios-name-length"]

    assert findings(text) == []
    too_long = "X" * (LIMIT + 1)
    broken = text.replace('    edit "TO-STORES"\n', f'    edit "{too_long}"\n', 1)
    assert broken != text
    (message,) = findings(broken)
    assert too_long in message and "35" in message


def test_a_long_link_name_names_the_stores_route_maps_as_fortios_takes_them(tmp_path: Path) -> None:
    root = tmp_path / "chain"
    shutil.copytree(sample_chain_path(), root)
    store_file = root / "stores" / f"{LINK_STORE}.yaml"
    text = store_file.read_text()
    assert text.count("  - name: wan1\n") == 1
    store_file.write_text(text.replace("  - name: wan1\n", f"  - name: {LONG_LINK}\n"))
    fleet = on_platform(load_fleet(root), "fortinet")
    (config,) = render_store(fleet, LINK_STORE)
    parsed = parse(config.text)
    route_maps = {entry.name for entry in _entries(parsed, "router route-map")}
    prefix_lists = {entry.name for entry in _entries(parsed, "router prefix-list")}
    assert all(len(name) <= LIMIT for name in route_maps | prefix_lists), sorted(route_maps | prefix_lists)
    # every route-map a BGP neighbor names is one the store defines, the long link's included
    used = {
        line.split('"')[1]
        for line in config.text.splitlines()
        if line.strip().startswith(("set route-map-in ", "set route-map-out ", "set route-map-out-preferable "))
    }
    assert used <= route_maps
    assert any(name.startswith("HUB-IN-fiber-primary") for name in used)
    assert any(name.startswith("AWS-IN-fiber-primary") for name in used)
    file = ConfigFile(name="edge.cfg", platform="fortinet", role="edge", hostname=f"{LINK_STORE}-edge1", text=config.text)
    assert [f.message for f in run_platform_rules([file]) if f.rule in ("fortios-name-length", "fortios-undefined-reference")] == []
