"""A hub's per-store entries keep their ids for the store's life. They used to be numbered by the
store's place in the hub's store list: decommissioning one store renumbered every later store's
FortiOS firewall and local-in policies, and the push to the hub became a rewrite of them all,
which FortiOS refuses half-way (`edit 1002 / set name "CORPORATE-nw-0003"` while policy 1004
still holds that name: a policy's name is unique in its VDOM). Each store's ids now come from
its stable number (`StoreSources.number`, its ASN's offset in `asn.store_range`, which IPAM
pins), so adding or removing a store touches that store's entries only."""

from __future__ import annotations

import re

import pytest
from testsupport.emulator_push import fortios_holding, send_to_fortios
from testsupport.rendering import on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.platforms.fortinet import DRIVER
from storestack.devices.render import render_hub
from storestack.devices.secret_ledger import HELD_AS_SENT
from storestack.inventory import Fleet, load_fleet, sample_chain_path

HUB = "hq-hub1"
GONE = "nw-0002"


@pytest.fixture(scope="module")
def fortios() -> Fleet:
    return on_platform(load_fleet(sample_chain_path()), "fortinet")


def _without(fleet: Fleet, store_id: str) -> Fleet:
    """The same fleet with one store decommissioned: every other store keeps its numbers."""
    stores = {each.id: each for each in fleet if each.id != store_id}
    return Fleet(fleet.spec, fleet.hubs, stores, fleet.root)


def _entries(text: str, section: str) -> dict[str, str]:
    """Each entry of a top-level FortiOS table: its id, and its body."""
    block = re.search(rf"^config {re.escape(section)}\n(.*?)^end$", text, re.S | re.M)
    assert block is not None, section
    return dict(re.findall(r"^    edit (\S+)\n(.*?)^    next$", block.group(1), re.S | re.M))


def _less_zone(body: str, store: str = GONE) -> str:
    """An entry's body without the store's zone among the interfaces it names."""
    return body.replace(f' "store-{store}"', "")



@pytest.mark.parametrize("section", ["firewall policy", "firewall local-in-policy"])
def test_decommissioning_a_store_leaves_every_other_stores_hub_policies_as_they_were(
    fortios: Fleet, section: str
) -> None:
    before = _entries(render_hub(fortios, HUB).text, section)
    after = _entries(render_hub(_without(fortios, GONE), HUB).text, section)
    # What remains is what was there, under the same id (a hub-wide policy less the zone that
    # went); what went names the store that went.
    assert {key: _less_zone(body) for key, body in before.items() if key in after} == after
    gone = [body for key, body in before.items() if key not in after]
    assert gone and all(GONE in body for body in gone), gone


def test_the_push_that_decommissions_a_store_touches_only_its_entries(fortios: Fleet) -> None:
    before = render_hub(fortios, HUB).text
    after = render_hub(_without(fortios, GONE), HUB).text
    device, session = fortios_holding(before, HUB)
    diff = compute_diff(device.running_text(), after, "fortinet", held=HELD_AS_SENT)
    # In the policy tables the store's entries are deleted; no other entry is renamed or moved,
    # a hub-wide one only leaves the store's zone out of its interfaces.
    policies = "".join(
        re.findall(
            r"^config firewall (?:policy|local-in-policy)\n(.*?)^ *end$", "\n".join(diff.remediation) + "\n", re.S | re.M
        )
    )
    assert re.search(r"^\s*delete ", policies, re.M), policies
    changes = re.findall(r"^\s*(?:set|unset|move|rename) .*$", policies, re.M)
    assert all(re.match(r"\s*set (?:srcintf|dstintf) ", line) and GONE not in line for line in changes), changes
    send_to_fortios(session, diff.remediation)
    assert compute_diff(device.running_text(), after, "fortinet", held=HELD_AS_SENT).in_sync
    # The way back puts the store's policies back, in their places, under their ids.
    send_to_fortios(session, diff.rollback)
    for section in ("firewall policy", "firewall local-in-policy"):
        held, wanted = _entries(device.running_text(), section), _entries(before, section)
        assert list(held.items()) == list(wanted.items()), section


def test_a_store_added_to_the_hub_takes_new_ids_and_moves_nobody(fortios: Fleet) -> None:
    """The way in: a store commissioned between others (the decommissioned store back) adds its
    own entries; every other store's entry keeps its id and body."""
    smaller = render_hub(_without(fortios, GONE), HUB).text
    full = render_hub(fortios, HUB).text
    for section in ("firewall policy", "firewall local-in-policy"):
        held, wanted = _entries(smaller, section), _entries(full, section)
        assert {key: _less_zone(body) for key, body in wanted.items() if key in held} == held, section


