"""`StoreSite`: one store's cloud side, and a `StoreEdge` per appliance describing the device itself.

Every tunnel parameter here comes from the network intent (`storestack.network`), through
`stacks/mapping.py`: the hub tunnels (each WAN link to each of the store's hubs) with their
inside addresses and ids, the AWS tunnels' inside /30s and ids, and every key (`TunnelKeys`,
derived per tunnel id). What the store stack adds is only what AWS assigns: its tunnels'
outside addresses.

A store reaches AWS (when it has AWS affinity) over one site-to-site VPN per WAN link, each a BGP
attachment on the region's Transit Gateway:

- the attachment is associated with the `stores` route table, which only ever learns the workloads
  VPC, so a store can never reach another store (or HQ, or the desktops) through AWS;
- it is propagated into the `workloads` table only (`aws_region.PROPAGATES_INTO`): the desktops
  and HQ reach a store through the hubs, the path its packets to them take;
- the VPN is route-based with 0.0.0.0/0 selectors (the BGP session between the 169.254 inside
  addresses must fit inside them); what a store may announce is held by the prefix-lists below
  and by the `stores` table, which never learns a store route;
- the advertised prefixes (all inside `own_prefixes`) are an output the device and hub templates
  turn into outbound/inbound prefix-lists.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

import pulumi
from pydantic import AfterValidator, Field, SecretStr, model_validator

from storestack.common.addressing import LINK_LOCAL
from storestack.common.asn import ASN_FIRST, ASN_LAST, customer_gateway_asn_refusal
from storestack.common.patterns import AWS_REGION, anchored
from storestack.common.platforms import Platform
from storestack.components.common import (
    FleetTags,
    FrozenModel,
    PrivateNetwork,
    PublicAddress,
    Slug,
    TunnelKeys,
    component_tags,
)
from storestack.components.network import CustomerGatewaySpec, transit_gateway_vpn
from storestack.network.cloud import AWS_RESERVED_INSIDE

COMPONENT = "store-site"
LinkKind = Literal["fiber", "broadband", "lte", "5g"]


def _check_aws_inside_cidr(network: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
    if network.prefixlen != 30 or not network.subnet_of(LINK_LOCAL):
        raise ValueError(f"{network} is not a /30 inside 169.254.0.0/16")
    if network in AWS_RESERVED_INSIDE:
        raise ValueError(f"{network} is reserved by AWS")
    return network


def _check_hostname(value: str) -> str:
    labels = value.split(".")
    if len(value) > 253 or not all(
        1 <= len(label) <= 63
        and label[0].isalnum()
        and label[-1].isalnum()
        and all(c.isascii() and (c.isalnum() or c == "-") for c in label)
        for label in labels
    ):
        raise ValueError(f"{value!r} is not an RFC 1123 hostname")
    return value.lower()


AwsInsideCidr = Annotated[ipaddress.IPv4Network, AfterValidator(_check_aws_inside_cidr)]
Hostname = Annotated[str, AfterValidator(_check_hostname)]
# The network intent's tunnel id: the same string at both ends, the key derives from it.
TunnelId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{0,126}[a-z0-9]$")]
TunnelRole = Literal["primary", "secondary", "backup"]


class AwsTunnelArgs(FrozenModel):
    """One of the two tunnels of a WAN link's AWS VPN, as the network intent plans it."""

    tunnel_id: TunnelId
    inside_cidr: AwsInsideCidr


class StoreWanLinkArgs(FrozenModel):
    name: Slug
    kind: LinkKind
    public_address: PublicAddress | None = Field(default=None, description="None for DHCP links")
    certificate_arn: str | None = Field(
        default=None, pattern=r"^arn:aws:acm:[a-z0-9-]+:[0-9]{12}:certificate/[A-Za-z0-9-]+$"
    )
    aws_tunnels: list[AwsTunnelArgs] = Field(
        default_factory=list, max_length=2, description="tunnel 1 and 2 of the link's AWS VPN (intent)"
    )

    @model_validator(mode="after")
    def _two_or_none(self) -> StoreWanLinkArgs:
        if len(self.aws_tunnels) not in (0, 2):
            raise ValueError("give both AWS tunnels of the link or neither")
        return self


