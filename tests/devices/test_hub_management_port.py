"""Where a hub holds its inventory `management_address`, the address the push connects to (inside
HQ's management range, i.e. on the management LAN). The IOS-XE and FortiOS hub configs held only
the loopback and the DC port's address: the config did not say how the push reaches the hub, and
the diff empties a physical interface the intended config lacks, so a push would strip the
out-of-band port's address and cut its own session. Each such hub now holds it on its platform's
out-of-band management port (`HubIntent.management_port`), isolated from forwarding, SSH bound
there; the diff leaves a port that holds it; lint `hub-management-held` finds a config without it."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from testsupport.rendering import edited_sample_chain, on_platform

from storestack.common.platforms import HUB_MANAGEMENT_PORT
from storestack.devices.configdiff import compute_diff
from storestack.devices.errors import RenderError
from storestack.devices.lint import ConfigFile, Finding
from storestack.devices.lint.services import HUB_MANAGEMENT_HELD, hub_management_held
from storestack.devices.render import render_hub
from storestack.devices.views import ViewBuilder
from storestack.inventory import Fleet, InventoryError, load_fleet
from storestack.network.build import NetworkIntent

HUB = "hq-hub1"
ADDRESS = "10.0.250.11"  # the sample chain's hq-hub1 management_address, in 10.0.250.0/24

# What each platform's hub renders for its management port (the sample chain's management
# range is a /24), in order.
RENDERED = {
    "cisco_xe": [
        "vrf definition Mgmt-intf",
        " address-family ipv4",
        " exit-address-family",
        " address-family ipv6",
        " exit-address-family",
        "!",
        "interface GigabitEthernet0",
        " description out-of-band management",
        " vrf forwarding Mgmt-intf",
        f" ip address {ADDRESS} 255.255.255.0",
        " negotiation auto",
        " no shutdown",
    ],
    "fortinet": [
        '    edit "mgmt"',
        '        set vdom "root"',
        f"        set ip {ADDRESS} 255.255.255.0",
        "        set allowaccess ping ssh snmp",
        "        set dedicated-to management",
        '        set description "out-of-band management"',
        "    next",
    ],
}

# The management port as the router shows it, holding the address (IOS-XE: the Mgmt-intf VRF
# the router creates, "Viewing the VRF Configuration" in Cisco's "Using the Management Ethernet
# Interface"), in place of what storestack renders.
RUNNING_PORT = {
    "cisco_xe": (
        "vrf definition Mgmt-intf\n !\n address-family ipv4\n exit-address-family\n !\n"
        " address-family ipv6\n exit-address-family\n!\n"
        f"interface GigabitEthernet0\n vrf forwarding Mgmt-intf\n ip address {ADDRESS} 255.255.255.0\n"
        " negotiation auto"
    ),
    "fortinet": (
        '    edit "mgmt"\n'
        f"        set ip {ADDRESS} 255.255.255.0\n"
        "        set allowaccess ping https ssh\n"
        "        set dedicated-to management\n"
        "    next"
    ),
}


def _hub(fleet: Fleet, platform: str) -> ConfigFile:
    config = render_hub(on_platform(fleet, platform), HUB)  # type: ignore[arg-type]
    return ConfigFile(config.filename, platform, "hub", config.name, config.text)


def _held(fleet: Fleet, config: ConfigFile) -> list[Finding]:
    intent = NetworkIntent(on_platform(fleet, config.platform)).hub(HUB)  # type: ignore[arg-type]
    return list(hub_management_held(config, intent))


def _broken(config: ConfigFile, old: str, new: str) -> ConfigFile:
    assert old in config.text, f"{old!r} is not in the rendered hub"
    return dataclasses.replace(config, text=config.text.replace(old, new))


@pytest.mark.parametrize("platform", sorted(RENDERED))
def test_the_hub_holds_its_management_address_on_its_management_port(fleet: Fleet, platform: str) -> None:
    lines = _hub(fleet, platform).text.splitlines()
    expected = RENDERED[platform]
    start = lines.index(expected[0])
    assert lines[start : start + len(expected)] == expected
    assert any(HUB_MANAGEMENT_PORT[platform] in line for line in expected)  # type: ignore[index]


def test_an_ios_hub_takes_ssh_in_the_management_vrf_and_keeps_its_dc_filter(fleet: Fleet) -> None:
    text = _hub(fleet, "cisco_xe").text
    # SSH through GigabitEthernet0 arrives in VRF Mgmt-intf: without vrf-also every VTY refuses it.
    assert re.findall(r"^line vty .*\n access-class (.*)$", text, re.M) == ["MGMT-HQ in vrf-also"] * 2
    # The DC port still takes management at the loopback only: not at the management address,
    # which it never reaches (another VRF).
    infrastructure = text.split("ip access-list extended HUB-INFRASTRUCTURE\n", 1)[1].split("!\n", 1)[0]
    assert " eq 22" in infrastructure and ADDRESS not in infrastructure


def test_a_store_keeps_its_vty_lines_as_they_were(fleet: Fleet) -> None:
    from storestack.devices.render import render_store

    (config,) = render_store(on_platform(fleet, "cisco_xe"), "nw-0001")
    assert "vrf-also" not in config.text and "Mgmt-intf" not in config.text


def test_the_view_counts_the_management_address_as_held(fleet: Fleet) -> None:
    chain = on_platform(fleet, "cisco_xe")
    view = ViewBuilder(chain).hub_view(HUB)
    assert view.management_port is not None and view.management_port.ifname == "GigabitEthernet0"
    assert view.management_port.address.cidr == f"{ADDRESS}/24"
    assert [net.cidr for net in view.management_hosts] == [f"{view.loopback.ip}/32", f"{ADDRESS}/32"]
    assert [net.cidr for net in view.dc_management_hosts] == [f"{view.loopback.ip}/32"]


@pytest.mark.parametrize("platform", ["huawei_vrp"])
def test_a_platform_without_a_documented_port_renders_none(fleet: Fleet, platform: str) -> None:
    intent = NetworkIntent(on_platform(fleet, platform)).hub(HUB)  # type: ignore[arg-type]
    assert intent.management_port is None and intent.management_interface is None


@pytest.mark.parametrize("platform", sorted(RENDERED))
def test_the_diff_leaves_a_management_port_that_holds_the_address(fleet: Fleet, platform: str) -> None:
    intended = _hub(fleet, platform).text
    # The running config: the hub as rendered, but its management port as the router shows it
    # (taken out of the rendered text, then added as shown).
    # The running config: the hub as rendered, its management port as the router shows it in
    # place of what storestack renders (after the DC port, whether or not it renders one).
    body = intended.replace("\n".join(RENDERED[platform]) + "\n", "")
    after_dc = {"cisco_xe": "\n!\nip access-list extended FROM-STORES\n", "fortinet": '"dc core lan"\n    next\n'}[platform]
    running = body.replace(after_dc, after_dc + RUNNING_PORT[platform] + "\n", 1)
    assert RUNNING_PORT[platform] in running
    diff = compute_diff(running, intended, platform)
    sent = "\n".join(diff.remediation)
    for undone in ("no ip address", "no vrf forwarding", "no negotiation", "no vrf definition Mgmt-intf",
                   "no interface GigabitEthernet0", 'delete "mgmt"', "unset ip", "unset dedicated-to"):  # fmt: skip
        assert undone not in sent, f"the push would send {undone!r}:\n{sent}"
    # Held exactly as rendered, the port is not touched at all.
    same = compute_diff(intended, intended, platform)
    assert same.in_sync


def test_lint_is_clean_on_what_storestack_renders(fleet: Fleet) -> None:
    for platform in sorted(RENDERED):
        assert _held(fleet, _hub(fleet, platform)) == [], platform


def test_lint_flags_an_ios_hub_that_does_not_hold_its_management_address(fleet: Fleet) -> None:
    hub = _hub(fleet, "cisco_xe")
    missing = _broken(hub, "interface GigabitEthernet0\n", "interface GigabitEthernet9\n")
    assert [f.rule for f in _held(fleet, missing)] == [HUB_MANAGEMENT_HELD]
    assert "does not render the management port GigabitEthernet0" in _held(fleet, missing)[0].message
    elsewhere = _broken(hub, f" ip address {ADDRESS} 255.255.255.0\n", " ip address 10.0.250.99 255.255.255.0\n")
    assert ["10.0.250.99/24" in f.message for f in _held(fleet, elsewhere)] == [True]
    forwarding = _broken(hub, " vrf forwarding Mgmt-intf\n", "")
    assert ["not isolated" in f.message for f in _held(fleet, forwarding)] == [True]
    refused = _broken(hub, " access-class MGMT-HQ in vrf-also\n", " access-class MGMT-HQ in\n")
    assert [f.rule for f in _held(fleet, refused)] == [HUB_MANAGEMENT_HELD] * 2


def test_lint_flags_a_fortios_hub_that_does_not_hold_its_management_address(fleet: Fleet) -> None:
    hub = _hub(fleet, "fortinet")
    missing = _broken(hub, '    edit "mgmt"\n', '    edit "port9"\n')
    assert [f.rule for f in _held(fleet, missing)] == [HUB_MANAGEMENT_HELD]
    shared = _broken(hub, "        set dedicated-to management\n", "")
    assert ["not isolated" in f.message for f in _held(fleet, shared)] == [True]


def test_the_inventory_names_another_management_port(tmp_path: Path) -> None:
    root = edited_sample_chain(
        tmp_path, "        platform: frr\n        management_address: 10.0.250.11\n",
        "        platform: cisco_xe\n        management_address: 10.0.250.11\n        management_port: GigabitEthernet0/0/3\n",
    )
    intent = NetworkIntent(load_fleet(root)).hub(HUB)
    assert intent.management_port == "GigabitEthernet0/0/3" and str(intent.management_interface) == f"{ADDRESS}/24"


def test_the_inventory_refuses_a_management_port_the_platform_cannot_render(tmp_path: Path) -> None:
    root = edited_sample_chain(
        tmp_path, "        platform: frr\n        management_address: 10.0.250.11\n",
        "        platform: huawei_vrp\n        management_address: 10.0.250.11\n        management_port: eth9\n",
    )
    with pytest.raises(InventoryError, match=r"management_port.*renders no management port on huawei_vrp"):
        load_fleet(root)


# What an FRR hub's routing batch (`<host>.routing`, `ip -batch`) renders for its management port
# `mgmt`: no VRF, source policy routing (devices/frr.py `hub_management_routing`).
FRR_ROUTING = [
    "link set mgmt up",
    f"address replace {ADDRESS}/24 dev mgmt noprefixroute",
    f"route replace 10.0.250.0/24 dev mgmt src {ADDRESS} table 5400",
]
FRR_RULES = [f"rule add from {ADDRESS} lookup 5400 pref 950", f"rule add from {ADDRESS} unreachable pref 951"]


def _frr_hub(fleet: Fleet) -> ConfigFile:
    config = render_hub(on_platform(fleet, "frr"), HUB)
    companions = {"": config.text, **dict(config.companions)}
    return ConfigFile(config.filename, "frr", "hub", config.name, config.text, companions=companions)


def _frr_broken(config: ConfigFile, suffix: str, old: str, new: str) -> ConfigFile:
    assert old in config.companions[suffix], f"{old!r} is not in the rendered {suffix}"
    return dataclasses.replace(config, companions={**config.companions, suffix: config.companions[suffix].replace(old, new)})


def test_an_frr_hub_holds_its_management_address_on_its_management_port_by_source_routing(fleet: Fleet) -> None:
    """The FRR hub held its management address nowhere (the lab put it on the DC port by hand),
    so outside the lab the push reached no FRR hub. Its routing batch now puts it on `mgmt`
    with the management LAN in a table of its own, and only the address's own packets look it
    up, before every other rule, the rest of them unreachable (never the DC port)."""
    routing = _frr_hub(fleet).companions["routing"].splitlines()
    start = routing.index(FRR_ROUTING[0])
    assert routing[start : start + len(FRR_ROUTING)] == FRR_ROUTING
    rules = [line for line in routing if line.startswith("rule add ")]
    assert rules[:2] == FRR_RULES
    assert min(int(line.rsplit(" ", 1)[1]) for line in rules[2:]) > 951
    # The main table gets no route into the management LAN: nothing else the hub sends or
    # forwards leaves by the port.
    assert not [line for line in routing if "dev mgmt" in line and "table" not in line and "noprefixroute" not in line]


def test_lint_is_clean_on_what_storestack_renders_for_an_frr_hub(fleet: Fleet) -> None:
    assert _held(fleet, _frr_hub(fleet)) == []


def test_lint_flags_an_frr_hub_that_does_not_hold_or_isolate_its_management_address(fleet: Fleet) -> None:
    hub = _frr_hub(fleet)
    missing = _frr_broken(hub, "routing", f"address replace {ADDRESS}/24 dev mgmt", f"address replace {ADDRESS}/24 dev eth9")
    assert ["does not render the management port mgmt" in f.message for f in _held(fleet, missing)] == [True]
    for suffix, old, new in (
        ("routing", " noprefixroute\n", "\n"),  # the LAN in the main table: the hub routes into it
        ("routing", FRR_RULES[1] + "\n", ""),  # the rest of the address's packets out of the DC port
        ("routing", FRR_RULES[0] + "\n", ""),
        ("nftables.conf", '        oifname "mgmt" drop\n', ""),  # forwarded into the management LAN
        ("nftables.conf", '        iifname "mgmt" drop\n', ""),
    ):
        broken = _frr_broken(hub, suffix, old, new)
        assert ["not isolated" in f.message for f in _held(fleet, broken)] == [True], (suffix, old)


@pytest.mark.parametrize(
    "old, new",
    [
        # An accept for the management ranges ahead of the drop: the management LAN reaches the
        # stores and the DC through the hub, though the drop is still in the chain.
        (
            '        iifname "mgmt" drop\n',
            '        iifname "mgmt" ip saddr @hq_management accept\n        iifname "mgmt" drop\n',
        ),
        # The drops after `ct state established,related accept`: a flow's answers cross the port.
        (
            '        iifname "mgmt" drop\n        oifname "mgmt" drop\n',
            "",
        ),
    ],
    ids=["accept-before-drop", "drops-after-established"],
)
def test_lint_reads_the_frr_hub_forward_chain_as_the_kernel_walks_it(fleet: Fleet, old: str, new: str) -> None:
    """The check read the forward chain by its text: a drop anywhere in it counted, whatever
    came first. It now walks the chain (`chain_verdict`) for packets in and out of the port."""
    hub = _frr_hub(fleet)
    broken = _frr_broken(hub, "nftables.conf", old, new)
    if not new:  # put the drops back, after the established flows' accept
        text = broken.companions["nftables.conf"]
        moved = text.replace(
            "        ct state established,related accept\n        # The clouds' answers",
            "        ct state established,related accept\n" + old + "        # The clouds' answers",
            1,
        )
        assert moved != text
        broken = dataclasses.replace(broken, companions={**broken.companions, "nftables.conf": moved})
    assert ['iifname "mgmt" drop' in broken.companions["nftables.conf"]] == [True]
    assert ["not isolated" in f.message for f in _held(fleet, broken)] == [True]


@pytest.mark.parametrize(
    "port, why",
    [
        ("mgmt-0123456789a", "longer than 15 characters"),  # IFNAMSIZ 16, with its NUL
        ("eth0/1", "'/'"),
    ],
)
def test_the_inventory_refuses_a_management_port_linux_cannot_name(tmp_path: Path, port: str, why: str) -> None:
    """An FRR hub's management port is a Linux network device: the kernel refuses a name of 16
    characters or more, and one with a '/' (net/core/dev.c `dev_valid_name`), so the routing
    batch's `link set {port} up` failed on the hub and the push never reached it. The inventory
    said nothing; it now names the file, line and field."""
    root = edited_sample_chain(
        tmp_path, "        platform: frr\n        management_address: 10.0.250.11\n",
        f"        platform: frr\n        management_address: 10.0.250.11\n        management_port: {port}\n",
    )
    with pytest.raises(InventoryError, match=rf"fleet\.yaml:\d+ sites\.hq\.hubs\[0\]\.management_port: .*{port}.*{why}"):
        load_fleet(root)


@pytest.mark.parametrize(
    "platform, port, what",
    [
        ("frr", "dc", "its port on the DC core LAN"),
        ("frr", "lo", "its loopback"),
        ("frr", "nw-0001-wan1", r"its tunnel to store nw-0001 \(wan1\)"),
        ("frr", "aws1-eu-west-1", "its VPN to aws:eu-west-1:1"),
        ("cisco_xe", "GigabitEthernet0/0/0", "its port on the DC core LAN"),
    ],
)
def test_a_management_port_that_is_another_interface_of_the_hub_is_refused(
    tmp_path: Path, platform: str, port: str, what: str
) -> None:
    """`management_port: dc` was taken: the FRR hub's firewall then dropped everything new on
    its DC port before the BGP rules and forwarded nothing in or out of it (every store's
    traffic through HQ), and its routing batch moved the management address there; only
    `devices lint` said so, and a push does not lint. Rendering refuses it, naming the
    interface, before anything is pushed."""
    root = edited_sample_chain(
        tmp_path, "        platform: frr\n        management_address: 10.0.250.11\n",
        f"        platform: {platform}\n        management_address: 10.0.250.11\n        management_port: {port}\n",
    )
    with pytest.raises(RenderError, match=rf"hub hq-hub1: management_port '{re.escape(port)}' is {what}"):
        render_hub(load_fleet(root), HUB)


def test_the_inventory_takes_a_linux_port_name_of_15_characters(tmp_path: Path) -> None:
    root = edited_sample_chain(
        tmp_path, "        platform: frr\n        management_address: 10.0.250.11\n",
        "        platform: frr\n        management_address: 10.0.250.11\n        management_port: mgmt-0123456789\n",
    )
    assert NetworkIntent(load_fleet(root)).hub(HUB).management_port == "mgmt-0123456789"


def test_the_frr_hub_management_port_takes_ssh_and_pings_and_nothing_else(fleet: Fleet) -> None:
    """The input chain took IKE (UDP 500 and 4500) on every port, the management port included:
    a management LAN host reached the hub's IKE daemon at the management address, where the
    port should take SSH from the management ranges alone (and pings, as the DC side)."""
    import ipaddress

    from storestack.devices.lint import Packet
    from storestack.devices.lint.frr import chain_verdict

    nftables = _frr_hub(fleet).companions["nftables.conf"]
    lan_host = ipaddress.IPv4Address("10.0.250.5")
    hub_addresses = [ipaddress.IPv4Address(a) for a in (ADDRESS, "10.255.0.1", "203.0.113.11", "10.0.0.3")]

    def taken(packet: Packet) -> bool:
        return chain_verdict(nftables, "input", packet, "mgmt", from_tunnel=False).forwarded

    assert taken(Packet("tcp", lan_host, ipaddress.IPv4Address(ADDRESS), 22))
    assert taken(Packet("icmp", lan_host, ipaddress.IPv4Address(ADDRESS)))
    refused = [
        (protocol, port, str(address))
        for address in hub_addresses
        for protocol, port in (("udp", 500), ("udp", 4500), ("udp", 161), ("tcp", 179), ("udp", 3784), ("tcp", 22))
        if not (address == ipaddress.IPv4Address(ADDRESS) and port == 22)
        and taken(Packet(protocol, lan_host, address, port))
    ]
    assert refused == []
