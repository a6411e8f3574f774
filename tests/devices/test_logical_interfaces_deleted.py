"""A logical interface the intended config drops is deleted whole; a physical port is emptied.

IOS-XE and VRP create a sub-interface, Loopback, Tunnel, Vlanif from the config and delete it
with `no interface X` / `undo interface X`; a physical port cannot be deleted, so it is emptied.
Emptying a logical interface instead left an empty interface behind (drift for ever) and sent
lines such as `no encapsulation dot1Q 30` the device may refuse."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from storestack.devices.configdiff import compute_diff, rollback_lines

GOLDEN = Path(__file__).parent / "golden"


def _store(platform: str) -> str:
    return (GOLDEN / platform / "dual-wan.cfg").read_text(encoding="utf-8")


def _without_blocks(config: str, headers: tuple[str, ...]) -> str:
    """`config` without the top-level blocks whose first line is one of `headers`."""
    kept: list[str] = []
    dropping = False
    for line in config.splitlines():
        if line and not line[:1].isspace() and line not in ("!", "#"):
            dropping = line in headers
        if not dropping:
            kept.append(line)
    return "\n".join(kept) + "\n"


NEGATION = {"cisco_xe": "no ", "huawei_vrp": "undo "}
SEGMENT = {"cisco_xe": "interface GigabitEthernet0/1/0.30", "huawei_vrp": "interface GigabitEthernet0/0/0.30"}
# The backup link's tunnels and the port they leave from (a store moved to one uplink).
BACKUP = {
    "cisco_xe": ("interface Tunnel4", "interface Tunnel2", "interface GigabitEthernet0/0/1"),
    "huawei_vrp": ("interface Tunnel0/0/4", "interface Tunnel0/0/2", "interface GigabitEthernet0/0/2"),
}


def _inside(push: tuple[str, ...], header: str) -> list[str]:
    """The lines `push` sends inside block `header`."""
    found: list[str] = []
    inside = False
    for line in push:
        if not line[:1].isspace():
            inside = line == header
        elif inside:
            found.append(line.strip())
    return found


@pytest.mark.parametrize("platform", ["cisco_xe", "huawei_vrp"])
def test_a_removed_segment_deletes_its_sub_interface_whole(platform: str) -> None:
    running = _store(platform)
    intended = _without_blocks(running, (SEGMENT[platform],))
    diff = compute_diff(running, intended, platform)
    assert NEGATION[platform] + SEGMENT[platform] in diff.remediation
    # Never entered to be emptied line by line (`no encapsulation dot1Q 30` first).
    assert SEGMENT[platform] not in diff.remediation
    # Once pushed, the appliance holds exactly the intended config: no empty sub-interface left.
    assert compute_diff(intended, intended, platform).in_sync
    # The rollback builds it again, whole.
    assert SEGMENT[platform] in diff.rollback
    assert any(re.search(r"dot1[qQ] .*30$", line.strip()) for line in _inside(diff.rollback, SEGMENT[platform]))
    # And the rollback of a push that added the segment deletes it whole.
    back = rollback_lines(running, intended, platform)
    assert back == (NEGATION[platform] + SEGMENT[platform],)


@pytest.mark.parametrize("platform", ["cisco_xe", "huawei_vrp"])
def test_a_store_left_with_one_uplink_deletes_the_backup_tunnels_and_empties_the_port(platform: str) -> None:
    running = _store(platform)
    *tunnels, port = BACKUP[platform]
    intended = _without_blocks(running, BACKUP[platform])
    diff = compute_diff(running, intended, platform)
    for tunnel in tunnels:
        assert NEGATION[platform] + tunnel in diff.remediation
        assert tunnel not in diff.remediation
    # The physical port cannot be deleted: it is emptied, never deleted.
    assert NEGATION[platform] + port not in diff.remediation
    assert port in diff.remediation and _inside(diff.remediation, port)
    # Whatever a tunnel named (its IPsec profile, its ACL, its zone) goes after the tunnel.
    first_tunnel_gone = min(diff.remediation.index(NEGATION[platform] + tunnel) for tunnel in tunnels)
    for i, line in enumerate(diff.remediation):
        if re.match(rf"{NEGATION[platform]}(?:crypto ipsec profile|ipsec profile|ip access-list|acl)\b", line):
            assert i > first_tunnel_gone, line
    # The rollback brings the tunnels back whole and refills the port.
    for header in BACKUP[platform]:
        assert header in diff.rollback
        assert _inside(diff.rollback, header)
