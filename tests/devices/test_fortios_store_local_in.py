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
