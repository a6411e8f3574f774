"""Guest Wi-Fi on a FortiOS store whose links are all cellular: the inventory takes it (guest
Wi-Fi breaks out through the store's first wired link, and such a store has none,
`guest_breakout_index`), the intent never sends guest Wi-Fi over LTE/5G, so its hosts get DHCP
from their gateway and reach nothing else, as on FRR and VRP stores."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from testsupport.rendering import edited_sample_chain, on_platform

from storestack.devices.lint import ConfigFile, Packet
from storestack.devices.lint.fortinet import local_in, parse
from storestack.devices.lint.services import services_check
from storestack.devices.render import render_store
from storestack.inventory import load_fleet
from storestack.network.build import NetworkIntent


def test_guest_wifi_on_cellular_links_only_renders_and_reaches_nothing(tmp_path: Path) -> None:
    root = edited_sample_chain(tmp_path, "  iot: {vlan: 50}\n", "  iot: {vlan: 50}\n  guest-wifi: {vlan: 40}\n", "stores/nw-0007.yaml")
    fleet = on_platform(load_fleet(root), "fortinet")
    assert all(link.cellular for link in fleet.store("nw-0007").wan)
    (config,) = render_store(fleet, "nw-0007")
    parsed = parse(config.text)
    guest = next(e for e in parsed["system interface"].entries if e.name == "guest-wifi")
    assert [e.name for e in parsed["firewall policy"].entries if "guest-wifi" in e.get("srcintf")] == []
    assert [e.name for e in parsed["firewall shaping-policy"].entries if "guest-wifi" in e.get("srcintf")] == []
    assert any(e.first("interface") == "guest-wifi" for e in parsed["system dhcp server"].entries)
    gateway = ipaddress.IPv4Address(guest.get("ip")[0])
    verdict = local_in(parsed)
    own = {ipaddress.IPv4Address(ip) for e in parsed["system interface"].entries if (ip := e.first("ip"))}
    for address in own - {gateway}:
        assert not verdict({"guest-wifi", "any"}, Packet("icmp", gateway + 9, address)).forwarded, address
    assert verdict({"guest-wifi", "any"}, Packet("icmp", gateway + 9, gateway)).forwarded
    # Nothing of it leaves, so there is nothing to re-mark at the trust boundary (lint `qos`).
    checked = ConfigFile(config.filename, "fortinet", "edge", config.name, config.text, "nw-0007", "", {"": config.text})
    assert list(services_check([checked], NetworkIntent(fleet))) == []
