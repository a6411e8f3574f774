"""StoreSite and StoreEdge under the mock runtime."""

from __future__ import annotations

import ipaddress

import pytest
from component_harness import TEST_KEYS, Scenario, run_scenario, secret_value, store_args
from pydantic import ValidationError

from storestack.components import EdgeRenderContext, StoreSite, StoreWanLinkArgs, TransitGatewayRef
from storestack.components.store_site import AwsTunnelArgs
from storestack.network.crypto import FLEET_CRYPTO, aws_tunnel_options
from storestack.stacks.mocks import StorestackMocks, is_secret

VPN = "aws:ec2/vpnConnection:VpnConnection"
TRANSIT = TransitGatewayRef(
    region="eu-west-1",
    transit_gateway_id="tgw-core",
    stores_route_table_id="rtb-stores",
    return_route_table_ids={"workloads": "rtb-workloads", "desktops": "rtb-desktops"},
)
# The core's Transit Gateway, in the account outside these programs, with a 4-byte Amazon-side ASN.
CORE_ASN = 4_200_000_500


def core_account() -> StorestackMocks:
    return StorestackMocks(gateways={"tgw-core": CORE_ASN})


class RecordingRenderer:
    """Renders a minimal config and keeps the contexts it was given."""

    def __init__(self) -> None:
        self.contexts: list[EdgeRenderContext] = []

    def __call__(self, context: EdgeRenderContext) -> str:
        self.contexts.append(context)
        lines = [f"hostname {context.hostname}", f"! planned: {context.planned}"]
        for link in context.wan_links:
            for tunnel in link.tunnels:
                lines.append(f"tunnel {tunnel.name} peer {tunnel.peer_outside_address} key {tunnel.psk.get_secret_value()}")
        return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def renderer() -> RecordingRenderer:
    return RecordingRenderer()


@pytest.fixture(scope="module")
def store(renderer: RecordingRenderer) -> Scenario:
    def build() -> dict[str, object]:
        site = StoreSite("sh-0001", store_args(), TRANSIT, renderer=renderer, keys=TEST_KEYS)
        return {
            "tunnels": site.tunnels,
            "hub_peers": site.hub_peers,
            "advertised_prefixes": site.advertised_prefixes,
            "psks": site.tunnel_psks,
            "configs": site.intended_configs,
        }

    return run_scenario(build, core_account())


def test_a_customer_gateway_and_bgp_vpn_per_wan_link(store: Scenario) -> None:
    gateways = {r.inputs["ipAddress"]: r for r in store.of_type("aws:ec2/customerGateway:CustomerGateway")}
    assert set(gateways) == {"203.0.113.1", "192.0.2.1"}
    # A 4-byte ASN does not fit CreateCustomerGateway's BgpAsn (1-2147483647): it goes in BgpAsnExtended.
    assert {g.inputs["bgpAsnExtended"] for g in gateways.values()} == {"4200000001"}
    assert all("bgpAsn" not in g.inputs for g in gateways.values())
    vpns = store.of_type(VPN)
    assert len(vpns) == 2
    crypto = aws_tunnel_options(FLEET_CRYPTO)
    for vpn in vpns:
        assert vpn.inputs["transitGatewayId"] == "tgw-core"
        assert vpn.inputs["staticRoutesOnly"] is False
        # Route-based BGP: selectors stay 0.0.0.0/0 so the 169.254 peering is inside them.
        assert "localIpv4NetworkCidr" not in vpn.inputs and "remoteIpv4NetworkCidr" not in vpn.inputs
        for n in (1, 2):
            # The fleet's two IKE proposals: GCM first, the CBC one Huawei AR ends offer.
            assert vpn.inputs[f"tunnel{n}Phase1EncryptionAlgorithms"] == ["AES256", "AES256-GCM-16"]
            assert vpn.inputs[f"tunnel{n}Phase2DhGroupNumbers"] == crypto["phase2_dh_group_numbers"] == [20]
            assert vpn.inputs[f"tunnel{n}Phase1IntegrityAlgorithms"] == ["SHA2-256", "SHA2-384"]
        assert store.by_id(vpn.inputs["customerGatewayId"]).type == "aws:ec2/customerGateway:CustomerGateway"
    wan1 = store.named("sh-0001-wan1-vpn")
    assert wan1.inputs["tunnel1InsideCidr"] == "169.254.101.0/30"


