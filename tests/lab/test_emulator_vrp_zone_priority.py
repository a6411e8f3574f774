"""VRP: "Each zone has a globally unique security priority" (AR100-AR3600 V200R010 CLI-based
Configuration Guide - Security, "Security Zone and Interzone", EDOC1100034077). A store's
segment zones took their priorities from their place among the store's own segments (90, 80,
... in order), so a segment added to a store (CCTV beside POS, OFFICE and IOT) moved every zone
after it: the push gave the new CCTV zone the priority IOT still held, which the AR refuses, and
the store's change failed. Each segment zone's priority is its kind's, whatever else the store
has: a segment added or removed leaves every other zone as it was, and the push puts the new zone
on the VRP emulator in immediate validation with no line refused."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from testsupport.emulator_push import send_to_vrp, vrp_immediate_with
from testsupport.rendering import on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_store
from storestack.devices.secret_ledger import HELD_AS_SENT
from storestack.inventory import load_fleet, sample_chain_path

STORE = "nw-0007"  # POS, OFFICE and IOT: no CCTV


def _priorities(text: str) -> dict[str, int]:
    return {zone: int(priority) for zone, priority in re.findall(r"^firewall zone (\S+)\n priority (\d+)$", text, re.M)}


def _stores(tmp_path: Path) -> tuple[str, str]:
    """STORE's VRP config as it is and with a CCTV segment added."""
    root = tmp_path / "chain"
    shutil.copytree(sample_chain_path(), root)
    before = render_store(on_platform(load_fleet(root), "huawei_vrp"), STORE)[0].text
    path = root / "stores" / f"{STORE}.yaml"
    text = path.read_text()
    assert "  office: {vlan: 20}\n" in text and "cctv" not in text
    path.write_text(text.replace("  office: {vlan: 20}\n", "  office: {vlan: 20}\n  cctv: {vlan: 30}\n"))
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
