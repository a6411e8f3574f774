"""Every platform renders each tunnel's own MTU and TCP MSS clamp, from the transport it rides on
(the intent's `Tunnel.mtu`), on the store's end and on the hub's end of the same store link: an
LTE link's tunnels carry less than a fiber link's."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.common.platforms import Platform
from storestack.devices.lint.fortinet import parse
from storestack.devices.render import RenderedConfig, render_hub, render_store
from storestack.inventory import Fleet
from storestack.lab.rendered import RenderedIpsec
from storestack.network.build import NetworkIntent
from storestack.network.model import Tunnel

_ID = re.compile(r'description "?ipsec (\S+)')
_MTU = re.compile(r'^(?: |\s*attribute type interface-config ")(?:ip )?mtu (\d+)', re.MULTILINE)
_MSS = re.compile(r"adjust-mss (\d+)")
_XFRM_MTU = re.compile(r"^link set (\S+) group 10 mtu (\d+) up$", re.MULTILINE)

Values = dict[str, tuple[int | None, int | None]]


def _line_blocks(text: str) -> Values:
    """IOS-XE and VRP: tunnel id → (MTU, MSS) of its interface block or (IOS-XE hub) of its
    store link's AAA attribute list, found by the `description ipsec <id>` each carries."""
    found: Values = {}
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith(" ") and blocks:
            blocks[-1].append(line)
        else:
            blocks.append([line])
    for block in blocks:
        body = "\n".join(block)
        if (ident := _ID.search(body)) is None:
            continue
        mtu, mss = _MTU.search(body), _MSS.search(body)
        found[ident.group(1)] = (int(mtu.group(1)) if mtu else None, int(mss.group(1)) if mss else None)
    return found


def _fortios(text: str) -> Values:
    """FortiOS: the tunnel interfaces' `tcp-mss` (FortiOS sizes a tunnel's MTU itself)."""
    found: Values = {}
    for entry in parse(text)["system interface"].entries:
        description = entry.first("description") or ""
        if entry.first("type") == "tunnel" and (ident := _ID.search(f"description {description}")):
            mss = entry.first("tcp-mss")
            found[ident.group(1)] = (None, int(mss) if mss else None)
    return found


def _frr(config: RenderedConfig) -> Values:
    """FRR: each connection's XFRM interface MTU (the nftables clamp is `rt mtu`: MTU - 40)."""
    files = dict(config.companions)
    ipsec = RenderedIpsec(files["swanctl.conf"], files["strongswan.conf"], files["routing"])
    mtus = {m.group(1): int(m.group(2)) for m in _XFRM_MTU.finditer(files["routing"])}
    assert "tcp flags syn tcp option maxseg size set rt mtu" in files["nftables.conf"]
    return {tid: (mtus.get(ifname), mtus[ifname] - 40 if ifname in mtus else None) for tid, ifname in ipsec.tunnel_interfaces().items()}


def _rendered(platform: Platform, config: RenderedConfig) -> Values:
    if platform == "frr":
        return _frr(config)
    return _fortios(config.text) if platform == "fortinet" else _line_blocks(config.text)


def _expected(tunnels: Iterable[Tunnel]) -> Values:
    return {t.id: (t.mtu.mtu, t.mtu.tcp_mss) for t in tunnels}


PLATFORMS: tuple[Platform, ...] = ("cisco_xe", "huawei_vrp", "fortinet", "frr")


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("shape", ["mall-guest", "aws", "lte-only"])
def test_store_renders_each_tunnels_own_mtu_and_mss(fleet: Fleet, platform: Platform, shape: str) -> None:
    chain = on_platform(fleet, platform)
    store_id = SHAPES[shape]
    intent = NetworkIntent(chain).store(store_id)
    wanted = _expected(intent.tunnels)
    (config,) = render_store(chain, store_id)
    got = _rendered(platform, config)
    if platform == "fortinet":
        wanted = {tid: (None, mss) for tid, (_, mss) in wanted.items()}
    assert got == wanted
    # the transports differ, and so do their tunnels' values
    by_kind = {t.mtu.underlay for t in intent.tunnels}
    assert len(set(got.values())) == len(by_kind)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_hub_renders_each_store_links_mtu_and_mss(fleet: Fleet, platform: Platform) -> None:
    chain = on_platform(fleet, platform)
    intent = NetworkIntent(chain)
    hub = intent.hub("hq-hub1")
    wanted = _expected(hub.tunnels)
    got = _rendered(platform, render_hub(chain, "hq-hub1"))
    if platform == "fortinet":
        wanted = {tid: (None, mss) for tid, (_, mss) in wanted.items()}
    assert got == wanted
    # an LTE link's tunnel and a fiber link's differ on the hub too
    cellular = {got[t.id] for t in hub.tunnels if t.kind == "store-hub" and t.mtu.underlay == 1428}
    wired = {got[t.id] for t in hub.tunnels if t.kind == "store-hub" and t.mtu.underlay == 1500}
    assert cellular and wired and cellular.isdisjoint(wired)


def test_an_ios_xe_hubs_virtual_template_fits_the_narrowest_store_link(fleet: Fleet) -> None:
    """A virtual-access whose per-user MTU were not applied keeps the Virtual-Template's: that must
    fit every carrier the hub's store links ride (the LTE/5G links' values), not IOS's own size
    from the WAN port, which would fragment every full-size packet over LTE after encryption."""
    chain = on_platform(fleet, "cisco_xe")
    hub = NetworkIntent(chain).hub("hq-hub1")
    narrowest = min((t.mtu for t in hub.tunnels if t.kind == "store-hub"), key=lambda m: m.mtu)
    text = render_hub(chain, "hq-hub1").text
    template = text.split("interface Virtual-Template1 type tunnel\n", 1)[1].split("\n!", 1)[0]
    assert f" ip mtu {narrowest.mtu}" in template.splitlines()
    assert f" ip tcp adjust-mss {narrowest.tcp_mss}" in template.splitlines()
