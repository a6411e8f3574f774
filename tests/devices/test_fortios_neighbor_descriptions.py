"""FortiOS BGP neighbour descriptions of a store whose id and link name are long. The inventory takes
store ids and link names of up to 32 characters (`Slug`), and a hub describes each store link's
neighbour `<id> <link> <kind> <role>`, where FortiOS takes up to 63 characters (`config router
bgp`, `config neighbor`, `description`: Fortinet's own schema of the table, as its Terraform
provider carries it for FortiOS 7.x, `StringLenBetween(0, 63)`; the 8.0 CLI reference, "Maximum
length: 63"): a store with a 32-character id and a 32-character broadband secondary link made
85, which the unit refuses, so the hub's push stopped at that neighbour. Such a description is
now cut to 63, and the lint flags a longer one (`fortios-value-length`)."""

from __future__ import annotations

from pathlib import Path

from testsupport.rendering import LONG_LINK_NAME, LONG_STORE_ID, on_platform, renamed_store_chain

from storestack.devices.lint import ConfigFile, run_platform_rules
from storestack.devices.lint.fortinet import _nested, parse
from storestack.devices.render import render_hub, render_store
from storestack.inventory import load_fleet
from storestack.inventory.paths import sample_chain_path

HUB = "hq-hub1"
OLD = "nw-0003"  # a store of hq-hub1 whose wan2 is a broadband secondary link
LIMIT = 63


def _descriptions(text: str) -> list[str]:
    bgp = parse(text).get("router bgp")
    assert bgp is not None
    return [d for neighbor in _nested(bgp.own, "neighbor") for d in neighbor.get("description")]


def _findings(text: str, role: str = "hub", hostname: str = HUB) -> list[str]:
    file = ConfigFile(name=f"{hostname}.cfg", platform="fortinet", role=role, hostname=hostname, text=text)
    return [f.message for f in run_platform_rules([file]) if f.rule == "fortios-value-length"]


def test_a_long_store_id_and_link_describe_the_hubs_neighbours_as_fortios_takes_them(tmp_path: Path) -> None:
    fleet = on_platform(load_fleet(renamed_store_chain(tmp_path, OLD, LONG_STORE_ID, {"wan2": LONG_LINK_NAME})), "fortinet")
    config = render_hub(fleet, HUB).text
    descriptions = _descriptions(config)
    assert all(len(d) <= LIMIT for d in descriptions), [d for d in descriptions if len(d) > LIMIT]
    # the long link's neighbour is still described by its store and the head of its link (the 65
    # characters of both do not fit)
    assert f"{LONG_STORE_ID} {LONG_LINK_NAME}"[:LIMIT] in descriptions, descriptions
    assert _findings(config) == []
    # and the store's own neighbours (`<hub> via <link> <role>`) as well
    (store,) = (c for c in render_store(fleet, LONG_STORE_ID) if c.role == "edge")
    mine = _descriptions(store.text)
    assert any(f"via {LONG_LINK_NAME}" in d for d in mine), mine
    assert all(len(d) <= LIMIT for d in mine), mine
    assert _findings(store.text, "edge", store.name) == []


def test_the_lint_holds_a_neighbour_description_to_63_characters() -> None:
    fleet = on_platform(load_fleet(sample_chain_path()), "fortinet")
    text = render_hub(fleet, HUB).text
    assert _findings(text) == []
    line = next(line for line in text.splitlines() if line.startswith("            set description "))
    for length, expected in ((LIMIT, 0), (LIMIT + 1, 1)):
        broken = text.replace(line + "\n", f'            set description "{"d" * length}"\n', 1)
        assert broken != text
        assert len(_findings(broken)) == expected
