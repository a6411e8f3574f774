"""A FortiOS hub takes a store's new flows on whichever of the store's tunnels they arrive: a
store that signals one tunnel out of its strictest class's SLA moves the hub's route back to
another tunnel, while its other classes keep arriving on the first. FortiOS's reverse path check
would drop their first packets there (the hub installs only its best BGP path to a store), so the
store tunnels do without it, and nothing else of the hub does."""

from __future__ import annotations

import ipaddress

from testsupport.rendering import on_platform

from storestack.devices.lint import ConfigFile, Finding
from storestack.devices.lint.fortinet import hub_src_check, parse
from storestack.devices.render import render_hub
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent


def test_a_fortios_hub_checks_no_source_path_on_its_store_tunnels_and_keeps_it_elsewhere(fleet: Fleet) -> None:
    fleet = on_platform(fleet, "fortinet")
    hub = NetworkIntent(fleet).hub("hq-hub1")
    parsed = parse(render_hub(fleet, "hq-hub1").text)
    interfaces = parsed["system interface"].entries
    inside = {str(s.local_address) for s in hub.sessions if s.kind == "store-hub"}
    stores = [e for e in interfaces if e.first("ip") in inside]
    assert len(stores) == len(inside) > 3
    for tunnel in stores:
        assert tunnel.first("src-check") == "disable", tunnel.name
    others = [e for e in interfaces if e not in stores]
    # The DC port (the hub's only WAN), the IKE endpoint, the loopback and the cloud tunnels.
    dc = next(e for e in others if e.first("ip") == str(hub.dc.address.ip))
    clouds = [e for e in others if e.first("type") == "tunnel"]
    assert dc and len(clouds) == 3
    for interface in others:
        assert interface.first("src-check") is None, interface.name


def test_what_the_store_tunnels_may_send_from_stays_the_fleets_store_ranges(fleet: Fleet) -> None:
    """Without the check, the sources a store tunnel brings in are bounded by the firewall
    policies taking traffic from the store tunnels' zone: none takes a source outside the
    fleet's store ranges (segments, loopbacks, tunnel addresses)."""
    fleet = on_platform(fleet, "fortinet")
    hub = NetworkIntent(fleet).hub("hq-hub1")
    parsed = parse(render_hub(fleet, "hq-hub1").text)
    inside = {str(s.local_address) for s in hub.sessions if s.kind == "store-hub"}
    tunnels = {e.name for e in parsed["system interface"].entries if e.first("ip") in inside}
    zones = {z.name for z in parsed["system zone"].entries if tunnels & set(z.get("interface"))}
    addresses = {e.name: e.get("subnet") for e in parsed["firewall address"].entries}
    # An address group stands for its members (what it excludes only narrows them).
    groups = {e.name: e.get("member") for e in parsed["firewall addrgrp"].entries}
    plan = fleet.spec.ip_plan
    fleet_ranges = [ipaddress.IPv4Network(str(net)) for net in (plan.stores, plan.loopbacks, plan.transit)]
    taking = [p for p in parsed["firewall policy"].entries if (zones | tunnels | {"any"}) & set(p.get("srcintf"))]
    names = {p.first("name") for p in taking}
    assert {"CORPORATE-nw-0001", "INTERNET-nw-0001"} <= names
    for policy in taking:
        assert policy.first("srcaddr-negate") is None, policy.first("name")
        names = [member for name in policy.get("srcaddr") for member in groups.get(name, [name])]
        for name in names:
            subnet = addresses[name]
            net = ipaddress.IPv4Network(f"{subnet[0]}/{subnet[1]}")
            assert any(net.subnet_of(r) for r in fleet_ranges), (policy.first("name"), name, net)


def test_lint_flags_a_store_tunnel_that_checks_the_source_path_and_a_dc_port_that_does_not(fleet: Fleet) -> None:
    fleet = on_platform(fleet, "fortinet")
    config = render_hub(fleet, "hq-hub1")
    text = config.text
    hub = NetworkIntent(fleet).hub("hq-hub1")

    def lint(text: str) -> list[Finding]:
        return list(hub_src_check(ConfigFile(config.filename, "fortinet", "hub", config.name, text)))

    assert not lint(text)
    checked = text.replace("        set src-check disable\n", "", 1)
    (finding,) = lint(checked)
    assert finding.rule == "fortios-hub-src-check" and "reverse path" in finding.message
    dc = f"        set ip {hub.dc.address.ip} {hub.dc.address.netmask}\n"
    assert dc in text
    unchecked = text.replace(dc, dc + "        set src-check disable\n")
    (finding,) = lint(unchecked)
    assert finding.rule == "fortios-hub-src-check" and "port1" in finding.message