def test_attachments_join_the_stores_table_and_propagate_only_to_cloud_tables(store: Scenario) -> None:
    attachments = {v.outputs["transitGatewayAttachmentId"] for v in store.of_type(VPN)}
    associations = store.of_type("aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation")
    assert {(a.inputs["transitGatewayAttachmentId"], a.inputs["transitGatewayRouteTableId"]) for a in associations} == {
        (attachment, "rtb-stores") for attachment in attachments
    }
    propagations = store.of_type("aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation")
    assert {(p.inputs["transitGatewayAttachmentId"], p.inputs["transitGatewayRouteTableId"]) for p in propagations} == {
        (attachment, table) for attachment in attachments for table in ("rtb-workloads", "rtb-desktops")
    }


def test_psks_are_generated_secrets_and_never_in_plain_outputs(store: Scenario) -> None:
    for vpn in store.of_type(VPN):
        secret_value(vpn.inputs["tunnel1PresharedKey"])
        secret_value(vpn.inputs["tunnel2PresharedKey"])
    outputs = store.monitor.component_outputs[store.named("sh-0001").urn]
    psks = secret_value(outputs["tunnel_psks"])
    assert set(psks) == {"sh-0001-wan1-hub1", "sh-0001-lte1-hub2", "sh-0001-wan1-aws1", "sh-0001-wan1-aws2", "sh-0001-lte1-aws1", "sh-0001-lte1-aws2"}
    assert len(set(psks.values())) == 6
    assert not is_secret(outputs["tunnels"])
    plain = repr(outputs["tunnels"]) + repr(outputs["hub_peers"]) + repr(outputs["edges"])
    assert not any(psk in plain for psk in psks.values())
    vpn = store.named("sh-0001-wan1-vpn")
    assert psks["sh-0001-wan1-aws1"] == secret_value(vpn.inputs["tunnel1PresharedKey"])


def test_tunnel_outputs_carry_the_addresses_device_templates_need(store: Scenario) -> None:
    tunnels = {t["name"]: t for t in store.values["tunnels"]}
    vpn = store.named("sh-0001-wan1-vpn")
    aws1 = tunnels["sh-0001-wan1-aws1"]
    assert aws1["peer_outside_address"] == vpn.outputs["tunnel1Address"]
    assert aws1["inside_cidr"] == "169.254.101.0/30"
    assert aws1["local_inside_address"] == "169.254.101.2"
    assert aws1["peer_inside_address"] == "169.254.101.1"
    assert aws1["peer_asn"] == str(CORE_ASN), "the Transit Gateway's Amazon-side ASN"
    hub1 = tunnels["sh-0001-wan1-hub1"]
    assert (hub1["peer_outside_address"], hub1["local_inside_address"], hub1["peer_inside_address"]) == (
        "198.51.100.10", "100.64.1.1", "100.64.1.0",
    )
    assert store.values["hub_peers"][0] == {
        "hub": "hub1", "address": "198.51.100.10", "asn": 65001, "wan_link": "wan1", "role": "primary",
        "store_inside_address": "100.64.1.1", "hub_inside_address": "100.64.1.0",
    }
    assert store.values["advertised_prefixes"] == ["10.64.4.0/24", "10.64.5.0/24"]


def test_an_edge_per_appliance_with_its_config_as_a_secret(store: Scenario, renderer: RecordingRenderer) -> None:
    (edge,) = store.of_type("storestack:store:StoreEdge")
    assert edge.parent == store.named("sh-0001").urn
    edge_outputs = store.monitor.component_outputs[edge.urn]
    assert edge_outputs["platform"] == "frr"
    assert edge_outputs["management_address"] == "10.64.7.1"
    assert [link["name"] for link in edge_outputs["wan_links"]] == ["wan1", "lte1"]
    peers = {p["tunnel"]: p for p in edge_outputs["bgp_peers"]}
    assert peers["sh-0001-lte1-aws2"]["remote_asn"] == str(CORE_ASN) and peers["sh-0001-lte1-aws2"]["local_asn"] == 4_200_000_001
    config = secret_value(edge_outputs["intended_config"])
    vpn = store.named("sh-0001-lte1-vpn")
    psk = secret_value(vpn.inputs["tunnel2PresharedKey"])
    assert f"tunnel sh-0001-lte1-aws2 peer {vpn.outputs['tunnel2Address']} key {psk}" in config
    assert "! planned: True" in config
    assert secret_value(store.monitor.component_outputs[store.named("sh-0001").urn]["intended_configs"]) == {
        "sh-0001-edge1": config
    }
    (context,) = renderer.contexts
    assert context.advertised_prefixes == [ipaddress.ip_network("10.64.4.0/24"), ipaddress.ip_network("10.64.5.0/24")]
    assert psk not in repr(context), "the render context keeps PSKs as SecretStr"


