"""An interface address that moves from one VRP interface to another within a push is given up
by the first before the second takes it.

VRP refuses an address on an interface while another interface holds one in the same subnet:
"if another interface is configured with the IP address 20.1.1.2/16, the system prompts an IP
address conflict. The configuration fails" (Huawei S2700 V100R006C00 Configuration Guide - IP
Services, "Features of IP Addresses Supported by the S2700"); VRP8 likewise detects "IP address
conflict" when "the IP address ... of an interface is the same as that of another interface",
by default (NetEngine 8000 "ip address conflict check disable"). A dual-WAN store that goes
LTE-only keeps two tunnels, one per hub, but each takes another's inside address: Tunnel0/0/1
took 100.64.0.7/31 while Tunnel0/0/2, later in the push, still held it, so the AR refused the
line and the push stopped. The emulator refuses it as the AR does; the push now sends the other
interface's deletion first."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from testsupport.emulator_push import (
    VRP,
    immediate_unit,
    refused,
    shared_subnets,
    typed_keeping_subnets_apart,
)
from testsupport.rendering import lte_only_configs

from storestack.devices.configdiff import compute_diff
from storestack.devices.secret_ledger import HeldSecrets
from storestack.lab.emulator.profiles.huawei_vrp import ADDRESS_CONFLICT


def test_an_address_another_interface_holds_is_refused_until_it_gives_it_up() -> None:
    _, session = immediate_unit(VRP)
    assert refused(VRP, session, ["interface Tunnel0/0/2", " ip address 100.64.0.7 255.255.255.254", " quit"]) == []
    taken = ["interface Tunnel0/0/1", " ip address 100.64.0.7 255.255.255.254", " quit"]
    assert refused(VRP, session, taken) == [f"ip address 100.64.0.7 255.255.255.254: {ADDRESS_CONFLICT}"]
    # Another address of the same subnet is refused as well; one of another VPN instance is not.
    assert refused(VRP, session, ["interface Tunnel0/0/1", " ip address 100.64.0.6 255.255.255.254", " quit"]) == [
        f"ip address 100.64.0.6 255.255.255.254: {ADDRESS_CONFLICT}"
    ]
    assert refused(
        VRP,
        session,
        ["interface GigabitEthernet0/0/2", " ip binding vpn-instance INET", " ip address 100.64.0.6 255.255.255.254", " quit"],
    ) == []
    assert refused(VRP, session, ["interface Tunnel0/0/2", " undo ip address 100.64.0.7 255.255.255.254", " quit", *taken]) == []


@pytest.fixture
def configs(tmp_path: Path) -> tuple[str, str]:
    return lte_only_configs(tmp_path, "huawei_vrp")


def test_going_lte_only_frees_each_tunnel_address_before_another_tunnel_takes_it(configs: tuple[str, str]) -> None:
    before, after = configs
    device, session = immediate_unit(VRP, before)
    start = device.running_text()
    diff = compute_diff(start, after, "huawei_vrp")
    # The move the push makes: an address one tunnel holds before is another tunnel's after.
    assert re.search(r"(?m)^interface Tunnel0/0/2\n(?: .*\n)*? ip address 100\.64\.0\.7 ", start)
    assert not re.search(r"(?m)^interface Tunnel0/0/1\n(?: .*\n)*? ip address 100\.64\.0\.7 ", start)
    assert "  ip address 100.64.0.7 255.255.255.254" in diff.remediation
    assert typed_keeping_subnets_apart(VRP, device, session, diff.remediation) == ([], [])
    session.handle("return")
    # In sync (the secrets it was sent count as held: the AR shows them in its own form).
    held = HeldSecrets(everything=True)
    assert compute_diff(device.running_text(), after, "huawei_vrp", held=held).remediation == ()
    session.handle("system-view")
    assert refused(VRP, session, diff.rollback) == []
    session.handle("return")
    assert shared_subnets(VRP, device.running_text()) == []
    assert compute_diff(device.running_text(), start, "huawei_vrp", held=held).remediation == ()
