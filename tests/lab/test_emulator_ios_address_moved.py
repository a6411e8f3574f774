"""An inside address that moves from one IOS-XE tunnel to another within a push is given up by
the first before the second takes it.

IOS-XE refuses an address whose subnet another active interface of the VRF holds: "a subnet
cannot appear on more than one active interface of the router at a time" (Cisco IOS IP
Configuration Guide, "Configuring IP Addressing", "Assigning Multiple IP Addresses to Network
Interfaces"), with "% <subnet> overlaps with <interface>". A dual-WAN store that goes LTE-only
keeps one tunnel per hub, but each takes another's inside address: Tunnel1 took 100.64.0.7/31
while Tunnel2 held it until its own `ip address` replaced it later in the push, and Tunnel2 took
100.64.255.249/31 while Tunnel4 still held it. The router refused both lines, in a message no
error pattern caught, so the push went on and left the tunnels without their addresses. The
emulator refuses as the router does, the message fails a push, and the push now deletes the
other tunnel's address first; the rollback likewise."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from testsupport.emulator_push import (
    IOS_XE,
    immediate_unit,
    refused,
    shared_subnets,
    typed_keeping_subnets_apart,
)
from testsupport.rendering import lte_only_configs

from storestack.devices.configdiff import compute_diff
from storestack.devices.drivers import driver_for
from storestack.devices.secret_ledger import HeldSecrets


def test_an_address_another_interface_holds_is_refused_until_it_gives_it_up() -> None:
    _, session = immediate_unit(IOS_XE)
    assert refused(IOS_XE, session, ["interface Tunnel2", " ip address 100.64.0.7 255.255.255.254", " exit"]) == []
    taken = ["interface Tunnel1", " ip address 100.64.0.7 255.255.255.254", " exit"]
    assert refused(IOS_XE, session, taken) == ["ip address 100.64.0.7 255.255.255.254: % 100.64.0.6 overlaps with Tunnel2"]
    # A wider subnet that holds it is refused as well; one of another VRF, or beside a shut
    # interface, is taken.
    assert refused(IOS_XE, session, ["interface Tunnel1", " ip address 100.64.0.1 255.255.255.248", " exit"]) == [
        "ip address 100.64.0.1 255.255.255.248: % 100.64.0.0 overlaps with Tunnel2"
    ]
    assert refused(
        IOS_XE,
        session,
        ["interface GigabitEthernet0/0/2", " vrf forwarding INET", " ip address 100.64.0.6 255.255.255.254", " exit"],
    ) == []
    assert refused(IOS_XE, session, ["interface Tunnel2", " no ip address 100.64.0.7 255.255.255.254", " exit", *taken]) == []


def test_the_overlap_message_fails_a_push() -> None:
    driver = driver_for("cisco_xe")
    assert re.search(driver.error_pattern, "% 100.64.0.6 overlaps with Tunnel2\n")


@pytest.fixture
def configs(tmp_path: Path) -> tuple[str, str]:
    return lte_only_configs(tmp_path, "cisco_xe")


@pytest.mark.parametrize("direction", ["lte-only", "dual-wan"])
def test_a_store_whose_links_change_frees_each_tunnel_address_before_another_tunnel_takes_it(
    configs: tuple[str, str], direction: str
) -> None:
    before, after = configs if direction == "lte-only" else configs[::-1]
    device, session = immediate_unit(IOS_XE, before)
    start = device.running_text()
    diff = compute_diff(start, after, "cisco_xe")
    # The moves the push makes: an address one tunnel holds before is another tunnel's after.
    assert shared_subnets(IOS_XE, start) == []
    assert typed_keeping_subnets_apart(IOS_XE, device, session, diff.remediation) == ([], [])
    session.handle("end")
    # Every interface holds the addresses it is meant to, and a second push sends nothing (the
    # secrets it was sent count as held: the router shows them in its own form).
    held = HeldSecrets(everything=True)
    assert _addresses(device.running_text()) == _addresses(after)
    assert _left(device.running_text(), after, held) == ()
    session.handle("configure terminal")
    assert refused(IOS_XE, session, diff.rollback) == []
    session.handle("end")
    assert shared_subnets(IOS_XE, device.running_text()) == []
    assert _addresses(device.running_text()) == _addresses(start)
    assert _left(device.running_text(), start, held) == ()


def _addresses(running: str) -> dict[str, list[str]]:
    """Each interface with the addresses it holds."""
    blocks = re.findall(r"(?m)^interface (\S+)\n((?: .*\n)*)", running)
    return {name: found for name, body in blocks if (found := re.findall(r"(?m)^ ip address (.*)$", body))}


def _left(running: str, intended: str, held: HeldSecrets) -> tuple[str, ...]:
    return compute_diff(running, intended, "cisco_xe", held=held).remediation
