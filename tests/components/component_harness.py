"""Args for a small but complete chain, shared by the component tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from storestack.components.cloud_args import DesktopFlowArgs, HubCloudTunnelArgs, StoreFlowArgs
from storestack.components.desktop_pool import DesktopBundleArgs, DesktopPoolArgs, DesktopUser, SeatRequest
from storestack.components.hybrid_cloud import (
    AwsRegionArgs,
    HqHubArgs,
    HybridCloudArgs,
    OpenStackSiteArgs,
    StaffRoleAccessArgs,
)
from storestack.components.store_site import (
    AwsTunnelArgs,
    HubTunnelArgs,
    StoreApplianceArgs,
    StoreSiteArgs,
    StoreWanLinkArgs,
)
from storestack.network.build import derive_psk
from storestack.stacks.mocks import (
    RecordedResource,
    RecordingMonitor,
    StorestackMocks,
    evaluate_under_mocks,
    is_secret,
    unwrap_secrets,
)

FLEET_TAGS = {"owner": "platform-team", "cost-centre": "cc-4711"}
STORE_SUPERNET = "10.64.0.0/12"
HQ_RANGES = ["10.0.0.0/16"]
TEST_FLEET_SECRET = "Component-Test-Seed-77"


class TestKeys:
    """The stacks' tunnel keys (`stacks/keys.py`) over a fixed test secret."""

    def psk(self, tunnel_id: str) -> pulumi.Output[str]:
        return pulumi.Output.secret(derive_psk(TEST_FLEET_SECRET, tunnel_id))


TEST_KEYS = TestKeys()


def planned_cloud_tunnels(hub: str, hub_index: int) -> list[HubCloudTunnelArgs]:
    """A hub's tunnels to eu-west-1 and dc1-cloud, as the network intent would plan them."""
    return [
        *(
            HubCloudTunnelArgs(
                tunnel_id=f"{hub}-eu-west-1-aws{n}", cloud="aws", site="eu-west-1", number=n,
                inside_cidr=f"169.254.248.{8 * hub_index + 4 * (n - 1)}/30",
            )
            for n in (1, 2)
        ),
        HubCloudTunnelArgs(
            tunnel_id=f"{hub}-dc1-cloud-openstack", cloud="openstack", site="dc1-cloud",
            inside_cidr=f"169.254.252.{4 * hub_index}/30",
        ),
    ]


DOMAIN_CONTROLLERS = ["10.0.1.53/32", "10.0.2.53/32"]
NTP_SERVERS = ["10.0.1.10/32"]
# As a network intent would give them: HTTPS to HQ and the clouds' workloads, the directory, DNS
# and NTP at HQ (`NetworkIntent.desktop_flows`), one entry per port range.
DESKTOP_FLOWS = [
    DesktopFlowArgs(protocol="tcp", from_port=443, to_port=443, destinations=[*HQ_RANGES, "10.32.0.0/20", "10.40.0.0/20"],
                    why="HTTPS to HQ and cloud workloads"),
    *(
        DesktopFlowArgs(protocol=protocol, from_port=low, to_port=high, destinations=DOMAIN_CONTROLLERS, why="domain member to its DCs")
        for protocol, low, high in (("tcp", 88, 88), ("tcp", 389, 389), ("tcp", 445, 445), ("tcp", 49152, 65535),
                                    ("udp", 88, 88), ("udp", 123, 123))
    ),
    *(
        DesktopFlowArgs(protocol=protocol, from_port=53, to_port=53, destinations=DOMAIN_CONTROLLERS, why="DNS to the fleet resolvers")
        for protocol in ("tcp", "udp")
    ),
    DesktopFlowArgs(protocol="udp", from_port=123, to_port=123, destinations=NTP_SERVERS, why="time from the fleet NTP servers"),
]