def test_a_store_without_aws_affinity_only_gets_hub_keys() -> None:
    def build() -> dict[str, object]:
        site = StoreSite("sh-0009", store_args("sh-0009", 9, aws_region=None), keys=TEST_KEYS)
        return {"tunnels": site.tunnels, "psks": site.tunnel_psks}

    scenario = run_scenario(build, core_account())
    assert not [r for r in scenario.resources if r.type.startswith("aws:")]
    assert sorted(scenario.values["psks"]) == ["sh-0009-lte1-hub2", "sh-0009-wan1-hub1"]


def test_a_store_cannot_announce_prefixes_outside_its_own_block() -> None:
    with pytest.raises(ValidationError, match="may only announce its own prefixes"):
        store_args(advertised_prefixes=["10.64.4.0/24", "10.64.8.0/24"])


def test_a_store_block_outside_the_store_supernet_is_rejected() -> None:
    with pytest.raises(ValidationError, match="outside the store supernet"):
        store_args(own_prefixes=["10.40.0.0/22"], advertised_prefixes=["10.40.0.0/24"])


def test_dynamic_links_stay_off_aws_and_reach_the_cloud_through_the_hubs() -> None:
    def build() -> dict[str, object]:
        links = [
            StoreWanLinkArgs(
                name="wan1", kind="fiber", public_address="203.0.113.1",
                aws_tunnels=[
                    AwsTunnelArgs(tunnel_id=f"sh-0001-wan1-aws{n}", inside_cidr=f"169.254.101.{4 * n}/30")
                    for n in (1, 2)
                ],
            ),
            StoreWanLinkArgs(name="lte1", kind="lte"),
        ]
        site = StoreSite("sh-0001", store_args(wan_links=links), TRANSIT, keys=TEST_KEYS)
        return {"tunnels": site.tunnels}

    scenario = run_scenario(build, core_account())
    assert [g.inputs["ipAddress"] for g in scenario.of_type("aws:ec2/customerGateway:CustomerGateway")] == [
        "203.0.113.1"
    ]
    names = [t["name"] for t in scenario.values["tunnels"]]
    assert names == ["sh-0001-wan1-hub1", "sh-0001-lte1-hub2", "sh-0001-wan1-aws1", "sh-0001-wan1-aws2"]


def test_an_aws_link_without_planned_tunnels_is_rejected() -> None:
    """The stack never picks AWS tunnel values itself: they are the network intent's."""
    with pytest.raises(ValidationError, match="no planned tunnels"):
        store_args(
            wan_links=[
                StoreWanLinkArgs(name="wan1", kind="fiber", public_address="203.0.113.1"),
                StoreWanLinkArgs(name="lte1", kind="lte"),
            ]
        )


def test_aws_affinity_without_any_identifiable_link_is_rejected() -> None:
    with pytest.raises(ValidationError, match="at least one WAN link with a static public address"):
        store_args(
            wan_links=[StoreWanLinkArgs(name="wan1", kind="broadband"), StoreWanLinkArgs(name="lte1", kind="lte")]
        )


def test_aws_reserved_inside_cidrs_are_rejected() -> None:
    with pytest.raises(ValidationError, match="reserved by AWS"):
        StoreWanLinkArgs(
            name="wan1", kind="fiber", public_address="203.0.113.1",
            aws_tunnels=[
                AwsTunnelArgs(tunnel_id="sh-0001-wan1-aws1", inside_cidr="169.254.169.252/30"),
                AwsTunnelArgs(tunnel_id="sh-0001-wan1-aws2", inside_cidr="169.254.10.0/30"),
            ],
        )