Tree = dict[str, "Tree"]


def _tree(text: str) -> Tree:
    """A FortiOS config as the tree of its lines (by indentation), each level in no order: what
    it holds, whatever order a table shows its entries in (the first-match tables' order is
    checked on its own), without what the unit gives itself (an interface's SNMP index, which
    a tunnel interface made again gets anew)."""
    root: Tree = {}
    stack: list[tuple[int, Tree]] = [(-1, root)]
    for line in text.splitlines():
        words = line.strip()
        if not words or words.startswith("#") or words in ("next", "end") or DRIVER.is_ignored(line):
            continue
        depth = len(line) - len(line.lstrip())
        while stack[-1][0] >= depth:
            stack.pop()
        node: Tree = stack[-1][1].setdefault(words, {})
        stack.append((depth, node))
    return root


def test_the_way_back_from_a_decommissioning_gives_the_hub_its_whole_config_again(fortios: Fleet) -> None:
    """FortiOS deletes a phase 1's tunnel interface with the phase 1 and makes a bare one with it
    again: the rollback of the push that took the store away restored the phase 1s, but not the
    settings of their interfaces (addresses, BFD, TCP MSS, description), so the store's tunnels,
    back on the hub, carried no traffic. Every entry of every table is as the hub held it before
    the push, and the next diff finds nothing to do."""
    before = render_hub(fortios, HUB).text
    after = render_hub(_without(fortios, GONE), HUB).text
    device, session = fortios_holding(before, HUB)
    held = device.running_text()
    diff = compute_diff(held, after, "fortinet", held=HELD_AS_SENT)
    send_to_fortios(session, diff.remediation)
    # The push itself sends no deletion of a tunnel interface: the phase 1's deletion takes it.
    assert f'edit "{GONE}-wan1"' not in _tree(device.running_text())["config system interface"]
    send_to_fortios(session, diff.rollback)
    restored = _tree(device.running_text())
    tunnel = restored["config system interface"][f'edit "{GONE}-wan1"']
    assert {"set bfd enable", "set tcp-mss 1392"} <= tunnel.keys(), tunnel
    assert restored == _tree(held)
    assert compute_diff(device.running_text(), before, "fortinet", held=HELD_AS_SENT).in_sync


# An IOS-XE hub's HUB-STORES prefix list (the hub-to-hub advertise-map) numbered each store's
# loopback by its place among the hub's stores: decommissioning one store moved every later
# store's entry to another number, deleted at the push's start and added again at its end, and
# for that long each of those loopbacks was outside the advertise-map (advertised to the other
# hubs whatever the exist-map said). A prefix list's `seq` is part of the line the router keeps.


@pytest.fixture(scope="module")
def ios_xe() -> Fleet:
    return on_platform(load_fleet(sample_chain_path()), None, "cisco_xe")


def _hub_stores(text: str) -> dict[int, str]:
    found = re.findall(r"^ip prefix-list HUB-STORES seq (\d+) (.*)$", text, re.M)
    assert found
    return {int(number): entry for number, entry in found}


def test_decommissioning_a_store_leaves_every_other_stores_hub_stores_entry_as_it_was(ios_xe: Fleet) -> None:
    before = _hub_stores(render_hub(ios_xe, HUB).text)
    after = _hub_stores(render_hub(_without(ios_xe, GONE), HUB).text)
    assert {number: entry for number, entry in before.items() if number in after} == after
    gone = [entry for number, entry in before.items() if number not in after]
    assert gone and not set(gone) & set(after.values()), gone
    diff = compute_diff(render_hub(ios_xe, HUB).text, render_hub(_without(ios_xe, GONE), HUB).text, "cisco_xe")
    assert [line for line in diff.remediation if "HUB-STORES seq" in line] == [
        f"no ip prefix-list HUB-STORES seq {number} {entry}" for number, entry in before.items() if number not in after
    ]


def test_a_store_added_to_an_xe_hub_takes_a_new_hub_stores_number_and_moves_nobody(ios_xe: Fleet) -> None:
    smaller = _hub_stores(render_hub(_without(ios_xe, GONE), HUB).text)
    full = _hub_stores(render_hub(ios_xe, HUB).text)
    assert {number: entry for number, entry in full.items() if number in smaller} == smaller