def hybrid_cloud_args(**overrides: object) -> HybridCloudArgs:
    values: dict[str, object] = {
        "fleet": "acme",
        "tags": FLEET_TAGS,
        "aws_account_id": "210987654321",
        "aws_regions": [
            AwsRegionArgs(
                region="eu-west-1",
                availability_zones=["eu-west-1a", "eu-west-1b"],
                workloads_cidr="10.32.0.0/20",
                desktops_cidr="10.48.0.0/20",
            )
        ],
        "openstack_sites": [
            OpenStackSiteArgs(
                name="dc1-cloud",
                auth_url="https://keystone.dc1.example.net:5000/v3",
                region="RegionOne",
                external_network="public",
                workloads_cidr="10.40.0.0/20",
                desktops_cidr="10.56.0.0/20",
                dns_nameservers=["10.0.0.53"],
                slot=0,
                aws_inside={"eu-west-1": "169.254.244.0/29"},
            )
        ],
        "hubs": [
            HqHubArgs(
                name="hub1", public_address="198.51.100.10", bgp_asn=65001, prefixes=HQ_RANGES,
                cloud_tunnels=planned_cloud_tunnels("hub1", 0), slot=0,
            ),
            HqHubArgs(
                name="hub2", public_address="198.51.100.11", bgp_asn=65002, prefixes=HQ_RANGES,
                cloud_tunnels=planned_cloud_tunnels("hub2", 1), slot=1,
            ),
        ],
        "staff_roles": [
            StaffRoleAccessArgs(name="cashier", data_prefixes=["pos"]),
            StaffRoleAccessArgs(
                name="hq-finance", data_prefixes=["finance", "pos"], stores="all", openstack_role="member"
            ),
            StaffRoleAccessArgs(
                name="it-admin", data_prefixes=["it", "logs"], stores="all", admin=True, openstack_role="manager"
            ),
        ],
        "staff_entry_roles": ["federation/acme-staff-sign-in"],
        "store_supernet": STORE_SUPERNET,
        "admin_ranges": ["10.0.10.0/24"],
        # As a network intent would give it: stores open HTTPS to the workloads, nothing else.
        "store_flows": [
            StoreFlowArgs(protocol="tcp", ports=[443], destinations=["10.32.0.0/20", "10.40.0.0/20"], why="office to services")
        ],
        "desktop_flows": DESKTOP_FLOWS,
        "data_bucket_name": "acme-staff-data",
        "data_region": "eu-west-1",
    }
    values.update(overrides)
    return HybridCloudArgs.model_validate(values)


def store_args(store_id: str = "sh-0001", index: int = 1, **overrides: object) -> StoreSiteArgs:
    base = f"10.64.{index * 4}.0"
    values: dict[str, object] = {
        "store_id": store_id,
        "fleet": "acme",
        "tags": FLEET_TAGS,
        "bgp_asn": 4_200_000_000 + index,
        "store_supernet": STORE_SUPERNET,
        "own_prefixes": [f"{base}/22"],
        "advertised_prefixes": [f"10.64.{index * 4}.0/24", f"10.64.{index * 4 + 1}.0/24"],
        "wan_links": [
            StoreWanLinkArgs(
                name="wan1",
                kind="fiber",
                public_address=f"203.0.113.{index}",
                aws_tunnels=[
                    AwsTunnelArgs(tunnel_id=f"{store_id}-wan1-aws{n}", inside_cidr=f"169.254.{100 + index}.{4 * (n - 1)}/30")
                    for n in (1, 2)
                ],
            ),
            StoreWanLinkArgs(
                name="lte1",
                kind="lte",
                public_address=f"192.0.2.{index}",
                aws_tunnels=[
                    AwsTunnelArgs(tunnel_id=f"{store_id}-lte1-aws{n}", inside_cidr=f"169.254.{150 + index}.{4 * (n - 1)}/30")
                    for n in (1, 2)
                ],
            ),
        ],
        "hub_tunnels": [
            HubTunnelArgs(
                tunnel_id=f"{store_id}-wan1-hub1",
                hub="hub1", hub_address="198.51.100.10", hub_asn=65001, wan_link="wan1",
                inside_cidr=f"100.64.{index}.0/31", store_inside_address=f"100.64.{index}.1",
                hub_inside_address=f"100.64.{index}.0", role="primary",
            ),
            HubTunnelArgs(
                tunnel_id=f"{store_id}-lte1-hub2",
                hub="hub2", hub_address="198.51.100.11", hub_asn=65002, wan_link="lte1",
                inside_cidr=f"100.65.{index}.0/31", store_inside_address=f"100.65.{index}.1",
                hub_inside_address=f"100.65.{index}.0", role="backup",
            ),
        ],
        "appliances": [
            StoreApplianceArgs(
                hostname=f"{store_id}-edge1", platform="frr", management_address=f"10.64.{index * 4 + 3}.1",
                wan_links=["wan1", "lte1"],
            )
        ],
        "aws_region": "eu-west-1",
    }
    values.update(overrides)
    return StoreSiteArgs.model_validate(values)