class HubTunnelArgs(FrozenModel):
    """An overlay tunnel from one of the store's WAN links to an HQ SD-WAN hub (intent values)."""

    tunnel_id: TunnelId
    hub: Hostname
    hub_address: PublicAddress
    hub_asn: int = Field(ge=ASN_FIRST, le=ASN_LAST)
    wan_link: Slug
    inside_cidr: ipaddress.IPv4Network
    store_inside_address: ipaddress.IPv4Address
    hub_inside_address: ipaddress.IPv4Address
    role: TunnelRole

    @model_validator(mode="after")
    def _point_to_point(self) -> HubTunnelArgs:
        if self.inside_cidr.prefixlen not in (30, 31):
            raise ValueError(f"hub tunnel inside {self.inside_cidr} must be a /30 or /31")
        for address in (self.store_inside_address, self.hub_inside_address):
            if address not in self.inside_cidr:
                raise ValueError(f"{address} is not inside the tunnel network {self.inside_cidr}")
        if self.store_inside_address == self.hub_inside_address:
            raise ValueError("store and hub need different tunnel addresses")
        return self


class StoreApplianceArgs(FrozenModel):
    hostname: Hostname
    platform: Platform
    management_address: ipaddress.IPv4Address
    wan_links: list[Slug] = Field(min_length=1)


class StoreSiteArgs(FrozenModel):
    store_id: Slug
    fleet: Slug
    tags: FleetTags
    bgp_asn: int = Field(ge=ASN_FIRST, le=ASN_LAST)
    store_supernet: PrivateNetwork
    own_prefixes: list[PrivateNetwork] = Field(min_length=1, description="the store's allocation: block and pinned subnets")
    advertised_prefixes: list[PrivateNetwork] = Field(min_length=1)
    wan_links: list[StoreWanLinkArgs] = Field(min_length=1)
    hub_tunnels: list[HubTunnelArgs] = Field(default_factory=list)
    appliances: list[StoreApplianceArgs] = Field(min_length=1)
    aws_region: str | None = Field(default=None, pattern=anchored(AWS_REGION))

    @model_validator(mode="after")
    def _consistent(self) -> StoreSiteArgs:
        for own in self.own_prefixes:
            if not own.subnet_of(self.store_supernet):
                raise ValueError(f"own prefix {own} is outside the store supernet {self.store_supernet}")
        for prefix in self.advertised_prefixes:
            if not any(prefix.subnet_of(own) for own in self.own_prefixes):
                raise ValueError(
                    f"{prefix} is not inside {self.store_id}'s own allocation "
                    f"({', '.join(map(str, self.own_prefixes))}): a store may only announce its own prefixes"
                )
        links = {link.name: link for link in self.wan_links}
        if len(links) != len(self.wan_links):
            raise ValueError("WAN link names must be unique")
        owners: dict[str, str] = {}
        for appliance in self.appliances:
            for link in appliance.wan_links:
                if link not in links:
                    raise ValueError(f"appliance {appliance.hostname} uses unknown WAN link {link!r}")
                if link in owners:
                    raise ValueError(f"WAN link {link!r} is on both {owners[link]} and {appliance.hostname}")
                owners[link] = appliance.hostname
        pairs = [(tunnel.wan_link, tunnel.hub) for tunnel in self.hub_tunnels]
        if len(pairs) != len(set(pairs)):
            raise ValueError("one hub tunnel per (WAN link, hub)")
        ids = [t.tunnel_id for t in self.hub_tunnels] + [t.tunnel_id for link in self.wan_links for t in link.aws_tunnels]
        if len(ids) != len(set(ids)):
            raise ValueError("tunnel ids must be unique: each tunnel's key derives from its id")
        for tunnel in self.hub_tunnels:
            if tunnel.wan_link not in links:
                raise ValueError(f"hub tunnel to {tunnel.hub} uses unknown WAN link {tunnel.wan_link!r}")
            if tunnel.hub_asn == self.bgp_asn:
                raise ValueError(f"store ASN {self.bgp_asn} equals hub {tunnel.hub}'s ASN")
        if self.aws_region is not None and (refusal := customer_gateway_asn_refusal(self.bgp_asn, self.aws_region)):
            raise ValueError(f"store {self.store_id}: {refusal}")
        if self.aws_region is not None and not self.aws_links:
            raise ValueError(
                "AWS affinity needs at least one WAN link with a static public address or a certificate ARN, "
                "so AWS can identify the store's customer gateway"
            )
        inside = [t.inside_cidr for link in self.wan_links for t in link.aws_tunnels]
        if len(set(inside)) != len(inside):
            raise ValueError("AWS tunnel inside CIDRs must be distinct")
        if self.aws_region is not None:
            unplanned = [link.name for link in self.aws_links if not link.aws_tunnels]
            if unplanned:
                raise ValueError(
                    f"WAN link(s) {', '.join(unplanned)} reach AWS but have no planned tunnels (aws_tunnels)"
                )
        return self

    @property
    def advertised(self) -> list[ipaddress.IPv4Network]:
        return sorted(set(self.advertised_prefixes))

    @property
    def aws_links(self) -> list[StoreWanLinkArgs]:
        """Links AWS can identify as a customer gateway; dynamic links reach the cloud through the hubs."""
        return [link for link in self.wan_links if link.public_address is not None or link.certificate_arn]


