"""On the IOS-XE emulator, the push to an IOS-XE hub of a store that gains a link, a store added and
a store removed, line by line: its Virtual-Template filter FROM-STORES holds, after every line,
every entry the push leaves untouched (each other store tunnel's BGP, ICMP and SLA responder
entries, the denies of the hubs' own addresses, the corporate ranges, the internet), in order.

FROM-STORES lists the store tunnels' control entries by the stores' stable numbers
(`StoreForwarding.control_by_number`), numbered 10, 20, ... by place, as the device numbers an
ACL again after a reload ("Sequence numbers are not nvgened", IP Access List Entry Sequence
Numbering, Security Configuration Guide: Access Control Lists, Cisco IOS XE). A store's new
tunnel therefore goes among the others and moves every later entry up a number. The push never
deletes and adds them again: the new entries go in at free numbers between their neighbours and
`ip access-list resequence FROM-STORES 10 10` numbers the ACL as intended; a store removed has its
own entries deleted by number and the ACL renumbered the same way. The emulator places an entry
by its number as it is typed and refuses a number already taken, as IOS does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from testsupport.rendering import (
    NW_0002_WAN1,
    TEST_IPSEC_PSK_SEED,
    TEST_SECRETS,
    committed,
    edited_sample_chain,
    hubs_on_yaml,
    new_store_file,
    with_lock_of,
)

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_hub
from storestack.inventory import load_fleet
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.models import EmulatedDevice
from storestack.lab.emulator.profiles.cisco_xe import IosSession

HUB = "hq-hub1"
ACL = "FROM-STORES"
_ENTRY = re.compile(r"^(\d+) (.+)$")
# A link nw-0001 (the first store of hq-hub1's FROM-STORES) gains, between its wan1 and lte1.
NW_0001_WAN2 = "  - {name: wan2, kind: broadband, isp: Ziggo Zakelijk, bandwidth_mbps: 200, monthly_cost: 60, priority: 20}\n"


def _chain(tmp_path: Path, old: str = "hq-hub2", new: str = "hq-hub2", file: str = "fleet.yaml") -> Path:
    root = edited_sample_chain(tmp_path, old, new, file)
    hubs_on_yaml(root, "cisco_xe", "cisco_xe")
    return root


def _roots(tmp_path: Path, change: str) -> tuple[Path, Path]:
    """The committed chain before the change and the chain after it, holding its lock."""
    if change == "nw-0002 gains wan1":
        before = committed(_chain(tmp_path / "before", NW_0002_WAN1, "", "stores/nw-0002.yaml"))
        return before, with_lock_of(_chain(tmp_path / "after"), before)
    before = committed(_chain(tmp_path / "before"))
    if change == "nw-0001 gains wan2":
        after = _chain(tmp_path / "after", "  - name: lte1\n", NW_0001_WAN2 + "  - name: lte1\n", "stores/nw-0001.yaml")
    elif change == "nw-0009 added":
        after = _chain(tmp_path / "after")
        (after / "stores" / "nw-0009.yaml").write_text(new_store_file("nw-0009", 1).replace("state: planned", "state: active"))
    elif change == "nw-0003 removed":
        after = _chain(tmp_path / "after")
        (after / "stores" / "nw-0003.yaml").unlink()
    else:
        raise ValueError(change)
    return before, with_lock_of(after, before)


def _acl(running: str) -> list[tuple[int, str]]:
    """FROM-STORES's entries as the device lists them: (number, rule)."""
    block = re.search(rf"^ip access-list extended {ACL}\n((?: .*\n)*)", running, re.MULTILINE)
    assert block is not None
    found = [_ENTRY.match(line.strip()) for line in block.group(1).splitlines()]
    return [(int(entry[1]), entry[2]) for entry in found if entry is not None]


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)


def _pushed_in_place(session: IosSession, device: DeviceState, lines: tuple[str, ...], before: str, after: str) -> None:
    """Send `lines` (the push from `before` to `after`) and read FROM-STORES after each: every
    entry both hold is there, in order, at every line; a new entry stands at its place as soon
    as it is in; no two entries share a number. The push sends for FROM-STORES only the entries
    one side holds, then the renumbering; the device ends with `after`'s ACL, numbers and all."""
    held, wanted = [rule for _, rule in _acl(before)], [rule for _, rule in _acl(after)]
    untouched = [rule for rule in held if rule in wanted]
    assert untouched == [rule for rule in wanted if rule in held]
    gained, lost = [rule for rule in wanted if rule not in held], [rule for rule in held if rule not in wanted]
    sent, inside = [], False
    for line in lines:
        assert session.handle(line).output == "", line
        if not line.startswith(" "):
            inside = line == f"ip access-list extended {ACL}"
        if inside or ACL in line.split():
            sent.append(line.strip())
        state = _acl(device.running_text())
        numbers = [number for number, _ in state]
        assert numbers == sorted(set(numbers)), f"after {line!r} two entries share a number or stand out of order"
        rules = [rule for _, rule in state]
        assert [rule for rule in rules if rule in untouched] == untouched, f"after {line!r} {ACL} lacks or moved an entry"
        assert [rule for rule in rules if rule in wanted] == [rule for rule in wanted if rule in rules], line
    # The new entries at free numbers between their neighbours, the removed ones deleted by their
    # numbers, then the renumbering: no untouched entry deleted or added again, nor the ACL whole.
    edits = [(line.startswith("no "), entry[2]) for line in sent if (entry := _ENTRY.match(line.removeprefix("no "))) is not None]
    assert sorted(rule for deleted, rule in edits if not deleted) == sorted(gained)
    assert sorted(rule for deleted, rule in edits if deleted) == sorted(lost)
    assert sent[-1] == f"ip access-list resequence {ACL} 10 10"
    assert not any(line.startswith(f"no ip access-list extended {ACL}") for line in lines)
    assert _acl(device.running_text()) == _acl(after)
    assert [line for line in compute_diff(device.running_text(), after, "cisco_xe").remediation if ACL in line] == []


@pytest.mark.parametrize("change", ["nw-0002 gains wan1", "nw-0001 gains wan2", "nw-0009 added", "nw-0003 removed"])
def test_from_stores_holds_every_untouched_entry_at_every_line(tmp_path: Path, secrets: None, change: str) -> None:
    before_root, after_root = _roots(tmp_path, change)
    before, after = render_hub(load_fleet(before_root), HUB).text, render_hub(load_fleet(after_root), HUB).text
    held, wanted = {rule for _, rule in _acl(before)}, {rule for _, rule in _acl(after)}
    # The change is one of the store tunnels' control entries (BGP to the hub at least), one way.
    assert any(rule.endswith(" eq bgp") for rule in held ^ wanted)
    assert not (held - wanted and wanted - held)
    device = DeviceState(EmulatedDevice(name=HUB, platform="cisco_xe", running_config=before))
    session = IosSession(device)
    session.handle("configure terminal")
    diff = compute_diff(device.running_text(), after, "cisco_xe")
    _pushed_in_place(session, device, diff.remediation, before, after)
    # The rollback goes back the same way.
    _pushed_in_place(session, device, diff.rollback, after, before)
