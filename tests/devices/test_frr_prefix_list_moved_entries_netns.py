"""FRR prefix lists whose entries move to other sequence numbers, against a real FRR 8.4.

FRR takes no entry whose match (action, prefix, ge/le) another entry of the list holds at another
number, and says nothing: "Backward compatibility: don't complain about duplicated values, just
silently accept" (lib/filter_cli.c `ip_prefix_list`, `plist_is_dup`, FRR 8.4.4). A list from
which an entry in the middle goes shifts every entry after it down one number: the line that puts
an entry at its new number came while the entry was still held at its old one, so it was dropped,
and the line for the old number then replaced the entry there: the entry was gone from the list.
With a third hub, hq-hub1's HUB-STORES (the stores' loopbacks it announces to the other hubs)
lost nw-0003's, and a store moving its backup to the new hub lost its primary hub's loopback from
HUB-ROUTES (what it takes from its hubs); the push's verify found the line missing and rolled
back, every time.

Root and FRR: skipped on a developer machine without them, a failure under CI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from frr_instance import assert_remediation_converges, require_frr
from testsupport.rendering import on_platform, three_hub_chain

from storestack.devices.configdiff.diff import compute_diff
from storestack.devices.render import render_hub, render_store
from storestack.inventory import Fleet, load_fleet

ENTRY = re.compile(r"^ip prefix-list (\S+) seq (\d+) (.+)$")


def _cases(fleet: Fleet, tmp_path: Path) -> dict[str, tuple[str, str, str]]:
    """(hostname, config before, config after) of each appliance a third hub changes."""
    two = on_platform(fleet, "frr")
    three = on_platform(load_fleet(three_hub_chain(tmp_path)), "frr")
    (store_before,), (store_after,) = render_store(two, "nw-0002"), render_store(three, "nw-0002")
    return {
        "hub": ("hq-hub1", render_hub(two, "hq-hub1").text, render_hub(three, "hq-hub1").text),
        "store": ("nw-0002-edge1", store_before.text, store_after.text),
    }


def _lists(lines: list[str] | str) -> dict[str, dict[int, str]]:
    found: dict[str, dict[int, str]] = {}
    for line in lines.splitlines() if isinstance(lines, str) else lines:
        if (entry := ENTRY.match(line.strip())) is not None:
            found.setdefault(entry.group(1), {})[int(entry.group(2))] = entry.group(3)
    return found


@pytest.mark.parametrize("case", ["hub", "store"])
def test_no_entry_is_added_while_the_list_holds_its_match_elsewhere(fleet: Fleet, tmp_path: Path, case: str) -> None:
    """Offline: replaying the remediation's prefix-list lines as FRR takes them (an entry whose
    match the list holds at another number is not added) gives the intended lists."""
    _hostname, before, after = _cases(fleet, tmp_path)[case]
    lists = _lists(before)
    moved = [
        name for name, entries in _lists(after).items()
        if any(match in lists.get(name, {}).values() and lists[name].get(number) != match for number, match in entries.items())
    ]
    assert moved, f"{case}: no entry moves to another number: the test checks nothing"
    for line in compute_diff(before, after, "frr").remediation:
        text = line.strip()
        if (deleted := re.fullmatch(r"no ip prefix-list (\S+) seq (\d+)(?: .+)?", text)) is not None:
            lists.get(deleted.group(1), {}).pop(int(deleted.group(2)), None)
        elif (entry := ENTRY.match(text)) is not None:
            name, number, match = entry.group(1), int(entry.group(2)), entry.group(3)
            held = lists.setdefault(name, {})
            if not any(other != number and value == match for other, value in held.items()):
                held[number] = match
    assert {name: entries for name, entries in lists.items() if entries} == _lists(after)


@pytest.mark.parametrize("case", ["hub", "store"])
def test_frr_takes_the_remediation_and_converges(fleet: Fleet, tmp_path: Path, case: str) -> None:
    require_frr()
    hostname, before, after = _cases(fleet, tmp_path)[case]
    assert_remediation_converges(hostname, before, after, tmp_path, case)
