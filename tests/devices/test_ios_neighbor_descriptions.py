"""IOS-XE BGP neighbour descriptions of a store whose id and link name are long. The inventory takes
store ids and link names of up to 32 characters (`Slug`), and a hub describes each store link's
neighbour `<id> <link> <kind> <role>`, where IOS-XE takes up to 80 characters ("Cisco IOS in a
Nutshell", `neighbor description`): a store with a 32-character id and a 32-character broadband
secondary link made 85, more than the command takes (what the router does with the rest is not
documented). Such a description is now cut to 80, and the lint flags a longer one
(`cisco-description-length`)."""

from __future__ import annotations

from pathlib import Path

from testsupport.rendering import LONG_LINK_NAME, LONG_STORE_ID, on_platform, renamed_store_chain

from storestack.devices.lint import ConfigFile, run_platform_rules
from storestack.devices.render import render_hub
from storestack.inventory import load_fleet
from storestack.inventory.paths import sample_chain_path

HUB = "hq-hub1"
OLD = "nw-0003"  # a store of hq-hub1 whose wan2 is a broadband secondary link
LIMIT = 80


def _descriptions(text: str) -> list[str]:
    return [
        line.split(" description ", 1)[1]
        for line in text.splitlines()
        if line.startswith(" neighbor ") and " description " in line
    ]


def _findings(text: str) -> list[str]:
    file = ConfigFile(name=f"{HUB}.cfg", platform="cisco_xe", role="hub", hostname=HUB, text=text)
    return [f.message for f in run_platform_rules([file]) if f.rule == "cisco-description-length"]


def test_a_long_store_id_and_link_describe_the_hubs_neighbours_as_ios_xe_takes_them(tmp_path: Path) -> None:
    fleet = on_platform(load_fleet(renamed_store_chain(tmp_path, OLD, LONG_STORE_ID, {"wan2": LONG_LINK_NAME})), "cisco_xe")
    config = render_hub(fleet, HUB).text
    descriptions = _descriptions(config)
    assert all(len(d) <= LIMIT for d in descriptions), [d for d in descriptions if len(d) > LIMIT]
    # the long link's neighbour is still described by its store and link
    assert any(d.startswith(f"{LONG_STORE_ID} {LONG_LINK_NAME} broadband") for d in descriptions), descriptions
    assert _findings(config) == []


def test_the_lint_holds_a_neighbour_description_to_80_characters() -> None:
    fleet = on_platform(load_fleet(sample_chain_path()), "cisco_xe")
    text = render_hub(fleet, HUB).text
    assert _findings(text) == []
    line = next(line for line in text.splitlines() if line.startswith(" neighbor ") and " description " in line)
    head = line.split(" description ", 1)[0]
    for length, expected in ((LIMIT, 0), (LIMIT + 1, 1)):
        broken = text.replace(line + "\n", f"{head} description {'d' * length}\n", 1)
        assert broken != text
        assert len(_findings(broken)) == expected
