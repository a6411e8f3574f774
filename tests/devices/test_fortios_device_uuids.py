"""FortiOS gives every firewall policy, local-in policy and address object a `set uuid` of its
own and shows it in the running config. The config never sets one, so a unit that shows them is
in sync, and no change ever tries to remove one."""

from __future__ import annotations

import re
import uuid

from testsupport.rendering import SHAPES, on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_store
from storestack.inventory import Fleet

TABLES = ("config firewall policy", "config firewall local-in-policy", "config firewall address")


def _with_device_uuids(text: str) -> str:
    """`text` as a FortiGate shows it: a uuid first in each entry of the tables that carry one."""
    lines: list[str] = []
    table: str | None = None
    for line in text.splitlines(keepends=True):
        lines.append(line)
        if not line.startswith(" "):
            table = line.strip() if line.startswith("config ") else None
        elif table in TABLES and re.match(r"^    edit ", line):
            lines.append(f"        set uuid {uuid.uuid4()}\n")
    return "".join(lines)


def test_a_unit_showing_its_own_uuids_is_in_sync(fleet: Fleet) -> None:
    (config,) = render_store(on_platform(fleet, "fortinet"), SHAPES["dual-wan"])
    running = _with_device_uuids(config.text)
    assert running.count("set uuid") > 20
    diff = compute_diff(running, config.text, "fortinet")
    assert diff.in_sync, diff.remediation[:10]
    assert not [line for line in diff.remediation if "uuid" in line]
