"""The store stack's renderer hook: StoreEdge's live tunnel values in, the intended config out."""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import SecretStr

from storestack.components.store_site import EdgeRenderContext, EdgeTunnel, EdgeWanLink
from storestack.devices.render import render_store
from storestack.inventory import Fleet
from storestack.network.errors import StackOutputsError
from storestack.stacks.device_bridge import appliance_config_renderer, outputs_from_edge_context


def _context(fleet: Fleet, *, planned: bool) -> EdgeRenderContext:
    """nw-0001's edge as StoreSite describes it: a hub tunnel per link, two AWS tunnels on wan1."""
    store = fleet.store("nw-0001")
    links = []
    for link in store.wan:
        tunnels = [
            EdgeTunnel(
                name=f"hub-{link.hub}-{link.name}",
                peer_kind="hub",
                peer_name=link.hub,
                role="primary" if link.primary else "backup",
                wan_link=link.name,
                peer_outside_address=fleet.hubs[link.hub].public_address,
                inside_cidr=link.overlay.network,
                local_inside_address=link.overlay.ip,
                peer_inside_address=link.overlay_peer,
                peer_asn=fleet.spec.asn.hq,
                psk=SecretStr(f"kHubPsk{link.name}Value"),
            )
        ]
        if link.address is not None:
            for number, cidr in ((1, "169.254.60.0/30"), (2, "169.254.60.4/30")):
                network = ipaddress.IPv4Network(cidr)
                tunnels.append(
                    EdgeTunnel(
                        name=f"aws-{link.name}-{number}",
                        peer_kind="aws",
                        peer_name="aws-eu-west-1",
                        role="cloud",
                        wan_link=link.name,
                        peer_outside_address=ipaddress.IPv4Address(f"52.18.0.{number}"),
                        inside_cidr=network,
                        local_inside_address=network.network_address + 2,
                        peer_inside_address=network.network_address + 1,
                        peer_asn=fleet.spec.asn.aws,
                        psk=SecretStr(f"kAwsPsk{number}Value"),
                    )
                )
        links.append(
            EdgeWanLink(
                name=link.name,
                kind=link.kind,
                public_address=link.address.ip if link.address else None,
                tunnels=tunnels,
            )
        )
    appliance = store.appliances[0]
    return EdgeRenderContext(
        store_id=store.id,
        hostname=appliance.hostname,
        platform=appliance.platform,
        management_address=appliance.management_address,
        bgp_asn=store.asn,
        own_prefixes=[s.subnet for s in store.segments.values()],
        advertised_prefixes=store.advertised_prefixes,
        wan_links=links,
        store_wan_links=links,
        planned=planned,
    )


def test_stack_values_become_device_outputs(fleet: Fleet) -> None:
    outputs = outputs_from_edge_context(_context(fleet, planned=False))
    assert [t.link for t in outputs.links] == ["wan1", "lte1"]
    assert [(t.link, t.tunnel, str(t.store_inside)) for t in outputs.aws_tunnels] == [
        ("wan1", 1, "169.254.60.2"),
        ("wan1", 2, "169.254.60.6"),
    ]
    assert not outputs.planned


def test_stack_renderer_gives_the_same_config_as_devices_render(fleet: Fleet) -> None:
    context = _context(fleet, planned=False)
    text = appliance_config_renderer(fleet, reveal_secrets=False)(context)
    (expected,) = render_store(fleet, "nw-0001", outputs={"nw-0001": outputs_from_edge_context(context)})
    assert text == expected.text
    assert "PLANNED" not in text and "neighbor 169.254.60.1 remote-as 64512" in text


def test_a_preview_is_marked_planned(fleet: Fleet) -> None:
    text = appliance_config_renderer(fleet, reveal_secrets=False)(_context(fleet, planned=True))
    assert text.startswith("! storestack: PLANNED")


def test_pushed_config_from_the_stack_carries_the_live_psks(
    fleet: Fleet, device_secrets: dict[str, str]
) -> None:
    from testsupport.rendering import on_platform

    cisco = on_platform(fleet, "cisco_xe")
    text = appliance_config_renderer(cisco)(_context(cisco, planned=False))
    assert "pre-shared-key kHubPskwan1Value" in text and "pre-shared-key kAwsPsk2Value" in text


def test_unknown_appliance_is_refused(fleet: Fleet) -> None:
    context = _context(fleet, planned=False).model_copy(update={"hostname": "nw-0001-edge9"})
    with pytest.raises(StackOutputsError, match="edge9"):
        appliance_config_renderer(fleet, reveal_secrets=False)(context)
