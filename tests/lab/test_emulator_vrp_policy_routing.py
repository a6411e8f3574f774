"""The VRP emulator takes policy routing in the form an AR router documents (a traffic behavior's
`redirect ip-nexthop ... track-nqa` in a traffic policy applied inbound) and refuses the forms an
AR has no command for: `ip policy-based-route` on an interface and `track` after a
`policy-based-route` node's next hops. A rendered VRP store or hub goes onto a factory unit whole."""

from __future__ import annotations

import pytest
from testsupport.rendering import SHAPES, on_platform, steered_off_bgp

from storestack.devices.render import render_hub, render_store
from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.models import EmulatedDevice
from storestack.lab.emulator.profiles.huawei_vrp import VrpSession


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    """The sample chain on VRP, its lte-only store the one that steers (`steered_off_bgp`)."""
    return on_platform(steered_off_bgp(load_fleet(sample_chain_path())), "huawei_vrp")


def _unit() -> tuple[DeviceState, VrpSession]:
    device = DeviceState(EmulatedDevice(name="ar", platform="huawei_vrp"))
    session = VrpSession(device)
    session.handle("system-view")
    return device, session


def _send(session: VrpSession, lines: list[str]) -> list[tuple[str, str]]:
    """(line, the line of the output the caret is on) of every line the unit refused."""
    refused = []
    for line in lines:
        output = session.handle(line).output
        if "Error:" in output:
            caret = next((row for row in output.splitlines() if row.strip() == "^"), "")
            refused.append((line.strip(), caret))
    return refused


def test_interface_pbr_and_tracked_policy_nodes_are_refused() -> None:
    _, session = _unit()
    refused = _send(
        session,
        [
            "policy-based-route STEER-POS permit node 10",
            " if-match acl 3202",
            " apply ip-address next-hop 100.64.0.4 track nqa SLA_STRICT tun1",
            " apply ip-address next-hop 100.64.0.4 100.64.0.6",
            "traffic policy LAN-IN-POS",
            "interface GigabitEthernet0/0/0.10",
            " ip policy-based-route STEER-POS",
            " traffic-policy LAN-IN-POS inbound",
        ],
    )
    assert [line for line, _ in refused] == [
        "apply ip-address next-hop 100.64.0.4 track nqa SLA_STRICT tun1",
        "ip policy-based-route STEER-POS",
    ]


def test_a_tracked_redirect_in_an_inbound_policy_is_taken() -> None:
    device, session = _unit()
    lines = [
        "nqa test-instance SLA_STRICT tun1",
        " test-type icmp",
        " destination-address ipv4 100.64.0.4",
        "acl name APP-POS-1 3402",
        " rule 5 permit ip source 10.64.2.0 0.0.0.63",
        "traffic classifier APP-POS-1 operator or",
        " if-match acl 3402",
        "traffic behavior APP-POS-1",
        " remark dscp af31",
        " redirect ip-nexthop 100.64.0.4 track-nqa SLA_STRICT tun1",
        "traffic policy LAN-IN-POS",
        " classifier APP-POS-1 behavior APP-POS-1",
        "interface GigabitEthernet0/0/0.10",
        " traffic-policy LAN-IN-POS inbound",
        "commit",
    ]
    assert _send(session, lines) == []
    running = device.running_text()
    assert (
        "traffic behavior APP-POS-1\n remark dscp af31\n redirect ip-nexthop 100.64.0.4 track-nqa SLA_STRICT tun1\n"
        in running
    )
    assert "interface GigabitEthernet0/0/0.10\n traffic-policy LAN-IN-POS inbound\n" in running


@pytest.mark.parametrize("shape", ["dual-wan", "mall-guest", "lte-only"])
def test_a_rendered_store_is_taken_whole(fleet: Fleet, shape: str) -> None:
    (config,) = render_store(fleet, SHAPES[shape])
    _, session = _unit()
    lines = [
        line for line in config.text.splitlines() if line.strip() and not line.startswith(("#", "return"))
    ]
    assert _send(session, lines) == []


def test_a_rendered_hub_is_taken_whole_with_its_answers_rules(fleet: Fleet) -> None:
    """The hub's rules for TCP answers (`tcp-flag established`, last: BGP's by source port, the
    clouds' answers to the stores' flows by addresses, some by source port) are taken and shown
    back as written, so drift reads them in sync."""
    config = render_hub(fleet, "hq-hub1")
    lines = [line for line in config.text.splitlines() if line.strip() and not line.startswith(("#", "return"))]
    answers = [line for line in lines if line.endswith(" tcp-flag established")]
    assert any(" source-port eq bgp " in line for line in answers)
    assert any(" source-port " not in line for line in answers)
    device, session = _unit()
    assert _send(session, [*lines, "commit"]) == []
    running = device.running_text().splitlines()
    assert all(line in running for line in answers)


@pytest.mark.parametrize("shape", ["lte-only", "mall-guest"])
def test_what_a_line_names_is_defined_before_it(fleet: Fleet, shape: str) -> None:
    """An NQA test comes before the redirect that tracks it and after the tunnel address it
    probes from; a LAN-IN policy before the segment interface that applies it."""
    (config,) = render_store(fleet, SHAPES[shape])
    lines = config.text.splitlines()

    def first(prefix: str) -> int:
        return next(i for i, line in enumerate(lines) if line.startswith(prefix))

    redirects = [line.split() for line in lines if line.startswith(" redirect ip-nexthop ")]
    assert redirects
    for words in redirects:
        test = first(f"nqa test-instance {words[4]} {words[5]}")
        assert test < first(f" redirect ip-nexthop {words[2]} track-nqa {words[4]} {words[5]}")
        end = next(i for i in range(test + 1, len(lines)) if not lines[i].startswith(" "))
        sources = [line.split()[-1] for line in lines[test:end] if line.startswith(" source-address ipv4 ")]
        assert all(first(f" ip address {source} ") < test for source in sources)
    for i, line in enumerate(lines):
        if line.startswith(" traffic-policy ") and line.endswith(" inbound"):
            assert first(f"traffic policy {line.split()[1]}") < i


def test_a_source_interface_not_created_yet_is_refused() -> None:
    """A factory AR has no loopback: NTP's and syslog's source lines that name LoopBack0 are
    refused until the loopback exists, and taken after it."""
    device, session = _unit()
    assert "interface LoopBack0" not in device.running_text()
    early = ["ntp-service source-interface LoopBack0", "info-center loghost source LoopBack0"]
    assert [line for line, _ in _send(session, early)] == early
    assert _send(session, ["interface LoopBack0", " ip address 10.255.0.4 255.255.255.255", *early]) == []
    assert _send(session, ["ntp-service source-interface GigabitEthernet0/0/1"]) == []
