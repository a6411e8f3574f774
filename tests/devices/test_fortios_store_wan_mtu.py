"""A FortiOS store's WAN ports carry their carrier's MTU: FortiOS sizes the ESP of what it
forwards into a tunnel from the path MTU between the tunnel's ends, not from the tunnel
interface's MTU (Fortinet KB 193388), so a port left at 1500 over an LTE carrier of 1428 sends
a 1400-byte UDP or ICMP packet out as ESP larger than the carrier carries. The tunnels' `tcp-mss`
covers TCP only."""

from __future__ import annotations

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.lint.fortinet import parse
from storestack.devices.render import render_store
from storestack.devices.views import ViewBuilder
from storestack.inventory import Fleet


def _port_mtus(text: str) -> dict[str, int]:
    """Each WAN port's MTU as the unit takes it: its own where it overrides the default, else 1500."""
    ports = [e for e in parse(text)["system interface"].entries if e.first("role") == "wan"]
    return {
        port.name: int(port.first("mtu") or 0) if port.first("mtu-override") == "enable" else 1500
        for port in ports
    }


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_wan_port_holds_its_carriers_mtu(fleet: Fleet, shape: str) -> None:
    fleet = on_platform(fleet, "fortinet")
    store = fleet.store(SHAPES[shape])
    view = ViewBuilder(fleet).store_view(store, store.appliances[0].hostname)
    (config,) = render_store(fleet, SHAPES[shape])
    # the carrier's MTU of each link, from the network intent (inventory `WanLink.mtu`, else its kind's)
    transports = {transport.name: transport for transport in view.intent.transports}
    wanted = {link.ifname: transports[link.name].mtu.underlay for link in view.wan}
    assert _port_mtus(config.text) == wanted


def test_an_lte_port_is_below_the_default_and_a_fibre_port_sets_none(fleet: Fleet) -> None:
    """nw-0002: fibre (1500, FortiOS's default: no line, which `show` would not print back) and
    LTE (1428)."""
    (config,) = render_store(on_platform(fleet, "fortinet"), SHAPES["dual-wan"])
    assert sorted(_port_mtus(config.text).values()) == [1428, 1500]
    assert config.text.count("set mtu-override enable") == 1
    assert "set mtu 1428\n" in config.text
