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
    the store, while IKE and DHCP on the WAN ports and DNS on the segments keep FortiOS's rules."""
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
        if interface.first("role") == "wan":
            for address in own:
                assert verdict(arrival, Packet("udp", internet, address, 500)).forwarded
        elif ip:
            assert verdict(arrival, Packet("udp", source, ipaddress.IPv4Address(ip[0]), 53)).forwarded
