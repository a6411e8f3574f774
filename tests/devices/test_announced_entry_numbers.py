"""What a store announces keeps its prefix-list entry numbers when the inventory removes or adds a
segment, on IOS-XE, VRP and FRR, on the store (STORE-PREFIXES) and on its hubs (STORE-<id>), and
on a FortiGate hub (its store's own STORE-PREFIXES: `test_fortios_store_entry_ids.py`).

They were numbered by place (5, 10, ... then the loopback): a segment removed moved every later
entry, the loopback's too, so the push deleted and added again entries of the live list that
filters the store's announcements, and for a moment the store's loopback, its management address,
was not in it. Now the change deletes (or adds) the segment's own entry and touches no other."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pytest
from testsupport.emulator_push import forti_entries
from testsupport.rendering import edited_sample_chain, on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_hub, render_store
from storestack.inventory import Fleet, load_fleet
from storestack.lab.emulator.forticonfig import FortiConfig

STORE = "nw-0001"  # homed on hq-hub1; POS, office, CCTV, guest Wi-Fi and IoT
PLATFORMS = ("cisco_xe", "huawei_vrp", "frr")
# A prefix-list entry (IOS-XE and FRR `ip prefix-list NAME seq N ...`, VRP `ip ip-prefix NAME index N
# ...`) of the store's lists, possibly negated: the list, the number, then what it permits, if said.
ENTRY = re.compile(rf"^(?:no |undo )?ip (?:prefix-list|ip-prefix) (STORE-PREFIXES|STORE-{STORE}) (?:seq|index) (\d+)(.*)$")
Entries = dict[tuple[str, int], str]


def _configs(fleet: Fleet, platform: str) -> dict[str, str]:
    """The store's config and each of its hubs', by hostname."""
    chain = on_platform(fleet, platform)
    ((store,),) = [render_store(chain, STORE)]
    configs = {STORE: store.text}
    for hub in chain.stores[STORE].hubs:
        configs[hub] = render_hub(chain, hub).text
    return configs


@pytest.fixture(scope="module")
def without_iot(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    chain = edited_sample_chain(tmp_path_factory.mktemp("iot"), "  iot: {vlan: 50}\n", "", f"stores/{STORE}.yaml")
    return load_fleet(chain)


def _entries(lines: Iterable[str]) -> Entries:
    """Each entry of the store's lists: (list, number) -> what it permits."""
    return {(found[1], int(found[2])): found[3].strip() for line in lines if (found := ENTRY.match(line.strip()))}


def _spelled(platform: str, cidr: str) -> str:
    """A prefix as the platform's prefix list spells it: VRP `address length`, else CIDR."""
    address, length = cidr.split("/")
    return f"permit {address} {length}" if platform == "huawei_vrp" else f"permit {cidr}"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_removed_segment_touches_its_own_entries_only(fleet: Fleet, without_iot: Fleet, platform: str) -> None:
    iot = _spelled(platform, str(fleet.stores[STORE].segments["iot"].subnet))
    assert "iot" not in without_iot.stores[STORE].segments
    before, after = _configs(fleet, platform), _configs(without_iot, platform)
    assert before.keys() == after.keys() and len(before) == 3, "the store and its two hubs"
    for device in before:
        old, new = _entries(before[device].splitlines()), _entries(after[device].splitlines())
        gone = old.keys() - new.keys()
        assert [old[key] for key in gone] == [iot], f"{device}: {sorted(gone)} are gone, not the IoT entry alone"
        assert not new.keys() - old.keys(), f"{device}: entries {sorted(new.keys() - old.keys())} are new"
        changed = sorted(key for key in old.keys() & new.keys() if old[key] != new[key])
        assert not changed, f"{device}: entries {changed} permit another prefix after the change"
        diff = compute_diff(before[device], after[device], platform)
        for direction, lines in (("push", diff.remediation), ("rollback", diff.rollback)):
            touched = _entries(lines)
            assert touched.keys() == gone, f"{device}: the {direction} touches {sorted(touched)}, not the IoT entry alone"


def _forti_rules(text: str) -> dict[str, str]:
    """The rules of a FortiGate hub's list of the store: id -> its prefix."""
    rules = forti_entries(FortiConfig(text), ("router prefix-list", f"STORE-{STORE}", "rule"))
    return {number: dict(rule)["prefix"] for number, rule in rules.items()}


def _forti_touched(lines: tuple[str, ...]) -> set[str]:
    """The rule ids a FortiOS push edits or deletes in the hub's list of the store."""
    touched: set[str] = set()
    inside = False
    for line in lines:
        if line == f'  edit "STORE-{STORE}"':
            inside = True
        elif inside and line == "  next":
            inside = False
        elif inside and (found := re.match(r"^ {6}(?:edit|delete) (\d+)$", line)):
            touched.add(found[1])
    return touched


def test_a_removed_segment_touches_its_own_rule_only_on_a_fortigate_hub(fleet: Fleet, without_iot: Fleet) -> None:
    subnet = fleet.stores[STORE].segments["iot"].subnet
    iot = f"{subnet.network_address} {subnet.netmask}"
    hub = fleet.stores[STORE].primary_hub
    before = render_hub(on_platform(fleet, "fortinet"), hub).text
    after = render_hub(on_platform(without_iot, "fortinet"), hub).text
    old, new = _forti_rules(before), _forti_rules(after)
    gone = old.keys() - new.keys()
    assert [old[number] for number in gone] == [iot] and not new.keys() - old.keys()
    assert all(old[number] == new[number] for number in new), "a kept rule id holds another prefix"
    diff = compute_diff(before, after, "fortinet")
    assert _forti_touched(diff.remediation) == gone
    assert _forti_touched(diff.rollback) == gone