@dataclass(frozen=True)
class TransitGatewayRef:
    """The core stack's Transit Gateway in the store's region (live or from a StackReference)."""

    region: str
    transit_gateway_id: pulumi.Input[str]
    stores_route_table_id: pulumi.Input[str]
    return_route_table_ids: Mapping[str, pulumi.Input[str]]


# --- what an appliance config is rendered from ------------------------------------------------


class EdgeTunnel(FrozenModel):
    name: str
    peer_kind: Literal["aws", "hub"]
    peer_name: str
    role: Literal["primary", "secondary", "backup", "cloud"]
    wan_link: str
    peer_outside_address: ipaddress.IPv4Address
    inside_cidr: ipaddress.IPv4Network
    local_inside_address: ipaddress.IPv4Address
    peer_inside_address: ipaddress.IPv4Address
    peer_asn: int
    psk: SecretStr


class EdgeWanLink(FrozenModel):
    name: str
    kind: LinkKind
    public_address: ipaddress.IPv4Address | None
    tunnels: list[EdgeTunnel]


class EdgeRenderContext(FrozenModel):
    """Everything the appliance renderer is given: validated values only, PSKs as `SecretStr`.

    `planned` is true when the values come from a plan (mock or preview) rather than a live stack,
    so the rendered config can say so.
    """

    store_id: str
    hostname: str
    platform: Platform
    management_address: ipaddress.IPv4Address
    bgp_asn: int
    own_prefixes: list[ipaddress.IPv4Network]
    advertised_prefixes: list[ipaddress.IPv4Network]
    wan_links: list[EdgeWanLink] = Field(description="the links this appliance terminates")
    store_wan_links: list[EdgeWanLink] = Field(
        description="every WAN link of the store with its tunnels: a device render checks the "
        "stack's values store-wide, as `storestack devices render --outputs` does"
    )
    planned: bool


class ApplianceConfigRenderer(Protocol):
    """Renders one appliance's intended config; `storestack.devices` provides the real one."""

    def __call__(self, context: EdgeRenderContext) -> str: ...


