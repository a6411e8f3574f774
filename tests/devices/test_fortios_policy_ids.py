"""A FortiGate store's firewall policies keep their ids when the inventory adds or removes a segment.

They were numbered by place: nw-0006 dropping its CCTV segment sent `edit 6` / `set name
"GUEST-TO-INTERNET-1"` while policy 8 still held that name, and FortiOS holds one name per policy
in a VDOM ("Every policy name must be unique for the current VDOM regardless of policy type",
FortiOS 6.0 Handbook, "Policy names"): the push was refused. Adding an IoT segment turned policy
10 from MGMT-TO-LOOPBACK into IOT-TO-OVERLAY-1 before the new management policy existed, so HQ's
management of the unit was unpermitted for part of the push. Now a segment's policies are added
or deleted alone, the management policy is there at every line, and the push moves the entries
into the intended order. A unit still numbered by place takes the new ids in one push that
FortiOS accepts and that never leaves it without its management policy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from testsupport.emulator_push import fortios_holding, send_to_fortios
from testsupport.rendering import edited_sample_chain, on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_store
from storestack.devices.secret_ledger import HELD_AS_SENT
from storestack.inventory import Fleet, load_fleet
from storestack.lab.emulator.profiles.fortinet import FortiBlock, FortiSession

STORE = "nw-0006"
MGMT = "MGMT-TO-LOOPBACK"


def _rendered(chain: Fleet) -> str:
    ((config,),) = [render_store(on_platform(chain, "fortinet", "frr"), STORE)]
    return config.text


def _edited(tmp_path: Path, old: str, new: str) -> str:
    return _rendered(load_fleet(edited_sample_chain(tmp_path, old, new, f"stores/{STORE}.yaml")))


def _policies(text: str) -> dict[str, str]:
    """Each firewall policy's id by its name, in the order the unit holds them."""
    block = re.search(r"^config firewall policy\n(.*?)^end$", text, re.S | re.M)
    assert block is not None
    return {name: number for number, name in re.findall(r'^    edit (\d+)\n        set name "([^"]+)"$', block.group(1), re.M)}


def _policy_lines(lines: tuple[str, ...]) -> list[str]:
    """The lines a push sends inside `config firewall policy`."""
    sent: list[str] = []
    inside = False
    for line in (line.strip() for line in lines):
        if line == "config firewall policy":
            inside = True
        elif inside and line == "end":
            inside = False
        elif inside:
            sent.append(line)
    return sent


def _held(session: FortiSession) -> list[dict[str, str]]:
    """What each firewall policy the unit would apply now matches and does (its settings but its
    name and the unit's own uuid), in the block being edited where one is open, else in the
    running config."""
    config = session.staged if session.staged is not None else session.device.forti()
    block = config.root.blocks.get("firewall policy", FortiBlock())
    return [
        {key: value for key, value in entry.attributes.items() if key not in ("name", "uuid")}
        for entry in block.entries.values()
    ]


def _management(session: FortiSession) -> dict[str, str]:
    config = session.staged if session.staged is not None else session.device.forti()
    block = config.root.blocks.get("firewall policy", FortiBlock())
    (management,) = [entry for entry in block.entries.values() if entry.attributes.get("name", "").strip('"') == MGMT]
    return {key: value for key, value in management.attributes.items() if key not in ("name", "uuid")}


def _push_keeping_management(session: FortiSession, lines: tuple[str, ...]) -> None:
    """Each line sent (a refused one fails), a policy permitting HQ's management of the unit held
    after every one."""
    whole = _management(session)
    for line in lines:
        send_to_fortios(session, [line])
        assert whole in _held(session), f"management from HQ unpermitted after {line!r}"


def _pushed(before: str, after: str) -> None:
    device, session = fortios_holding(before)
    diff = compute_diff(device.running_text(), after, "fortinet", held=HELD_AS_SENT)
    _push_keeping_management(session, diff.remediation)
    running = device.running_text()
    assert list(_policies(running).items()) == list(_policies(after).items())
    # Pushed twice, nothing changes.
    assert compute_diff(running, after, "fortinet", held=HELD_AS_SENT).remediation == ()
    # Rolled back, the unit is as it was, again never without its management policy.
    _push_keeping_management(session, diff.rollback)
    assert compute_diff(device.running_text(), before, "fortinet", held=HELD_AS_SENT).in_sync
    assert list(_policies(device.running_text()).items()) == list(_policies(before).items())


@pytest.fixture(scope="module")
def before(fleet: Fleet) -> str:
    return _rendered(fleet)


def test_a_removed_segment_deletes_its_own_policies_only(tmp_path: Path, before: str) -> None:
    after = _edited(tmp_path, "  cctv: {vlan: 30}\n", "")
    kept = {name: number for name, number in _policies(before).items() if not name.startswith("CCTV-")}
    assert _policies(after) == kept, "a policy another segment kept changed its id"
    diff = compute_diff(before, after, "fortinet", held=HELD_AS_SENT)
    removed = {number for name, number in _policies(before).items() if name.startswith("CCTV-")}
    assert _policy_lines(diff.remediation) == [f"delete {number}" for number in sorted(removed, reverse=True)]
    _pushed(before, after)


def test_an_added_segment_adds_its_own_policies_only(tmp_path: Path, before: str) -> None:
    after = _edited(tmp_path, "  cctv: {vlan: 30}\n", "  cctv: {vlan: 30}\n  iot: {vlan: 50}\n")
    assert {name: number for name, number in _policies(after).items() if not name.startswith("IOT-")} == _policies(before)
    assert any(name.startswith("IOT-") for name in _policies(after))
    assert list(_policies(after))[-1] == MGMT
    diff = compute_diff(before, after, "fortinet", held=HELD_AS_SENT)
    assert not any(line.startswith("edit") and line.split()[1] in _policies(before).values() for line in _policy_lines(diff.remediation))
    _pushed(before, after)


def test_a_unit_numbered_by_place_takes_the_stable_ids_in_one_accepted_push(before: str) -> None:
    """As a store was rendered before its policies had ids of their own: the same policies
    numbered 1, 2, ... in list order."""
    ids = iter(range(1, 1000))
    block = re.search(r"^config firewall policy\n.*?^end$", before, re.S | re.M)
    assert block is not None
    by_place = block.group(0)
    by_place = re.sub(r"^    edit \d+$", lambda _: f"    edit {next(ids)}", by_place, flags=re.M)
    numbered = before.replace(block.group(0), by_place, 1)
    assert _policies(numbered)[MGMT] == str(len(_policies(before)))
    _pushed(numbered, before)
