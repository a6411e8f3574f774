"""What a lab is made of: appliances and the point-to-point WAN links between them.

The topology is plain typed data so that the lab can be built from the fleet inventory, from a
synthetic generator (benchmarks) or by hand (tests) in exactly the same way.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from storestack.common.platforms import Platform
from storestack.devices.platforms import get_platform
from storestack.devices.targets import ApplianceRole

LinkKind = Literal["fiber", "broadband", "lte", "5g"]
# How the lab carries a link's overlay: "veth" puts the overlay /31 straight on a veth pair
# between store and hub; "ipsec" gives every site a WAN veth into the lab's internet
# namespace and carries the overlay through IPsec (strongSwan kernel-libipsec) only.
OverlayMode = Literal["veth", "ipsec"]

# Linux limits interface names to 15 bytes (IFNAMSIZ - 1).
_IFNAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$"
# An FRR hostname becomes the vtysh prompt; keep it to characters every CLI accepts.
_HOSTNAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"


class LabAppliance(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_HOSTNAME, description="hostname; also the vtysh prompt")
    role: ApplianceRole
    store_id: str | None = Field(default=None, description="owning store; None for hubs")
    platform: Platform = "frr"
    management_address: IPv4Address | None = Field(
        default=None,
        description="where HQ manages it in-band (a store's loopback, a hub's address in the "
        "management network); None: the lab's loopback side door only (synthetic labs)",
    )
    management_port: str | None = Field(
        default=None,
        description="a hub's management port (`HubIntent.management_port`), where its management address "
        "is, on HQ's management LAN (lab/sites.py); None: none",
    )
    primary_hub: str | None = Field(default=None, description="a store edge's primary hub")

    @property
    def emulated(self) -> bool:
        """Runs in the vendor emulator rather than as an FRR router in a namespace."""
        return get_platform(self.platform).emulated


class LabEndpoint(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    appliance: str
    ifname: str = Field(pattern=_IFNAME)
    address: IPv4Interface


class LabLink(BaseModel):
    """One WAN link, a veth pair: side `a` is the store edge, side `b` the hub."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    store_id: str
    name: str = Field(description="the link's name within its store, e.g. 'fiber' or 'lte'")
    kind: LinkKind
    primary: bool = Field(default=False, description="the store's preferred link")
    a: LabEndpoint
    b: LabEndpoint
    underlay: IPv4Interface | None = Field(
        default=None, description="the store's static WAN address; None: the lab assigns one (DHCP stand-in)"
    )
    gateway: IPv4Address | None = Field(default=None, description="the static address's gateway")

    @model_validator(mode="after")
    def _same_subnet(self) -> LabLink:
        if self.a.address.network != self.b.address.network:
            raise ValueError(
                f"link {self.store_id}/{self.name}: {self.a.address} and {self.b.address} "
                "are not in the same subnet"
            )
        if self.a.address.ip == self.b.address.ip:
            raise ValueError(f"link {self.store_id}/{self.name}: both ends have {self.a.address.ip}")
        return self


class LabTunnelPlan(BaseModel):
    """One store-to-hub IPsec tunnel of the network intent, as the lab builds it (no secrets)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="the intent's tunnel id, the same at both ends")
    store_id: str
    store: str = Field(description="the store appliance, the initiator")
    transport: str = Field(description="the store WAN link the tunnel rides on")
    hub: str
    store_inside: IPv4Interface
    hub_inside: IPv4Interface
    store_identity: str
    hub_identity: str


class LabSegment(BaseModel):
    """A store LAN segment the lab puts one host on (a till, a guest phone, an office PC …)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    store_id: str
    appliance: str
    kind: str = Field(description="the segment's zone in the network intent: pos, office, iot, guest-wifi …")
    vlan: int
    subnet: IPv4Network
    gateway: IPv4Address
    host: IPv4Address
    hub: str | None = Field(
        default=None,
        description="the store's primary hub: HQ routes the segment back through it, as the hub "
        "that saw the flow's first packet holds its firewall state",
    )


