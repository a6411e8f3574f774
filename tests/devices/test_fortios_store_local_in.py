"""What a FortiOS store's tunnels bring to the store itself (local-in traffic, which no firewall
policy governs): each tunnel's control traffic between its own two inside addresses, and HQ's
management of the loopback over the hub tunnels; nothing else."""

from __future__ import annotations

import ipaddress

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.lint import Packet
from storestack.devices.lint.fortinet import local_in, parse
from storestack.devices.render import render_store
from storestack.devices.views import ViewBuilder
from storestack.inventory import Fleet


@pytest.mark.parametrize("shape", ["aws", "mall-guest"])
def test_a_fortios_store_takes_only_its_tunnels_control_and_hqs_management(fleet: Fleet, shape: str) -> None:
    (config,) = render_store(on_platform(fleet, "fortinet"), SHAPES[shape])
    parsed = parse(config.text)
    verdict = local_in(parsed)
    addresses = {e.name: e.get("subnet") for e in parsed["firewall address"].entries}
    loopback = ipaddress.IPv4Address(addresses["LOOPBACK"][0])
    mgmt = next(ipaddress.IPv4Address(v[0]) + 1 for name, v in addresses.items() if name.startswith("MGMT-"))
    tunnels = [e for e in parsed["system interface"].entries if e.first("type") == "tunnel"]
    wan = [
        ipaddress.IPv4Address(ip)
        for e in parsed["system interface"].entries
        if e.first("role") == "wan" and (ip := e.first("ip"))
    ]
    assert tunnels
    for tunnel in tunnels:
        arrival = {tunnel.name, "any"}
        near, far = ipaddress.IPv4Address(tunnel.first("ip") or ""), ipaddress.IPv4Address(tunnel.get("remote-ip")[0])
        to_hub = not tunnel.name.startswith("aws")
        wanted = [Packet("tcp", far, near, 179), Packet("icmp", far, near)]
        if tunnel.first("bfd") == "enable":
            wanted.append(Packet("udp", far, near, 3784))
        if to_hub:
            wanted += [Packet("tcp", mgmt, loopback, 22), Packet("udp", mgmt, loopback, 161)]
        for packet in wanted:
            assert verdict(arrival, packet).forwarded, (tunnel.name, packet)
        unwanted = [
            Packet("tcp", far, near, 22),
            Packet("tcp", far, loopback, 179),
            Packet("tcp", far, loopback, 22),
            Packet("udp", far, loopback, 161),
            *(Packet("tcp", far, address, 22) for address in wan),
        ]
        if not to_hub:
            unwanted += [Packet("tcp", mgmt, loopback, 22), Packet("udp", mgmt, loopback, 161)]
        for packet in unwanted:
            assert not verdict(arrival, packet).forwarded, (tunnel.name, packet)


