"""Where a hub takes management from HQ's management ranges on its DC port. The DC port also
carries the internet's packets to the hub's public IKE endpoint, which the DC edge routes to the
hub: a VRP hub's HUB-WAN-IN permitted SSH and SNMP from the management ranges to any address, so
an internet host sending as a management host had the hub's SYN-ACK or SNMP answer reflected at
HQ's management hosts (the vty ACL limits who logs in, not who gets the answer). Management is
taken at the hub's management addresses only (its loopback, as an IOS-XE hub's and a FortiOS
hub's), read from the rendered filter as the router applies it."""

from __future__ import annotations

import ipaddress

from testsupport.rendering import on_platform

from storestack.devices.lint import ConfigFile, Packet, huawei_vrp
from storestack.devices.lint.linetree import parse, top
from storestack.devices.render import render_hub
from storestack.devices.views import ViewBuilder
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent


def test_a_vrp_hub_takes_management_at_its_loopback_only(fleet: Fleet) -> None:
    chain = on_platform(fleet, "huawei_vrp")
    config = render_hub(chain, "hq-hub1")
    root = parse(config.text, ("#",))
    (acl,) = (line for line in top(root, "acl", "name") if line.words[2] == "HUB-WAN-IN")
    intent = NetworkIntent(chain).hub("hq-hub1")
    dc_address = chain.hubs["hq-hub1"].dc_address
    assert f" ip address {dc_address} " in config.text
    manager = intent.management.ranges[0].network_address + 5

    def passes(destination: ipaddress.IPv4Address, protocol: str, port: int) -> bool:
        return huawei_vrp.acl_verdict(acl, Packet(protocol, manager, destination, port)).forwarded

    for protocol, port in (("tcp", 22), ("udp", 161)):
        assert passes(intent.loopback, protocol, port), f"{protocol}/{port} to the loopback"
        # The public IKE endpoint, which the internet reaches on this port, and the DC address.
        for other in (intent.public_address, dc_address):
            assert not passes(other, protocol, port), f"{protocol}/{port} from the management ranges to {other}"
    # The inventory's management address is no address of a VRP hub (no interface holds it):
    # nothing to the hub there, and no transit permit for it either.
    assert f" {intent.management_address} " not in config.text
    assert not passes(intent.management_address, "tcp", 22)


def test_lint_flags_a_vrp_hub_taking_management_at_its_public_endpoint(fleet: Fleet) -> None:
    """`vrp-hub-management-bound`: the pre-fix filter (management permits naming no destination)
    is caught, at the public IKE endpoint and the DC address; the rendered one is clean."""
    rendered = render_hub(on_platform(fleet, "huawei_vrp"), "hq-hub1")
    config = ConfigFile(rendered.filename, "huawei_vrp", "hub", rendered.name, rendered.text)

    def messages(text: str) -> list[str]:
        broken = ConfigFile(config.name, config.platform, config.role, config.hostname, text)
        return [f.message for f in huawei_vrp.hub_management_bound(broken)]

    assert messages(config.text) == []
    loopback = " source 10.0.250.0 0.0.0.255 destination 10.255.0.1 0 destination-port eq "
    assert config.text.count(loopback) == 2
    found = messages(config.text.replace(loopback, " source 10.0.250.0 0.0.0.255 destination-port eq "))
    assert len(found) == 1, found
    assert "203.0.113.11" in found[0] and "tcp/22" in found[0] and "udp/161" in found[0], found


def test_an_frr_hub_takes_ssh_where_its_view_says_it_is_managed(fleet: Fleet) -> None:
    """One home for a hub's management addresses (`HubView.management_hosts`): an FRR hub holds
    the inventory's management address on its management port (`HubView.management_port`), so
    the view names it beside the loopback; the input chain takes SSH at the loopback on the DC
    port (`dc_management_hosts`) and at the management address on the management port."""
    chain = on_platform(fleet, "frr")
    view = ViewBuilder(chain).hub_view("hq-hub1")
    intent = NetworkIntent(chain).hub("hq-hub1")
    hosts = [host.address for host in view.management_hosts]
    assert hosts == [str(intent.loopback), str(intent.management_address)]
    assert [host.address for host in view.dc_management_hosts] == [str(intent.loopback)]
    nftables = dict(render_hub(chain, "hq-hub1").companions)["nftables.conf"]
    assert f'iifname "{view.dc.ifname}" ip saddr @hq_management ip daddr {{ {intent.loopback} }} tcp dport 22 accept' in nftables
    assert f'iifname "mgmt" ip saddr @hq_management ip daddr {intent.management_address} tcp dport 22 accept' in nftables
    # Not the public IKE endpoint, which the internet reaches on the same port.
    assert str(intent.public_address) not in hosts
