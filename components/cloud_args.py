"""Arguments of the hybrid cloud: AWS regions, OpenStack sites, HQ hubs and staff roles."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import Field, model_validator

from storestack.common.addressing import LINK_LOCAL, collapse, excluding
from storestack.common.asn import (
    ASN_FIRST,
    ASN_LAST,
    TRANSIT_GATEWAY_ASN_DEFAULT,
    customer_gateway_asn_refusal,
    transit_gateway_asn_refusal,
)
from storestack.common.patterns import AWS_ACCOUNT_ID, AWS_REGION, HTTPS_URL, IAM_ROLE, anchored
from storestack.components.common import (
    FleetTags,
    FrozenModel,
    PrivateNetwork,
    PublicAddress,
    Slug,
)
from storestack.network.cloud import (
    HUB_AWS_REGIONS,
    HUB_SLOTS,
    OPENSTACK_AWS_INSIDE_POOL,
    OPENSTACK_AWS_SITES,
    OPENSTACK_SITE_SLOTS,
    STORE_AWS_INSIDE_PREFIX,
)

# AZ IDs WorkSpaces Personal runs in, per region (AZ names map to different IDs in each account).
# https://docs.aws.amazon.com/workspaces/latest/adminguide/azs-workspaces.html
WORKSPACES_ZONE_IDS: dict[str, frozenset[str]] = {
    "us-east-1": frozenset({"use1-az2", "use1-az4", "use1-az6"}),
    "us-west-2": frozenset({"usw2-az1", "usw2-az2", "usw2-az3"}),
    "ap-south-1": frozenset({"aps1-az1", "aps1-az2", "aps1-az3"}),
    "ap-northeast-1": frozenset({"apne1-az1", "apne1-az4"}),
    "ap-northeast-2": frozenset({"apne2-az1", "apne2-az3"}),
    "ap-southeast-1": frozenset({"apse1-az1", "apse1-az2"}),
    "ap-southeast-2": frozenset({"apse2-az1", "apse2-az3"}),
    "ca-central-1": frozenset({"cac1-az1", "cac1-az2"}),
    "eu-central-1": frozenset({"euc1-az2", "euc1-az3"}),
    "eu-west-1": frozenset({"euw1-az1", "euw1-az2", "euw1-az3"}),
    "eu-west-2": frozenset({"euw2-az2", "euw2-az3"}),
}


class HubCloudTunnelArgs(FrozenModel):
    """One of a hub's tunnels to a cloud, as the network intent plans it: id (the key derives from
    it) and inside /30 (AWS takes the first host, the hub the second; on an OpenStack gateway
    tunnel the hub takes the first and the gateway the second)."""

    tunnel_id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{0,126}[a-z0-9]$")
    cloud: Literal["aws", "openstack"]
    site: str = Field(description="the AWS region or the OpenStack site's name")
    number: Literal[1, 2] = 1
    inside_cidr: ipaddress.IPv4Network

    @model_validator(mode="after")
    def _link_local_30(self) -> HubCloudTunnelArgs:
        if self.inside_cidr.prefixlen != 30 or not self.inside_cidr.subnet_of(LINK_LOCAL):
            raise ValueError(f"tunnel {self.tunnel_id}: inside {self.inside_cidr} is not a /30 in 169.254.0.0/16")
        return self


class HqHubArgs(FrozenModel):
    """An SD-WAN hub appliance in the HQ data centre, as seen by the clouds."""

    name: Slug
    public_address: PublicAddress
    bgp_asn: int = Field(ge=ASN_FIRST, le=ASN_LAST)
    prefixes: list[PrivateNetwork] = Field(min_length=1, description="HQ ranges behind this hub")
    cloud_tunnels: list[HubCloudTunnelArgs] = Field(
        default_factory=list, description="two per AWS region, one per OpenStack site (network intent)"
    )
    # What names its peer on each OpenStack gateway (`hub<slot + 1>`): the slot IPAM pins, so a
    # hub removed renames no other hub's peer or security group rules.
    slot: int = Field(ge=0, lt=HUB_SLOTS, description="its cloud tunnels' slot (IPAM lock file)")

    def cloud_tunnel(self, cloud: str, site: str, number: int = 1) -> HubCloudTunnelArgs:
        for tunnel in self.cloud_tunnels:
            if (tunnel.cloud, tunnel.site, tunnel.number) == (cloud, site, number):
                return tunnel
        raise ValueError(f"hub {self.name} has no planned tunnel {number} to {cloud} {site}")


class AwsRegionArgs(FrozenModel):
    region: str = Field(pattern=anchored(AWS_REGION))
    availability_zones: list[str] = Field(min_length=2, description="full zone names, e.g. eu-west-1a")
    workloads_cidr: PrivateNetwork
    desktops_cidr: PrivateNetwork
    transit_gateway_asn: int = Field(default=TRANSIT_GATEWAY_ASN_DEFAULT, description="the Amazon-side ASN (asn.aws)")
    # The DNS servers / domain controllers an AD Connector in the desktops subnets is pointed at
    # (a desktop pool's `ad_connector_dns_ips`): its answers are let back from any port from 1024.
    ad_connector_dns_ips: list[ipaddress.IPv4Address] = Field(default_factory=list)

    @model_validator(mode="after")
    def _zones_in_region(self) -> AwsRegionArgs:
        if refusal := transit_gateway_asn_refusal(self.transit_gateway_asn):
            raise ValueError(f"{self.region}: {refusal}")
        for zone in self.availability_zones:
            if not (zone.startswith(self.region) and len(zone) == len(self.region) + 1 and zone[-1].isalpha()):
                raise ValueError(f"{zone!r} is not an availability zone of {self.region}")
        if len(set(self.availability_zones)) != len(self.availability_zones):
            raise ValueError("availability zones must be distinct")
        if self.workloads_cidr.overlaps(self.desktops_cidr):
            raise ValueError(f"workloads {self.workloads_cidr} overlaps desktops {self.desktops_cidr}")
        return self


class OpenStackSiteArgs(FrozenModel):
    name: Slug
    auth_url: str = Field(pattern=anchored(HTTPS_URL))
    region: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
    external_network: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
    workloads_cidr: PrivateNetwork
    desktops_cidr: PrivateNetwork
    dns_nameservers: list[ipaddress.IPv4Address] = Field(default_factory=list)
    bgp_asn: int = Field(default=64513, ge=ASN_FIRST, le=ASN_LAST, description="the site VPN gateway's ASN (asn.openstack)")
    gateway_image: str = Field(default="debian-12", pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$")
    gateway_flavor: str = Field(default="m1.small", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
    # The slot IPAM pins (its gateway's planned address until the stack binds it) and, per AWS
    # region, the /29 of its gateway's two AWS tunnels (tunnel 1 the lower /30): pinned, so a
    # region or site added or removed replaces no other's VPN connection.
    slot: int = Field(ge=0, lt=OPENSTACK_SITE_SLOTS, description="the site's slot (IPAM lock file)")
    aws_inside: dict[str, ipaddress.IPv4Network] = Field(
        default_factory=dict, description="AWS region -> the /29 of the gateway's two tunnels there (IPAM lock file)"
    )

    @model_validator(mode="after")
    def _disjoint(self) -> OpenStackSiteArgs:
        if self.workloads_cidr.overlaps(self.desktops_cidr):
            raise ValueError(f"workloads {self.workloads_cidr} overlaps desktops {self.desktops_cidr}")
        for region, block in self.aws_inside.items():
            if block.prefixlen != STORE_AWS_INSIDE_PREFIX or not block.subnet_of(OPENSTACK_AWS_INSIDE_POOL):
                raise ValueError(f"{region}: {block} is not a /{STORE_AWS_INSIDE_PREFIX} of {OPENSTACK_AWS_INSIDE_POOL}")
        return self


class StaffRoleAccessArgs(FrozenModel):
    """What one staff role may touch, as the inventory's `access` says.

    `data_prefixes` are read; only `admin` roles may also write and delete. `stores` narrows data
    and desktops to the user's own store, their region, or all stores: data keys are laid out as
    `<prefix>/<region>/<store>/...`, and the user's store and region arrive as session tags.
    """

    name: Slug
    data_prefixes: list[Slug] = Field(min_length=1, description="top-level S3 prefixes, e.g. 'finance'")
    stores: Literal["own", "region", "all"] = "own"
    admin: bool = False
    openstack_role: Slug = "reader"
    description: str = Field(default="", pattern=r"^[A-Za-z0-9 .,'()&/_+-]{0,120}$")

    @model_validator(mode="after")
    def _own_project_only(self) -> StaffRoleAccessArgs:
        # The role is given on the staff role's own project, for its own resources only. Keystone's
        # `admin` held on any project is the legacy, deployment-wide admin in the services' default
        # policies (Keystone bug 968696; the RBAC goal kept that "legacy admin behaviour", Placement
        # spec "Policy Defaults Improvement"): it would reach every project, the infrastructure
        # project's VPN gateway and its keys included.
        if self.openstack_role == "admin":
            raise ValueError(
                f"staff role {self.name}: openstack_role admin on its own project is admin of the whole "
                "OpenStack deployment (every project, the VPN gateway's keys included); give member, "
                "or manager where the cloud has it"
            )
        return self


class StoreFlowArgs(FrozenModel):
    """A connection store zones may open towards cloud ranges: one of the network intent's flows
    (stateful, replies allowed). The store's zone firewall decides which zone may use it; the
    cloud, which sees only the store supernet, admits exactly these and nothing in reverse."""

    protocol: Literal["ip", "tcp", "udp", "icmp"]
    ports: list[int] = Field(default_factory=list, description="empty: every port of the protocol")
    destinations: list[PrivateNetwork] = Field(min_length=1)
    # A security group rule's description on AWS (EC2 IpRange: a-z, A-Z, 0-9, spaces and
    # ._-:/()#,@[]+=&;{}!$*; no quote), as for the desktop flows below.
    why: str = Field(default="", pattern=r"^[A-Za-z0-9 .,()&/_+:-]{0,120}$")


class DesktopFlowArgs(FrozenModel):
    """A connection every cloud desktop may open (the network intent's `desktop_flows`), stateful:
    replies come back. Both clouds admit exactly these out of a desktop, and nothing else: no
    internet, nothing towards a store (the intent says why)."""

    protocol: Literal["tcp", "udp"]
    from_port: int = Field(ge=1, le=65535)
    to_port: int = Field(ge=1, le=65535)
    destinations: list[PrivateNetwork] = Field(min_length=1)
    # What both clouds take in a rule's description (EC2 IpRange: a-z, A-Z, 0-9, spaces and
    # ._-:/()#,@[]+=&;{}!$*; no quote), joined with "; " where flows share a rule.
    why: str = Field(default="", pattern=r"^[A-Za-z0-9 .,()&/_+:-]{0,120}$")

    @model_validator(mode="after")
    def _ordered(self) -> DesktopFlowArgs:
        if self.from_port > self.to_port:
            raise ValueError(f"desktop flow {self.why!r}: port range {self.from_port}-{self.to_port} is empty")
        return self


def desktop_egress(flows: list[DesktopFlowArgs]) -> list[tuple[str, int, int, list[ipaddress.IPv4Network], str]]:
    """The desktops' egress rules, one per (protocol, port range) with every destination of the
    flows sharing it, each once: a cloud refuses a rule that repeats another."""
    merged: dict[tuple[str, int, int], tuple[set[ipaddress.IPv4Network], list[str]]] = {}
    for flow in flows:
        destinations, why = merged.setdefault((flow.protocol, flow.from_port, flow.to_port), (set(), []))
        destinations.update(flow.destinations)
        if flow.why not in why:
            why.append(flow.why)
    return [
        (protocol, low, high, sorted(destinations), "; ".join(why))
        for (protocol, low, high), (destinations, why) in sorted(merged.items())
    ]


def refuse_desktop_flows_into(flows: list[DesktopFlowArgs], stores: ipaddress.IPv4Network | None) -> None:
    """Desktops answer the stores' connections and never open one (AWS and OpenStack alike)."""
    for flow in flows:
        for destination in flow.destinations:
            if stores is not None and destination.overlaps(stores):
                raise ValueError(f"desktop flow {flow.why!r} reaches {destination}, inside the stores' {stores}")


class HybridCloudArgs(FrozenModel):
    fleet: Slug
    tags: FleetTags
    aws_account_id: str = Field(pattern=anchored(AWS_ACCOUNT_ID))
    aws_regions: list[AwsRegionArgs] = Field(min_length=1)
    # Where the staff data bucket lives (and the default provider's region): the inventory's or
    # IPAM's (`Fleet.data_region`), never the first of `aws_regions`, so a reorder moves no bucket.
    # It may be a region the fleet's VPCs have left: the bucket stays with the data.
    data_region: str = Field(pattern=anchored(AWS_REGION))
    openstack_sites: list[OpenStackSiteArgs] = Field(default_factory=list)
    hubs: list[HqHubArgs] = Field(min_length=1)
    staff_roles: list[StaffRoleAccessArgs] = Field(min_length=1)
    # The roles the identity provider signs staff into (AssumeRoleWithSAML / WithWebIdentity), as
    # IAM path and name in the account, a trailing `*` for the suffix IAM Identity Center adds: the
    # only callers a staff role trusts (`aws:PrincipalArn`, README "Identity").
    staff_entry_roles: list[Annotated[str, Field(pattern=anchored(IAM_ROLE))]] = Field(min_length=1)
    store_supernet: PrivateNetwork
    admin_ranges: list[PrivateNetwork] = Field(min_length=1, description="HQ ranges allowed on admin ports")
    # HQ's routing infrastructure (the DC core LAN, network intent `dc_infrastructure`), which the
    # hubs already keep the clouds away from (`CloudForwarding`): the clouds' own filters deny it
    # too. What they reach at HQ (`hq_cut`) is HQ without it and with the servers the clouds use
    # that are written inside it, as the intent cuts it (`NetworkIntent.cloud_hq`): those servers
    # (its management servers, the desktops' directory) are the one part not derivable from the
    # other fields. Empty: HQ whole.
    hq_infrastructure: list[PrivateNetwork] = Field(
        default_factory=list, description="HQ ranges no cloud host reaches (network intent)"
    )
    hq_infrastructure_servers: list[PrivateNetwork] = Field(
        default_factory=list,
        description="servers the clouds use written inside hq_infrastructure, as host routes (network intent)",
    )
    store_flows: list[StoreFlowArgs] = Field(
        default_factory=list, description="what stores may open towards the clouds (network intent)"
    )
    desktop_flows: list[DesktopFlowArgs] = Field(
        default_factory=list, description="what every cloud desktop may open (network intent); empty: nothing"
    )
    data_bucket_name: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    flow_log_retention_days: Literal[30, 60, 90, 180, 365, 400, 545, 731, 1827, 3653] = 365
    # How long the staff data bucket keeps an object's earlier versions once they are noncurrent:
    # the window to undo a mistake or ransomware under a staff session (README, "The cloud").
    data_noncurrent_version_days: int = Field(default=90, ge=1, le=3653)

    @model_validator(mode="after")
    def _consistent(self) -> HybridCloudArgs:
        if len(self.hubs) > 8:
            raise ValueError("an OpenStack VPN gateway takes at most 8 hubs")
        if len(self.aws_regions) > HUB_AWS_REGIONS:
            raise ValueError(f"at most {HUB_AWS_REGIONS} AWS regions: the tunnels' inside /30s are planned for as many")
        if self.aws_regions and len(self.openstack_sites) > OPENSTACK_AWS_SITES:
            raise ValueError(
                f"at most {OPENSTACK_AWS_SITES} OpenStack sites with AWS regions: {OPENSTACK_AWS_INSIDE_POOL} "
                "holds the inside /30s of their gateways' AWS tunnels"
            )
        _unique("AWS region", [r.region for r in self.aws_regions])
        _unique("OpenStack site", [s.name for s in self.openstack_sites])
        _unique("hub", [h.name for h in self.hubs])
        _unique("staff role", [r.name for r in self.staff_roles])
        _unique("hub address", [str(h.public_address) for h in self.hubs])
        _unique("hub slot", [str(h.slot) for h in self.hubs])
        _unique("OpenStack site slot", [str(s.slot) for s in self.openstack_sites])
        _unique("OpenStack gateway AWS inside /29", [str(b) for s in self.openstack_sites for b in s.aws_inside.values()])
        regions = sorted(r.region for r in self.aws_regions)
        for site in self.openstack_sites:
            if sorted(site.aws_inside) != regions:
                raise ValueError(f"OpenStack site {site.name}: aws_inside must give one /29 per AWS region ({', '.join(regions)})")
        ranges: list[tuple[str, ipaddress.IPv4Network]] = [("stores", self.store_supernet)]
        for region in self.aws_regions:
            ranges += [
                (f"{region.region} workloads", region.workloads_cidr),
                (f"{region.region} desktops", region.desktops_cidr),
            ]
        for site in self.openstack_sites:
            ranges += [(f"{site.name} workloads", site.workloads_cidr), (f"{site.name} desktops", site.desktops_cidr)]
        for index, (name, network) in enumerate(ranges):
            for other_name, other in ranges[index + 1 :]:
                if network.overlaps(other):
                    raise ValueError(f"{name} {network} overlaps {other_name} {other}")
        wanted = {("aws", r.region, n) for r in self.aws_regions for n in (1, 2)}
        wanted |= {("openstack", s.name, 1) for s in self.openstack_sites}
        for hub in self.hubs:
            have = [(t.cloud, t.site, t.number) for t in hub.cloud_tunnels]
            if sorted(have) != sorted(wanted):
                raise ValueError(
                    f"hub {hub.name}: cloud_tunnels must plan tunnels 1 and 2 per AWS region and one per "
                    f"OpenStack site, once each (missing: {sorted(wanted - set(have))})"
                )
        refuse_desktop_flows_into(self.desktop_flows, self.store_supernet)
        self._customer_gateway_asns()
        self._hq_cut_consistent()
        return self

    def _customer_gateway_asns(self) -> None:
        """Every hub and every OpenStack gateway is a customer gateway in each AWS region: none may
        carry an ASN AWS keeps for itself there."""
        gateways = [(f"hub {h.name}", h.bgp_asn) for h in self.hubs]
        gateways += [(f"OpenStack site {s.name}", s.bgp_asn) for s in self.openstack_sites]
        for region in self.aws_regions:
            for who, asn in gateways:
                if refusal := customer_gateway_asn_refusal(asn, region.region):
                    raise ValueError(f"{who}: {refusal}")

    def _hq_cut_consistent(self) -> None:
        """The infrastructure lies inside HQ and its servers inside the infrastructure: the
        security groups (which allow `hq_cut`) and the NACLs (which allow the servers, then deny
        the infrastructure before allowing HQ) then tell one story."""
        hq = self.hq_prefixes
        for network in self.hq_infrastructure:
            if not any(network.subnet_of(prefix) for prefix in hq):
                raise ValueError(f"HQ infrastructure {network} is not inside HQ's ranges")
        for server in self.hq_infrastructure_servers:
            if not any(server.subnet_of(i) for i in self.hq_infrastructure):
                raise ValueError(
                    f"HQ infrastructure server {server} is not inside "
                    f"{', '.join(map(str, self.hq_infrastructure)) or 'any HQ infrastructure'}"
                )

    @property
    def hq_prefixes(self) -> list[ipaddress.IPv4Network]:
        return sorted({prefix for hub in self.hubs for prefix in hub.prefixes})

    @property
    def hq_cut(self) -> list[ipaddress.IPv4Network]:
        """What the clouds may reach at HQ, as a security group lists it: HQ less its
        infrastructure, and the servers written inside it (`NetworkIntent.cloud_hq`)."""
        return list(collapse([*excluding(self.hq_prefixes, self.hq_infrastructure), *self.hq_infrastructure_servers]))

    @property
    def hq_exceptions(self) -> list[ipaddress.IPv4Network]:
        """The parts of `hq_cut` inside `hq_infrastructure` (servers written inside the DC core
        LAN): a NACL allows them before it denies the infrastructure."""
        return [n for n in self.hq_cut if any(n.subnet_of(i) for i in self.hq_infrastructure)]


def _unique(what: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{what} {name!r} appears twice")
        seen.add(name)