class StoreEdge(pulumi.ComponentResource):
    """One store appliance: platform, management address, WAN links with tunnels and BGP peers."""

    def __init__(
        self,
        name: str,
        site: StoreSiteArgs,
        appliance: StoreApplianceArgs,
        tunnels: pulumi.Output[list[dict[str, Any]]],
        psks: pulumi.Output[dict[str, str]],
        renderer: ApplianceConfigRenderer | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("storestack:store:StoreEdge", name, None, opts)
        own_links = set(appliance.wan_links)
        links = [link for link in site.wan_links if link.name in own_links]
        self.platform: str = appliance.platform
        self.management_address = str(appliance.management_address)
        # One derived Output for both views keeps the runtime's bookkeeping small per edge.
        views = tunnels.apply(lambda all_tunnels: _edge_views(site, links, all_tunnels))
        self.wan_links: pulumi.Output[list[dict[str, Any]]] = views.apply(lambda v: v[0])
        self.bgp_peers: pulumi.Output[list[dict[str, Any]]] = views.apply(lambda v: v[1])
        outputs: dict[str, Any] = {
            "platform": self.platform,
            "management_address": self.management_address,
            "wan_links": self.wan_links,
            "bgp_peers": self.bgp_peers,
        }
        self.intended_config: pulumi.Output[str] | None = None
        if renderer is not None:
            planned = pulumi.runtime.is_dry_run()

            def render(all_tunnels: list[dict[str, Any]], keys: Mapping[str, str]) -> str:
                return renderer(_render_context(site, appliance, all_tunnels, keys, planned))

            # Nested applies, not Output.all(tunnels, psks), which would first rebuild every tunnel
            # dict as an Output per value (see `_joined`).
            self.intended_config = pulumi.Output.secret(
                tunnels.apply(lambda all_tunnels: psks.apply(lambda keys: render(all_tunnels, keys)))
            )
            outputs["intended_config"] = self.intended_config
        self.register_outputs(outputs)


def _edge_views(
    site: StoreSiteArgs, links: list[StoreWanLinkArgs], tunnels: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(WAN links with their tunnel names, BGP peers) of the appliance that owns `links`."""
    names = {link.name for link in links}
    own = [t for t in tunnels if t["wan_link"] in names]
    wan_links = [
        {
            "name": link.name,
            "kind": link.kind,
            "public_address": str(link.public_address) if link.public_address else None,
            "tunnels": [t["name"] for t in own if t["wan_link"] == link.name],
        }
        for link in links
    ]
    peers = [
        {
            "peer": t["peer_name"],
            "kind": t["peer_kind"],
            "tunnel": t["name"],
            "address": t["peer_inside_address"],
            "remote_asn": t["peer_asn"],
            "local_asn": site.bgp_asn,
        }
        for t in own
    ]
    return wan_links, peers


def _render_context(
    site: StoreSiteArgs,
    appliance: StoreApplianceArgs,
    tunnels: list[dict[str, Any]],
    psks: Mapping[str, str],
    planned: bool,
) -> EdgeRenderContext:
    store_links = [
        EdgeWanLink(
            name=link.name,
            kind=link.kind,
            public_address=link.public_address,
            tunnels=[
                EdgeTunnel(
                    name=t["name"],
                    peer_kind=t["peer_kind"],
                    peer_name=t["peer_name"],
                    role=t["role"],
                    wan_link=t["wan_link"],
                    peer_outside_address=t["peer_outside_address"],
                    inside_cidr=t["inside_cidr"],
                    local_inside_address=t["local_inside_address"],
                    peer_inside_address=t["peer_inside_address"],
                    peer_asn=int(t["peer_asn"]),
                    psk=SecretStr(psks[t["name"]]),
                )
                for t in tunnels
                if t["wan_link"] == link.name
            ],
        )
        for link in site.wan_links
    ]
    own = set(appliance.wan_links)
    return EdgeRenderContext(
        store_id=site.store_id,
        hostname=appliance.hostname,
        platform=appliance.platform,
        management_address=appliance.management_address,
        bgp_asn=site.bgp_asn,
        own_prefixes=sorted(site.own_prefixes),
        advertised_prefixes=site.advertised,
        wan_links=[link for link in store_links if link.name in own],
        store_wan_links=store_links,
        planned=planned,
    )


def _joined(head: list[dict[str, Any]], parts: list[pulumi.Output[list[dict[str, Any]]]]) -> pulumi.Output[list[dict[str, Any]]]:
    """`head` followed by every part's items.

    `Output.all(*parts)` would unwrap each part's dicts deeply, an Output per value; an apply that
    returns the next part's apply hands the lists over as they are (same value, secret-ness and
    dependencies).
    """
    Tunnels = list[dict[str, Any]]

    def extend(so_far: Tunnels, part: pulumi.Output[Tunnels]) -> pulumi.Output[Tunnels]:
        return part.apply(lambda more: so_far + more)

    joined: pulumi.Output[Tunnels] = pulumi.Output.all().apply(lambda _: list(head))
    for part in parts:
        joined = joined.apply(functools.partial(extend, part=part))
    return joined


class StoreSite(pulumi.ComponentResource):
    """One store's VPNs to AWS, its hub tunnel keys, and a `StoreEdge` per appliance."""

    def __init__(
        self,
        name: str,
        args: StoreSiteArgs,
        transit: TransitGatewayRef | None = None,
        renderer: ApplianceConfigRenderer | None = None,
        opts: pulumi.ResourceOptions | None = None,
        *,
        keys: TunnelKeys,
    ) -> None:
        super().__init__("storestack:store:StoreSite", name, None, opts)
        if args.aws_region is not None and (transit is None or transit.region != args.aws_region):
            raise ValueError(f"store {args.store_id} has AWS affinity {args.aws_region} but no Transit Gateway there")
        self._args = args
        self._keys = keys
        self._tags = component_tags(args.tags, COMPONENT, store=args.store_id)
        child = pulumi.ResourceOptions(parent=self)
        hub_tunnels: list[dict[str, Any]] = []
        aws_tunnels: list[pulumi.Output[list[dict[str, Any]]]] = []
        psks: dict[str, Any] = {}

        for hub in args.hub_tunnels:
            psks[hub.tunnel_id] = keys.psk(hub.tunnel_id)
            hub_tunnels.append(
                {
                    "name": hub.tunnel_id,
                    "peer_kind": "hub",
                    "peer_name": hub.hub,
                    "role": hub.role,
                    "wan_link": hub.wan_link,
                    "peer_outside_address": str(hub.hub_address),
                    "inside_cidr": str(hub.inside_cidr),
                    "local_inside_address": str(hub.store_inside_address),
                    "peer_inside_address": str(hub.hub_inside_address),
                    "peer_asn": hub.hub_asn,
                }
            )
        if transit is not None and args.aws_region is not None:
            for link in args.aws_links:
                link_tunnels, link_psks = self._aws_link(name, link, transit, child)
                aws_tunnels.append(link_tunnels)
                psks.update(link_psks)

        self.tunnels = _joined(hub_tunnels, aws_tunnels)
        self.tunnel_psks: pulumi.Output[dict[str, str]] = pulumi.Output.secret(pulumi.Output.all(**psks))
        self.advertised_prefixes = [str(p) for p in args.advertised]
        self.hub_peers = [
            {
                "hub": hub.hub,
                "address": str(hub.hub_address),
                "asn": hub.hub_asn,
                "wan_link": hub.wan_link,
                "role": hub.role,
                "store_inside_address": str(hub.store_inside_address),
                "hub_inside_address": str(hub.hub_inside_address),
            }
            for hub in args.hub_tunnels
        ]
        self.edges = {
            appliance.hostname: StoreEdge(
                f"{name}-{appliance.hostname}",
                args,
                appliance,
                self.tunnels,
                self.tunnel_psks,
                renderer,
                opts=child,
            )
            for appliance in args.appliances
        }
        self.edge_summary: dict[str, Any] = {
            hostname: {
                "platform": edge.platform,
                "management_address": edge.management_address,
                "wan_links": edge.wan_links,
                "bgp_peers": edge.bgp_peers,
            }
            for hostname, edge in self.edges.items()
        }
        configs: dict[str, Any] = {h: e.intended_config for h, e in self.edges.items() if e.intended_config is not None}
        self.intended_configs: pulumi.Output[dict[str, str]] = pulumi.Output.secret(pulumi.Output.all(**configs))
        self.register_outputs(
            {
                "tunnels": self.tunnels,
                "tunnel_psks": self.tunnel_psks,
                "hub_peers": self.hub_peers,
                "advertised_prefixes": self.advertised_prefixes,
                "own_prefixes": [str(p) for p in sorted(args.own_prefixes)],
                "edges": self.edge_summary,
                "intended_configs": self.intended_configs,
            }
        )

    def _aws_link(
        self, name: str, link: StoreWanLinkArgs, transit: TransitGatewayRef, child: pulumi.ResourceOptions
    ) -> tuple[pulumi.Output[list[dict[str, Any]]], dict[str, pulumi.Output[str]]]:
        args = self._args
        region = transit.region
        resource = f"{name}-{link.name}"
        tags = {**self._tags, "Name": f"{args.fleet}-{args.store_id}-{link.name}", "storestack:wan-link": link.name}
        planned = link.aws_tunnels
        keys = (self._keys.psk(planned[0].tunnel_id), self._keys.psk(planned[1].tunnel_id))
        vpn = transit_gateway_vpn(
            resource,
            region=region,
            transit_gateway_id=transit.transit_gateway_id,
            gateway=CustomerGatewaySpec(
                device_name=f"{args.store_id}-{link.name}",
                bgp_asn=args.bgp_asn,
                ip_address=str(link.public_address) if link.public_address else None,
                certificate_arn=link.certificate_arn,
            ),
            psks=keys,
            associate_with=transit.stores_route_table_id,
            propagate_to=transit.return_route_table_ids,
            inside_cidrs=[tunnel.inside_cidr for tunnel in planned],
            tags=tags,
            opts=child,
        )
        psks = {planned[n - 1].tunnel_id: keys[n - 1] for n in (1, 2)}
        fields = ("outside_address", "inside_cidr", "local_inside_address", "peer_inside_address", "peer_asn")
        first, second = vpn.tunnel(1), vpn.tunnel(2)

        def describe(values: list[Any]) -> list[dict[str, Any]]:
            tunnels = []
            for n, chunk in ((1, values[:5]), (2, values[5:])):
                found = dict(zip(fields, chunk, strict=True))
                tunnels.append(
                    {
                        "name": planned[n - 1].tunnel_id,
                        "peer_kind": "aws",
                        "peer_name": f"aws-{region}",
                        "role": "cloud",
                        "wan_link": link.name,
                        "peer_outside_address": found["outside_address"],
                        "inside_cidr": found["inside_cidr"],
                        "local_inside_address": found["local_inside_address"],
                        "peer_inside_address": found["peer_inside_address"],
                        "peer_asn": found["peer_asn"],
                        "traffic_selector": "0.0.0.0/0",
                    }
                )
            return tunnels

        outputs = pulumi.Output.all(*(first[f] for f in fields), *(second[f] for f in fields)).apply(describe)
        return outputs, psks
