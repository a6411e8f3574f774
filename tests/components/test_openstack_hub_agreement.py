"""Both ends of every hub to OpenStack tunnel of the sample chain agree: the hub configs the
network intent renders (every platform) and the gateway `OpenStackSite` builds in the core stack."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from component_harness import TEST_KEYS, Scenario, gateway_peer_files, run_scenario
from testsupport.rendering import on_platform

from storestack.components import HybridCloud
from storestack.devices.lint import EXTRACTORS, TunnelFact, load_platform_rules
from storestack.devices.lint.frr import connections
from storestack.devices.lint.run import config_files
from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.network.build import NetworkIntent
from storestack.stacks.mapping import core_config

PLATFORMS = ("frr", "cisco_xe", "huawei_vrp", "fortinet")
ANY = ipaddress.IPv4Network("0.0.0.0/0")


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return load_fleet(sample_chain_path())


@pytest.fixture(scope="module")
def core(fleet: Fleet) -> Scenario:
    args = core_config(fleet).hybrid_cloud
    return run_scenario(lambda: {"cloud": HybridCloud("core", args, keys=TEST_KEYS).openstack_hub_tunnels})


def _gateway_files(core: Scenario) -> dict[str, str]:
    """The gateway's peer config files by path (the site's only gateway)."""
    return gateway_peer_files(core)


def _component_tunnels(core: Scenario) -> dict[str, Any]:
    outputs = core.monitor.component_outputs[core.named("core").urn]
    tunnels: dict[str, Any] = outputs["openstack_hub_tunnels"]
    return tunnels


def _hub_fact(fleet: Fleet, platform: str, hub: str, tunnel_id: str) -> TunnelFact:
    load_platform_rules()
    (config,) = [
        f for f in config_files(on_platform(fleet, platform)) if f.hostname == hub and f.role == "hub" and not f.suffix
    ]
    facts = {fact.name: fact for fact in EXTRACTORS[platform](config)}
    assert tunnel_id in facts, f"{platform} hub {hub} renders no tunnel {tunnel_id}"
    return facts[tunnel_id]


def test_the_intent_and_the_gateway_agree_on_every_hub_tunnel(fleet: Fleet, core: Scenario) -> None:
    intent = NetworkIntent(fleet)
    component = _component_tunnels(core)
    assert component, "the sample chain has OpenStack sites and hubs"
    gateway_bgp = _gateway_files(core)["/etc/frr/frr.conf"]
    for key, described in component.items():
        site, hub = key.split("/")
        (tunnel,) = [t for t in intent.hub(hub).tunnels if t.peer == f"openstack:{site}"]
        assert tunnel.kind == "hub-openstack"
        prefix = ipaddress.IPv4Network(described["inside_cidr"]).prefixlen
        assert tunnel.local_inside == ipaddress.IPv4Interface(f"{described['hub_inside_address']}/{prefix}")
        assert str(tunnel.peer_inside) == described["peer_inside_address"]
        assert tunnel.peer_asn == described["peer_asn"] == fleet.spec.asn.openstack
        assert tunnel.local_selectors == tunnel.peer_selectors == (ANY,), "route-based, like the gateway"
        (session,) = [s for s in intent.hub(hub).sessions if s.tunnel == tunnel.id]
        assert (session.kind, str(session.local_address), str(session.peer_address), session.peer_asn) == (
            "hub-openstack",
            described["hub_inside_address"],
            described["peer_inside_address"],
            described["peer_asn"],
        )
        # The gateway peers with the hub's inside address and the hub's own ASN.
        assert f" neighbor {described['hub_inside_address']} remote-as {fleet.hubs[hub].asn}\n" in gateway_bgp


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_hub_platform_renders_the_gateways_end(fleet: Fleet, core: Scenario, platform: str) -> None:
    intent = NetworkIntent(fleet)
    gateway = connections(_gateway_files(core)["/etc/swanctl/conf.d/storestack.conf"])
    component = _component_tunnels(core)
    for key, described in component.items():
        site, hub = key.split("/")
        (tunnel,) = [t for t in intent.hub(hub).tunnels if t.peer == f"openstack:{site}"]
        fact = _hub_fact(fleet, platform, hub, tunnel.id)
        assert (fact.local_inside, fact.peer_inside, fact.peer_asn) == (
            described["hub_inside_address"],
            described["peer_inside_address"],
            described["peer_asn"],
        )
        # The gateway's connection to this hub (its remote is the hub's public address) offers
        # the proposals the FRR hub spells in the same strongSwan syntax; every platform's hub
        # offers the FRR hub's (a Huawei AR hub its CBC IKE proposal only).
        (peer,) = [s for _, s in gateway.values() if s["remote_addrs"] == str(fleet.hubs[hub].public_address)]
        child = next(k for k in peer if k.endswith(".esp_proposals"))
        frr_hub = _frr_connection(fleet, hub, tunnel.id)
        assert peer["proposals"] == frr_hub["proposals"]
        assert peer[child] == frr_hub[f"children.{tunnel.id}.esp_proposals"]
        frr_fact = _hub_fact(fleet, "frr", hub, tunnel.id)
        if platform == "huawei_vrp":
            assert fact.ike == {p for p in frr_fact.ike if not p.aead} and fact.esp == frr_fact.esp
        else:
            assert (fact.ike, fact.esp) == (frr_fact.ike, frr_fact.esp)
        assert fact.ike and fact.esp


def _frr_connection(fleet: Fleet, hub: str, tunnel_id: str) -> dict[str, str]:
    (swanctl,) = [
        f.text
        for f in config_files(on_platform(fleet, "frr"))
        if f.hostname == hub and f.role == "hub" and f.suffix == "swanctl.conf"
    ]
    return connections(swanctl)[tunnel_id][1]


def test_the_gateway_announces_every_site_network_the_hubs_accept(fleet: Fleet, core: Scenario) -> None:
    """FRR (7.4 and later) announces a `network` only while its RIB holds that exact prefix
    (`bgp network import-check`): the gateway's own subnet is connected, every other site
    network needs a route of its own through the site router, or the hubs and AWS never learn it
    and HQ, the stores and the VPCs cannot reach the site's desktops."""
    (site,) = core_config(fleet).hybrid_cloud.openstack_sites
    bgp = _gateway_files(core)["/etc/frr/frr.conf"]
    announced = {ipaddress.IPv4Network(line.split()[1]) for line in bgp.splitlines() if line.startswith("  network ")}
    assert announced == {site.workloads_cidr, site.desktops_cidr}
    # What the gateway's RIB holds: its port's subnet (connected) and its static routes.
    (port,) = [p for p in core.of_type("openstack:networking/port:Port") if p.name.endswith("vpn-gateway")]
    (subnet,) = [s for s in core.of_type("openstack:networking/subnet:Subnet") if s.resource_id == port.inputs["fixedIps"][0]["subnetId"]]
    connected = ipaddress.IPv4Network(subnet.inputs["cidr"])
    static = {
        ipaddress.IPv4Network(net): ipaddress.IPv4Address(via)
        for _, _, net, via in (line.split() for line in bgp.splitlines() if line.startswith("ip route "))
    }
    for network in announced:
        assert network == connected or network in static, f"the gateway's RIB has no {network}: FRR never announces it"
    # Each static route goes through the site router's address on the gateway's subnet.
    router = ipaddress.IPv4Address(subnet.inputs["gatewayIp"])
    assert router in connected and set(static.values()) == {router}
    hub = next(iter(fleet.hubs))
    (session,) = [s for s in NetworkIntent(fleet).hub(hub).sessions if s.peer == f"openstack:{site.name}"]
    assert all(any(network.subnet_of(prefix) for prefix in session.accepts) for network in announced)