@pytest.mark.parametrize("shape", ["dual-wan", "mall-guest"])
def test_a_fortios_store_takes_no_bgp_or_bfd_outside_its_tunnels(fleet: Fleet, shape: str) -> None:
    """FortiOS opens TCP 179 to every address once BGP runs: the internet on a WAN port and a
    store host on a segment (guest Wi-Fi among them) reach neither BGP nor BFD on any address of
    the store, while DNS on the segments keeps FortiOS's rules."""
    (config,) = render_store(on_platform(fleet, "fortinet"), SHAPES[shape])
    parsed = parse(config.text)
    verdict = local_in(parsed)
    interfaces = parsed["system interface"].entries
    own = [ipaddress.IPv4Address(ip) for e in interfaces if (ip := e.first("ip"))]
    internet = ipaddress.IPv4Address("198.18.0.1")
    outside = [e for e in interfaces if e.first("type") not in ("tunnel", "loopback")]
    assert {e.first("role") for e in outside} == {"wan", "lan"}
    for interface in outside:
        arrival = {interface.name, "any"}
        ip = interface.get("ip")
        source = internet if interface.first("role") == "wan" or not ip else ipaddress.IPv4Address(ip[0]) + 1
        for address in own:
            for packet in (Packet("tcp", source, address, 179), Packet("udp", source, address, 3784)):
                assert not verdict(arrival, packet).forwarded, (interface.name, packet)
        if ip and interface.first("role") != "wan":
            assert verdict(arrival, Packet("udp", source, ipaddress.IPv4Address(ip[0]), 53)).forwarded


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_fortios_store_takes_ike_and_esp_on_a_wan_port_only_from_that_ports_tunnel_peers(
    fleet: Fleet, shape: str
) -> None:
    """IKE (UDP 500, NAT-T 4500) and ESP reach a WAN port only from the far ends of the tunnels
    that port carries (the hubs' public endpoints, AWS's tunnel endpoints where the store has
    AWS tunnels, as the network intent gives them): not from the internet, nor from another
    port's peer. FortiOS's own local-in rules take IKE from anyone."""
    fleet = on_platform(fleet, "fortinet")
    store = fleet.store(SHAPES[shape])
    hostname = store.appliances[0].hostname
    view = ViewBuilder(fleet).store_view(store, hostname)
    (config,) = render_store(fleet, store.id)
    verdict = local_in(parse(config.text))
    internet = ipaddress.IPv4Address("198.18.0.1")
    every_peer = {ipaddress.IPv4Address(a) for link in view.wan for a in view.far_ends(link)}
    for link in view.wan:
        address = ipaddress.IPv4Address(link.address.ip) if link.address else ipaddress.IPv4Address("198.18.0.2")
        arrival = {link.ifname, "any"}
        peers = {ipaddress.IPv4Address(a) for a in view.far_ends(link)}
        assert peers
        for source in peers:
            for packet in (Packet("udp", source, address, 500), Packet("udp", source, address, 4500), Packet("esp", source, address)):
                assert verdict(arrival, packet).forwarded, (link.ifname, packet)
        for source in {internet} | (every_peer - peers):
            for packet in (Packet("udp", source, address, 500), Packet("udp", source, address, 4500), Packet("esp", source, address)):
                assert not verdict(arrival, packet).forwarded, (link.ifname, packet)


def test_guest_wifi_reaches_a_fortios_store_only_for_dhcp_and_pings_at_its_gateway(fleet: Fleet) -> None:
    """Guest Wi-Fi's breakout policy (guest-wifi to the breakout port, any destination) also
    takes a guest's packets to the breakout port's own address: FortiOS needs a firewall policy
    from the interface a packet arrives on to the interface whose address it is for, and this
    one is it (Fortinet KB 369268, "Accessing the FortiGate administrative GUI/CLI from
    different interfaces"). The port's IKE refusals (`intf` the port) never see those packets,
    which arrive on guest-wifi. So guest Wi-Fi's own local-in policies refuse every address of
    the unit but the guest gateway, and IKE at the gateway: only pings and DHCP there (broadcast
    DHCP never meets a local-in policy, KB 412712), as on every platform."""
    (config,) = render_store(on_platform(fleet, "fortinet"), SHAPES["mall-guest"])
    parsed = parse(config.text)
    verdict = local_in(parsed)
    interfaces = {e.name: e for e in parsed["system interface"].entries}
    guest = interfaces["guest-wifi"]
    gateway = ipaddress.IPv4Address(guest.get("ip")[0])
    host = gateway + 9
    own = {ipaddress.IPv4Address(ip) for e in interfaces.values() if (ip := e.first("ip"))}
    arrival = {"guest-wifi", "any"}
    services = [("icmp", None), ("udp", 500), ("udp", 4500), ("tcp", 22), ("udp", 161), ("udp", 53), ("tcp", 443)]
    reached = [
        (str(address), protocol, port)
        for address in sorted(own - {gateway})
        for protocol, port in services
        if verdict(arrival, Packet(protocol, host, address, port)).forwarded
    ]
    assert reached == []
    for port in (500, 4500):
        assert not verdict(arrival, Packet("udp", host, gateway, port)).forwarded
    assert verdict(arrival, Packet("icmp", host, gateway)).forwarded
    assert verdict(arrival, Packet("udp", host, gateway, 67)).forwarded
