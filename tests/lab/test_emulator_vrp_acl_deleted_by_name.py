"""VRP: a named ACL is deleted by its name alone, `undo acl name acl-name` (AR command reference
"acl name", EDOC1100064351; the campus reference gives `undo acl ipv6 name acl6-name` alike),
never as its header negated whole (`undo acl name NAME NUMBER`). A segment removed from a store
(CCTV) drops its flow ACL (CCTV-TO-OVERLAY) and renumbers the flows after it (IOT-TO-OVERLAY); the
push deleted both as `undo acl name NAME NUMBER`, a form no reference gives, which the VRP
emulator refuses as it does the other undocumented deletions: the store's change failed at its
first deletion. Every such deletion now names the ACL alone, and the push and its rollback are
taken whole on the emulator in immediate validation."""

from __future__ import annotations

import re
from pathlib import Path

from testsupport.emulator_push import send_to_vrp, vrp_immediate_with
from testsupport.rendering import edited_sample_chain, on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_store
from storestack.devices.secret_ledger import HELD_AS_SENT
from storestack.inventory import load_fleet, sample_chain_path

STORE = "nw-0002"  # POS, OFFICE, CCTV and IOT


def _stores(tmp_path: Path) -> tuple[str, str]:
    """STORE's VRP config as it is and with its CCTV segment removed."""
    before = render_store(on_platform(load_fleet(sample_chain_path()), "huawei_vrp"), STORE)[0].text
    root = edited_sample_chain(tmp_path, "  cctv: {vlan: 30}\n", "", f"stores/{STORE}.yaml")
    after = render_store(on_platform(load_fleet(root), "huawei_vrp"), STORE)[0].text
    return before, after


def test_every_acl_the_push_deletes_is_named_alone(tmp_path: Path) -> None:
    before, after = _stores(tmp_path)
    diff = compute_diff(before, after, "huawei_vrp")
    for lines in (diff.remediation, diff.rollback):
        deleted = [line.strip() for line in lines if re.match(r"^\s*undo acl name ", line)]
        assert "undo acl name CCTV-TO-OVERLAY" in [line.strip() for line in diff.remediation]
        assert [line for line in deleted if len(line.split()) != 4] == [], deleted


def test_the_push_and_its_rollback_are_taken_whole_on_the_emulator(tmp_path: Path) -> None:
    before, after = _stores(tmp_path)
    device, session = vrp_immediate_with(before, "nw-0002-edge1")
    running = device.running_text()
    diff = compute_diff(running, after, "huawei_vrp")
    send_to_vrp(session, diff.remediation)
    assert compute_diff(device.running_text(), after, "huawei_vrp", held=HELD_AS_SENT).remediation == ()
    send_to_vrp(session, diff.rollback)
    assert compute_diff(device.running_text(), running, "huawei_vrp", held=HELD_AS_SENT).remediation == ()