class LabDcCore(BaseModel):
    """The HQ data-centre core as the intent gives it: the LAN the hubs share with the core
    routers (`sites.hq.core`), the routers' addresses, the core's ASN (`asn.dc_core`), each
    hub's address on the LAN (`dc_address`) and ASN, and what the core announces to the hubs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    asn: int
    lan: IPv4Network
    routers: list[IPv4Address] = Field(min_length=1)
    hub_addresses: dict[str, IPv4Address]
    hub_asn: int
    announce: list[IPv4Network]


class LabHubCloudVpn(BaseModel):
    """A stand-in for a hub's first cloud VPN BGP session (the lab runs none of the hubs' cloud
    VPNs): a link named like the hub's rendered tunnel interface, on which the hub's rendered
    config puts its inside address, to a BGP speaker in HQ at the far end's inside address and
    ASN that announces `announce`, a VPC's prefix inside the cloud summary. So the hubs learn a
    cloud route as they would from AWS, and announce the cloud summary only while they do."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ifname: str
    hub_inside: IPv4Interface
    peer_inside: IPv4Address
    peer_asn: int
    hub_asn: int
    announce: IPv4Network


class LabSites(BaseModel):
    """The lab's stand-ins beyond the stores: HQ (POS service, management) and the cloud."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hq_prefixes: list[IPv4Network]
    hq_pos: IPv4Address = Field(description="the HQ POS service, inside the intent's hq-pos service")
    hq_management: IPv4Address = Field(description="the management workstation, inside ip_plan.management")
    management_prefixes: list[IPv4Network] = Field(
        default_factory=list, description="ip_plan.management: where a store's day-0 route to HQ points"
    )
    cloud_prefix: IPv4Network
    cloud_host: IPv4Address
    via_hubs: list[IPv4Network] = Field(
        description="what HQ routes towards the hubs: ip_plan.stores, transit and loopbacks"
    )
    dc_core: LabDcCore | None = Field(default=None, description="the DC core routers the hubs peer with")
    hub_cloud_vpns: dict[str, LabHubCloudVpn] = Field(
        default_factory=dict, description="hub name → the stand-in for its first cloud VPN's BGP session"
    )


class LabTopology(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    appliances: list[LabAppliance]
    links: list[LabLink] = []
    overlay: OverlayMode = "veth"
    public_addresses: dict[str, IPv4Address] = Field(
        default_factory=dict, description="hub name → the public address its stores' tunnels dial"
    )
    fleet_root: str | None = Field(
        default=None, description="the fleet the lab was built from; its rendered IPsec files run in the lab"
    )
    segments: list[LabSegment] = Field(default_factory=list)
    sites: LabSites | None = None
    tunnels: list[LabTunnelPlan] = Field(
        default_factory=list,
        description="the intent's store-hub tunnels; empty: one lab tunnel per link (synthetic labs)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> LabTopology:
        names = [appliance.name for appliance in self.appliances]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"duplicate appliance names: {', '.join(duplicates)}")
        known = set(names)
        used_ifnames: set[tuple[str, str]] = set()
        link_ids: set[tuple[str, str]] = set()
        for link in self.links:
            if (link.store_id, link.name) in link_ids:
                raise ValueError(f"duplicate link {link.store_id}/{link.name}")
            link_ids.add((link.store_id, link.name))
            for end in (link.a, link.b):
                if end.appliance not in known:
                    raise ValueError(f"link {link.store_id}/{link.name}: unknown appliance {end.appliance}")
                if (end.appliance, end.ifname) in used_ifnames:
                    raise ValueError(f"interface {end.ifname} used twice on {end.appliance}")
                used_ifnames.add((end.appliance, end.ifname))
        return self

    def appliance(self, name: str) -> LabAppliance:
        for appliance in self.appliances:
            if appliance.name == name:
                return appliance
        raise KeyError(name)

    def link(self, store_id: str, name: str) -> LabLink:
        for link in self.links:
            if link.store_id == store_id and link.name == name:
                return link
        raise KeyError(f"{store_id}/{name}")

    def links_of(self, appliance: str) -> list[LabLink]:
        return [link for link in self.links if appliance in (link.a.appliance, link.b.appliance)]


def sanitize_name(text: str) -> str:
    """Lower-case [a-z0-9-] form of a name, for namespace and path components."""
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "x"
