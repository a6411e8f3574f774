"""Every overlay tunnel clamps the TCP MSS of the SYNs it carries, to the one fleet value."""

from __future__ import annotations

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.common.platforms import TUNNEL_TCP_MSS
from storestack.devices.lint.fortinet import parse
from storestack.devices.render import render_hub, render_store
from storestack.inventory import Fleet


def _tunnel_mss(text: str) -> dict[str, str | None]:
    """Each FortiOS tunnel interface's `tcp-mss` (None: not set, so not clamped)."""
    return {
        entry.name: entry.first("tcp-mss")
        for entry in parse(text)["system interface"].entries
        if entry.first("type") == "tunnel"
    }


def test_fortios_hub_clamps_every_tunnel(fleet: Fleet) -> None:
    """The FortiOS hub's store links and cloud VPNs: a host's full-size segment would not fit the
    tunnel's MTU, and FortiOS rewrites the MSS of the SYNs through an interface only with
    `tcp-mss` set on it."""
    config = render_hub(on_platform(fleet, "fortinet"), "hq-hub1")
    tunnels = _tunnel_mss(config.text)
    assert any(name.startswith("aws") for name in tunnels) and any(name.startswith("nw-") for name in tunnels)
    assert set(tunnels.values()) == {str(TUNNEL_TCP_MSS)}, tunnels


@pytest.mark.parametrize("shape", ["aws", "mall-guest"])
def test_fortios_store_clamps_every_tunnel(fleet: Fleet, shape: str) -> None:
    """The FortiOS store's tunnels to its hubs and to AWS."""
    (config,) = render_store(on_platform(fleet, "fortinet"), SHAPES[shape])
    tunnels = _tunnel_mss(config.text)
    assert tunnels and set(tunnels.values()) == {str(TUNNEL_TCP_MSS)}, tunnels


def test_every_platform_clamps_to_the_same_value(fleet: Fleet) -> None:
    """IOS-XE, VRP and FortiOS hubs and stores state the one fleet value (FRR clamps to the
    route's MTU instead: `maxseg size set rt mtu`)."""
    for platform, needle in (("cisco_xe", "ip tcp adjust-mss "), ("huawei_vrp", " tcp adjust-mss "), ("fortinet", "set tcp-mss ")):
        chain = on_platform(fleet, platform)
        texts = [render_hub(chain, "hq-hub1").text, *(c.text for c in render_store(chain, SHAPES["aws"]))]
        values = {line.split(needle, 1)[1].strip() for text in texts for line in text.splitlines() if needle in line}
        assert values == {str(TUNNEL_TCP_MSS)}, (platform, values)
