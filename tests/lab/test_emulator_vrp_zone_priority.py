"""VRP: "Each zone has a globally unique security priority" (AR100-AR3600 V200R010 CLI-based
Configuration Guide - Security, "Security Zone and Interzone", EDOC1100034077). A store's
segment zones took their priorities from their place among the store's own segments (90, 80,
... in order), so a segment added to a store (CCTV beside POS, OFFICE and IOT) moved every zone
after it: the push gave the new CCTV zone the priority IOT still held, which the AR refuses, and
the store's change failed. Each segment zone's priority is its kind's, whatever else the store
has: a segment added or removed leaves every other zone as it was, and the push puts the new zone
on the VRP emulator in immediate validation with no line refused.

The same change numbers the new segment's filter (CCTV-IN) where the next segment's (IOT-IN) was:
the push deleted IOT-IN, still bound on the IOT sub-interface, to define CCTV-IN under its
number ("When you delete an ACL that has been referenced by other services, the services may be
interrupted", AR command reference "acl name", EDOC1100064351). The new filter takes a free number
instead, and the filter it would have displaced is deleted last, once nothing binds it."""

from __future__ import annotations

import re
from pathlib import Path

from testsupport.emulator_push import send_to_vrp, vrp_immediate_with
from testsupport.rendering import edited_sample_chain, on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_store
from storestack.devices.secret_ledger import HELD_AS_SENT
from storestack.inventory import load_fleet, sample_chain_path

STORE = "nw-0007"  # POS, OFFICE and IOT: no CCTV


def _priorities(text: str) -> dict[str, int]:
    return {zone: int(priority) for zone, priority in re.findall(r"^firewall zone (\S+)\n priority (\d+)$", text, re.M)}


def _stores(tmp_path: Path) -> tuple[str, str]:
    """STORE's VRP config as it is and with a CCTV segment added."""
    before = render_store(on_platform(load_fleet(sample_chain_path()), "huawei_vrp"), STORE)[0].text
    root = edited_sample_chain(
        tmp_path, "  office: {vlan: 20}\n", "  office: {vlan: 20}\n  cctv: {vlan: 30}\n", f"stores/{STORE}.yaml"
    )
    after = render_store(on_platform(load_fleet(root), "huawei_vrp"), STORE)[0].text
    return before, after


def test_a_segment_added_leaves_every_other_zone_at_its_priority(tmp_path: Path) -> None:
    before, after = _stores(tmp_path)
    old, new = _priorities(before), _priorities(after)
    assert set(new) - set(old) == {"CCTV"}
    assert {zone: new[zone] for zone in old} == old
    assert len(set(new.values())) == len(new)


def test_the_push_of_a_segment_added_takes_every_line_on_the_emulator(tmp_path: Path) -> None:
    before, after = _stores(tmp_path)
    device, session = vrp_immediate_with(before, "nw-0007-edge1")
    running = device.running_text()
    diff = compute_diff(running, after, "huawei_vrp")
    send_to_vrp(session, diff.remediation)
    assert _priorities(device.running_text()) == _priorities(after)
    assert compute_diff(device.running_text(), after, "huawei_vrp", held=HELD_AS_SENT).remediation == ()
    send_to_vrp(session, diff.rollback)
    assert compute_diff(device.running_text(), running, "huawei_vrp", held=HELD_AS_SENT).remediation == ()


def _bound_when_deleted(running: str, lines: tuple[str, ...]) -> list[str]:
    """The ACLs `lines` (a remediation, as sent) delete while an interface still binds them by
    name: each interface's bindings followed from the running config through every line."""
    binding = re.compile(r"^traffic-filter (inbound|outbound) acl name (\S+)$")
    bound: dict[tuple[str, str], str] = {}
    interface = ""
    for line in running.splitlines():
        if line.startswith("interface "):
            interface = line
        elif line[:1].isspace() and (found := binding.match(line.strip())):
            bound[(interface, found[1])] = found[2]
        elif not line[:1].isspace():
            interface = ""
    deleted_while_bound = []
    for line in lines:
        text = line.strip()
        if not line[:1].isspace():
            interface = line if line.startswith("interface ") else ""
        if (gone := re.match(r"^undo (interface \S+)$", line)) is not None:
            bound = {key: acl for key, acl in bound.items() if key[0] != gone[1]}
        elif interface and (found := binding.match(text)):
            bound[(interface, found[1])] = found[2]
        elif (found := re.match(r"^undo acl name (\S+)", line)) and found[1] in bound.values():
            deleted_while_bound.append(found[1])
    return deleted_while_bound


def test_no_segment_filter_is_deleted_while_its_segment_binds_it(tmp_path: Path) -> None:
    """The new segment's filter (CCTV-IN) takes a number no filter of the running config holds:
    IOT-IN, rebuilt under IOT-IN-B, keeps its number until it is deleted last, once nothing binds
    it; given IOT-IN's number, CCTV-IN's definition needed IOT-IN deleted while IOT bound it."""
    before, after = _stores(tmp_path)
    diff = compute_diff(before, after, "huawei_vrp")
    assert _bound_when_deleted(before, diff.remediation) == []
    assert _bound_when_deleted(after, diff.rollback) == []
