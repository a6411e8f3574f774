"""The VRP emulator refuses an ACL rule that matches a port without naming TCP or UDP, as an AR
does: Huawei's "rule (advanced ACL view)" gives `source-port` and `destination-port` only in the
command's TCP form (`{ protocol-number | tcp }`) and UDP form (`{ protocol-number | udp }`); its
ICMP form and the form for any other protocol (`gre`, `igmp`, `ip`, `ipinip`, `ospf`, a number)
have neither, and "rule (basic ACL view)" takes no protocol or port at all. Every rendered VRP
config is taken whole (its port rules all name tcp or udp)."""

from __future__ import annotations

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.render import render_hub, render_store
from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.models import EmulatedDevice
from storestack.lab.emulator.profiles.huawei_vrp import VrpSession


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return on_platform(load_fleet(sample_chain_path()), "huawei_vrp")


def _unit() -> tuple[DeviceState, VrpSession]:
    device = DeviceState(EmulatedDevice(name="ar", platform="huawei_vrp"))
    session = VrpSession(device)
    session.handle("system-view")
    return device, session


def _refused(session: VrpSession, lines: list[str]) -> list[tuple[str, str]]:
    """(line, the word the caret points at) of every line the unit refused."""
    refused = []
    for line in lines:
        prompt = session.prompt
        output = session.handle(line).output
        if "Error:" in output:
            caret = next((row for row in output.splitlines() if row.strip() == "^"), "")
            word = (prompt + line)[caret.index("^") :].split(" ", 1)[0] if caret else ""
            refused.append((line.strip(), word))
    return refused


PORTLESS = [
    " rule 5 permit ip destination 10.1.0.0 0.0.255.255 destination-port eq 443",
    " rule 10 permit destination-port eq 80",
    " rule 15 deny icmp source-port eq 7",
    " rule 20 permit gre source 10.0.0.0 0.255.255.255 source-port range 1 2",
    " rule 25 permit 47 destination-port eq 80",
    " rule 30 permit ospf destination-port gt 1024",
]
WITH_PORTS = [
    " rule 35 permit tcp destination 10.1.0.0 0.0.255.255 destination-port eq 443",
    " rule 40 permit udp source-port eq bootpc destination-port eq bootps",
    " rule 45 permit 6 destination-port eq 80",
    " rule 50 permit 17 source-port range 1 2",
    " rule 55 permit ip destination 10.1.0.0 0.0.255.255",
]


def test_a_port_without_tcp_or_udp_is_refused_at_the_port() -> None:
    device, session = _unit()
    refused = _refused(session, ["acl number 3001", *PORTLESS, *WITH_PORTS, "commit"])
    assert [line for line, _ in refused] == [line.strip() for line in PORTLESS]
    assert {word for _, word in refused} == {"destination-port", "source-port"}
    running = device.running_text()
    assert all(line.strip() in running for line in WITH_PORTS)
    assert not any(line.strip() in running for line in PORTLESS)


def test_a_named_acl_refuses_it_too() -> None:
    _, session = _unit()
    assert [line for line, _ in _refused(session, ["acl name APP-X 3402", PORTLESS[0]])] == [PORTLESS[0].strip()]


@pytest.mark.parametrize("shape", ["dual-wan", "mall-guest", "lte-only"])
def test_a_rendered_store_is_taken_whole(fleet: Fleet, shape: str) -> None:
    (config,) = render_store(fleet, SHAPES[shape])
    _, session = _unit()
    lines = [line for line in config.text.splitlines() if line.strip() and not line.startswith(("#", "return"))]
    assert _refused(session, lines) == []


def test_a_rendered_hub_is_taken_whole(fleet: Fleet) -> None:
    config = render_hub(fleet, "hq-hub1")
    _, session = _unit()
    lines = [line for line in config.text.splitlines() if line.strip() and not line.startswith(("#", "return"))]
    assert _refused(session, [*lines, "commit"]) == []
