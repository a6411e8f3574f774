"""A store leaving a VRP hub never deletes another store's bound filter.

A hub numbers each store's FROM-STORE-<id> filter by the store's place in its list
(`hub_store_filter_numbers`), so a store decommissioned renumbers every store after it. The push
deleted each of those filters while its tunnels were bound to it and defined it again under the
next number ("When you delete an ACL that has been referenced by other services, the services
may be interrupted": AR command reference "acl name", EDOC1100064351): on a hub of many stores,
every later store's tunnels without their filter for a moment. A filter whose rules are the
intended ones stays at the number the device holds it by (`slotted_filters`); drift reads it in
sync.
"""

from __future__ import annotations

import re

from testsupport.rendering import on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_hub
from storestack.inventory import Fleet, load_fleet, sample_chain_path

HUB = "hq-hub1"
_ACL = re.compile(r"(?m)^acl name (\S+) (\d+)$")


def _without(fleet: Fleet, store_id: str) -> Fleet:
    stores = {store.id: store for store in fleet}
    stores[store_id] = stores[store_id].model_copy(update={"state": "decommissioned"})
    return Fleet(fleet.spec, fleet.hubs, stores, fleet.root)


def _unbinding(lines: tuple[str, ...], config: str, name: str) -> list[int]:
    """Where `lines` unbind the inbound filter of an interface `config` binds to `name`: by its
    `undo traffic-filter inbound`, or by deleting the interface whole (a logical one)."""
    bound = set(re.findall(rf"(?m)^(interface \S+)\n(?: .*\n)*? traffic-filter inbound acl name {name}$", config))
    found, header = [], ""
    for i, line in enumerate(lines):
        if not line[:1].isspace():
            header = line
            if line.removeprefix("undo ") in bound and line.startswith("undo "):
                found.append(i)
        elif header in bound and line.strip() == "undo traffic-filter inbound":
            found.append(i)
    return found


def test_a_decommissioned_store_deletes_no_other_store_filter() -> None:
    fleet = on_platform(load_fleet(sample_chain_path()), "huawei_vrp")
    before = render_hub(fleet, HUB).text
    after = render_hub(_without(fleet, "nw-0001"), HUB).text
    held, wanted = dict(_ACL.findall(before)), dict(_ACL.findall(after))
    moved = [name for name in wanted if name.startswith("FROM-STORE-") and held.get(name) != wanted[name]]
    assert moved, "the sample chain renumbers the filters after the store"
    diff = compute_diff(before, after, "huawei_vrp")
    deleted = [line for line in diff.remediation if line.startswith("undo acl name FROM-STORE-")]
    assert deleted == ["undo acl name FROM-STORE-nw-0001"]
    naming = [i for i, line in enumerate(diff.remediation) if "FROM-STORE-nw-0001" in line and not line.startswith("undo acl")]
    # Its tunnels unbind it by direction alone (`undo traffic-filter inbound`, AR command
    # reference "traffic-filter (Interface view)"), a line that does not name it, or go whole.
    unbinding = _unbinding(diff.remediation, before, "FROM-STORE-nw-0001")
    assert unbinding, "the store's tunnels unbind the filter"
    assert diff.remediation.index(deleted[0]) > max(naming + unbinding), "deleted once nothing names it"
    assert not [line for line in diff.remediation if line.startswith("acl name FROM-STORE-")]
    # the way back deletes no store filter either
    assert not [line for line in diff.rollback if line.startswith("undo acl name FROM-STORE-")]
    # the device then holds each filter at its old number, which drift reads as in sync
    held_there = _ACL.sub(lambda m: f"acl name {m.group(1)} {held.get(m.group(1), m.group(2))}", after)
    assert held_there != after
    assert compute_diff(held_there, after, "huawei_vrp").remediation == ()


def test_a_new_filter_never_takes_a_number_a_held_one_keeps() -> None:
    fleet = on_platform(load_fleet(sample_chain_path()), "huawei_vrp")
    gone = _without(fleet, "nw-0001")
    before = render_hub(gone, HUB).text  # the hub without the store
    held_numbers = dict(_ACL.findall(before))
    # held as an older push left them: every store filter one number up
    older = re.sub(
        r"(?m)^acl name (FROM-STORE-\S+) (\d+)$", lambda m: f"acl name {m.group(1)} {int(m.group(2)) + 1}", before
    )
    after = render_hub(fleet, HUB).text  # the store back, first in the list
    diff = compute_diff(older, after, "huawei_vrp")
    defined = dict(_ACL.findall("\n".join(line for line in diff.remediation if not line[:1].isspace())))
    assert "FROM-STORE-nw-0001" in defined
    numbers = {name: int(number) for name, number in _ACL.findall(older)} | {
        name: int(number) for name, number in defined.items()
    }
    assert len(set(numbers.values())) == len(numbers), numbers
    assert held_numbers