AD_CONNECTOR: dict[str, object] = {
    "directory_kind": "ad-connector",
    "ad_connector_dns_ips": ["10.0.1.53", "10.0.2.53"],
    "ad_connector_service_account": "svc-workspaces",
    "users": [
        DesktopUser(user_name="anna.berg", role="cashier", store="sh-0001", region="north"),
        DesktopUser(user_name="bo.lind", role="cashier", store="sh-0002", region="south"),
        DesktopUser(user_name="cleo.ek", role="hq-finance"),
    ],
}


def desktop_pool_args(provider: str = "aws", **overrides: object) -> DesktopPoolArgs:
    values: dict[str, object] = {
        "name": f"{provider}-desktops",
        "provider": provider,
        "fleet": "acme",
        "tags": FLEET_TAGS,
        "seats": [
            SeatRequest(role="cashier", store="sh-0001", region="north", count=1),
            SeatRequest(role="cashier", store="sh-0001", region="north", count=1),
            SeatRequest(role="cashier", store="sh-0002", region="south", count=1),
            SeatRequest(role="hq-finance", store=None, count=2),
        ],
        "bundles": [
            DesktopBundleArgs(
                role="cashier", aws_bundle_id="wsb-abc123def", openstack_image="win11-pos",
                openstack_flavor="d2.medium",
            ),
            DesktopBundleArgs(
                role="hq-finance", aws_bundle_name="Performance with Windows 10 (Server 2022 based)",
                aws_compute_type="PERFORMANCE",
                openstack_image="win11-office", openstack_flavor="d4.large",
            ),
        ],
        "management_ranges": ["10.0.10.0/24"],
        "directory_domain": "desktops.acme.example",
    }
    values.update(overrides)
    return DesktopPoolArgs.model_validate(values)


# --- running components under the mock runtime -----------------------------------------------

Build = Callable[[], Mapping[str, pulumi.Output[Any]]]


@dataclass
class Scenario:
    """What a scenario registered and what its outputs resolved to, read after the runtime finished."""

    monitor: RecordingMonitor
    values: dict[str, Any]

    @property
    def resources(self) -> list[RecordedResource]:
        return [self.monitor.recorded[urn] for urn in self.monitor.registered_urns]

    def of_type(self, type_token: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_token]

    def named(self, name: str) -> RecordedResource:
        matches = [r for r in self.resources if r.name == name]
        assert len(matches) == 1, f"{len(matches)} resources named {name!r}"
        return matches[0]

    def by_id(self, resource_id: str) -> RecordedResource:
        matches = [r for r in self.resources if r.resource_id == resource_id]
        assert len(matches) == 1, f"{len(matches)} resources with id {resource_id!r}"
        return matches[0]

    def component_outputs(self, type_token: str) -> list[dict[str, Any]]:
        return [self.monitor.component_outputs[r.urn] for r in self.of_type(type_token)]


def run_scenario(
    build: Build, mocks: StorestackMocks | None = None, config: Mapping[str, str] | None = None
) -> Scenario:
    """Build components in a fresh mock runtime and hand back the resolved state.

    Everything `build` exposes is resolved after every outstanding registration finished, so
    callers assert only after the runtime has finished.
    """
    monitor = RecordingMonitor(mocks or StorestackMocks())
    values = evaluate_under_mocks(
        lambda: pulumi.Output.from_input(dict(build())), monitor, project="components", stack="test", config=config
    )
    return Scenario(monitor=monitor, values=dict(values))


def secret_value(value: Any) -> Any:
    """The value inside a secret wrapper; fails the test if the value was not marked secret."""
    assert is_secret(value), f"expected a secret, got a plain {type(value).__name__}"
    return unwrap_secrets(value)


def gateway_peer_files(scenario: Scenario) -> dict[str, str]:
    """The OpenStack VPN gateway's peer config (the site's one Swift object, secret), its files'
    contents by path: what the gateway applies for every tunnel and BGP session."""
    import json

    (peers,) = scenario.of_type("openstack:objectstorage/containerObject:ContainerObject")
    files: dict[str, str] = {f["path"]: f["content"] for f in json.loads(secret_value(peers.inputs["content"]))["files"]}
    return files
