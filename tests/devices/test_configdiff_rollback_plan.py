"""The rollback a push plans (dry-run, `rollback_plan`) is the one a failed push sends.

A failed push rolls back with `rollback_lines(now, backup)`; the plan showed
`compute_diff(...).rollback`, built another way, which negated whole an FRR interface the change
adds (`no interface lte2`): zebra refuses it for an interface the kernel has ("FRR doesn't allow
the operator to deconfigure active interfaces", FRR developer documentation, northbound
retrofitting-configuration-commands), and the rollback sent empties it instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from testsupport.rendering import on_platform

from storestack.devices.configdiff import compute_diff, rollback_lines
from storestack.devices.render import render_store
from storestack.inventory import load_fleet, sample_chain_path
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.models import EmulatedDevice
from storestack.lab.emulator.profiles.fortinet import FortiSession

GOLDEN = Path(__file__).parent / "golden"


def golden(platform: str, name: str) -> str:
    return (GOLDEN / platform / f"{name}.cfg").read_text(encoding="utf-8")


# A store moving between transports (dual-WAN to LTE-only and back: lte2 or wan1 and its VLAN
# appear), a store becoming an AWS store, and a store config planned onto a hub.
MOVES = [("dual-wan", "lte-only"), ("lte-only", "dual-wan"), ("aws", "lte-only"), ("hub", "dual-wan")]


@pytest.mark.parametrize(("running", "intended"), MOVES)
def test_frr_rollback_plan_is_the_rollback_sent(running: str, intended: str) -> None:
    before, after = golden("frr", running), golden("frr", intended)
    plan = compute_diff(before, after, "frr").rollback
    sent = rollback_lines(after, before, "frr")  # what a failed push sends once all applied
    assert plan == sent
    assert not [line for line in plan if line.startswith("no interface ")]


@pytest.mark.parametrize("platform", ["cisco_xe", "fortinet"])
def test_rollback_plan_is_the_rollback_sent_on_other_platforms(platform: str) -> None:
    before, after = golden(platform, "dual-wan"), golden(platform, "lte-only")
    assert compute_diff(before, after, platform).rollback == rollback_lines(after, before, platform)


def test_fortios_rollback_sent_takes_a_factory_unit_back() -> None:
    """A failed first push onto a factory FortiGate rolls back to it: the objects the push made
    in the kept tables (the TACACS+ group, admins, addresses) go too, else deleting the TACACS+
    server a kept group still names is refused ("if objects are referenced elsewhere in the
    configuration then it is generally not possible to delete them", Fortinet Community,
    Troubleshooting Tip: Verifying FortiGate configuration object references, 192096) and the
    push ends in ROLLBACK FAILED."""
    fleet = on_platform(load_fleet(sample_chain_path()), "fortinet")
    intended = render_store(fleet, "nw-0001")[0].text
    device = DeviceState(EmulatedDevice(name="fgt", platform="fortinet"))
    session = FortiSession(device)
    factory = device.running_text()
    for line in compute_diff(factory, intended, "fortinet").remediation:
        assert "Command fail" not in session.handle(line).output, line
    refused = [line for line in rollback_lines(device.running_text(), factory, "fortinet") if "Command fail" in session.handle(line).output]
    assert refused == []
    assert rollback_lines(device.running_text(), factory, "fortinet") == ()
