"""The lab topology of a fleet: its hubs, the chosen stores' appliances and their WAN links.

Each WAN link becomes a veth pair between the store's edge appliance and the hub the inventory
assigns to that link (fiber/broadband to the store's primary hub, LTE/5G to its backup). The
veth carries the link's overlay /31 from IPAM, the addresses the store's BGP sessions use, so
configs rendered from the inventory work unchanged in the lab. The store side is named like
the link (`wan1`, `lte1`); the hub side after the store and the link.
"""

from __future__ import annotations

import hashlib
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from storestack.devices.views import ViewBuilder
from storestack.inventory import Fleet, ResolvedStore, hq
from storestack.lab.errors import LabError
from storestack.lab.topology import (
    LabAppliance,
    LabDcCore,
    LabEndpoint,
    LabHubCloudVpn,
    LabLink,
    LabSegment,
    LabSites,
    LabTopology,
    LabTunnelPlan,
    OverlayMode,
)
from storestack.network.build import DEFAULT_ROUTE, NetworkIntent

_IFNAMSIZ = 15


def hub_ifname(store_id: str, link_name: str) -> str:
    """Interface name on the hub for one store link, within Linux's 15 characters."""
    name = f"{store_id}-{link_name}"
    if len(name) <= _IFNAMSIZ:
        return name
    digest = hashlib.sha1(store_id.encode("utf-8")).hexdigest()[:6]
    return f"s{digest}-{link_name}"[:_IFNAMSIZ]


def select_stores(
    fleet: Fleet, stores: list[str] | None = None, count: int | None = None
) -> list[ResolvedStore]:
    """The named stores (all when none are named), or the first `count` of them."""
    chosen = list(fleet.filter(ids=stores) if stores else fleet)
    if count is not None:
        if count < 1:
            raise LabError("--count must be at least 1")
        chosen = chosen[:count]
    if not chosen:
        raise LabError("the inventory selects no store for the lab")
    return chosen


def topology_from_fleet(
    fleet: Fleet,
    stores: list[str] | None = None,
    *,
    count: int | None = None,
    overlay: OverlayMode = "veth",
) -> LabTopology:
    selected = select_stores(fleet, stores, count)
    intent = NetworkIntent(fleet)
    appliances = [
        LabAppliance(
            name=hub.hostname, role="hub", platform=hub.platform, management_address=hub.management_address,
            management_port=intent.hub(hub.hostname).management_port,
        )
        for hub in fleet.hubs.values()
    ]
    links: list[LabLink] = []
    for store in selected:
        if not store.appliances:
            continue
        for appliance in store.appliances:
            appliances.append(
                LabAppliance(
                    name=appliance.hostname,
                    role="edge",
                    store_id=store.id,
                    platform=appliance.platform,
                    management_address=appliance.management_address,
                    primary_hub=store.primary_hub,
                )
            )
        # The first appliance of a store terminates its WAN links.
        edge = store.appliances[0].hostname
        for link in store.wan:
            if link.hub not in fleet.hubs:
                raise LabError(f"store {store.id} link {link.name} names unknown hub {link.hub}")
            hub_side = IPv4Interface(f"{link.overlay_peer}/{link.overlay.network.prefixlen}")
            links.append(
                LabLink(
                    store_id=store.id,
                    name=link.name,
                    kind=link.kind,
                    primary=link.primary,
                    a=LabEndpoint(appliance=edge, ifname=link.name, address=link.overlay),
                    b=LabEndpoint(
                        appliance=link.hub, ifname=hub_ifname(store.id, link.name), address=hub_side
                    ),
                    underlay=link.address,
                    gateway=link.gateway,
                )
            )
    return LabTopology(
        appliances=appliances,
        links=links,
        overlay=overlay,
        public_addresses={name: hub.public_address for name, hub in fleet.hubs.items()},
        tunnels=intent_tunnels(fleet, selected, appliances) if overlay == "ipsec" else [],
        segments=segment_hosts(selected, appliances) if overlay == "ipsec" else [],
        sites=lab_sites(fleet) if overlay == "ipsec" else None,
        fleet_root=str(fleet.root) if overlay == "ipsec" else None,
    )


# The hosts the lab puts on each FRR store: the four kinds of device a security team asks about.
HOST_SEGMENTS = ("pos", "guest-wifi", "office", "iot")


def segment_hosts(stores: list[ResolvedStore], appliances: list[LabAppliance]) -> list[LabSegment]:
    frr = {a.name for a in appliances if not a.emulated}
    found: list[LabSegment] = []
    for store in stores:
        if not store.appliances or store.appliances[0].hostname not in frr:
            continue
        for kind in HOST_SEGMENTS:
            segment = store.segments.get(kind)  # type: ignore[call-overload]
            if segment is None:
                continue
            found.append(
                LabSegment(
                    store_id=store.id,
                    appliance=store.appliances[0].hostname,
                    kind=kind,
                    vlan=segment.vlan,
                    subnet=segment.subnet,
                    gateway=segment.gateway,
                    host=segment.dhcp_start,
                    hub=store.primary_hub,
                )
            )
    return found


def _hub_cloud_vpns(fleet: Fleet, cloud_host: IPv4Address) -> dict[str, LabHubCloudVpn]:
    """Each hub's cloud VPN with BGP to the site whose ranges hold the cloud stand-in's host, as
    its rendered config spells it, announcing the /24 around that host (a VPC at the start of the
    cloud range: the first cloud site's slot, which only that site's sessions accept, whatever
    order the hub's tunnels come in)."""
    views = ViewBuilder(fleet)
    intent = NetworkIntent(fleet)
    found: dict[str, LabHubCloudVpn] = {}
    for name in fleet.hubs:
        view = views.hub_view(name)
        holding = {
            session.tunnel
            for session in intent.hub(name).sessions
            if session.kind in ("hub-aws", "hub-openstack") and any(cloud_host in net for net in session.accepts)
        }
        tunnel = next(
            (t for t in view.cloud_tunnels if t.id in holding and t.inside is not None and t.inside_peer), None
        )
        if tunnel is None or tunnel.inside is None or tunnel.inside_peer is None:
            continue
        found[name] = LabHubCloudVpn(
            ifname=tunnel.ifname,
            hub_inside=IPv4Interface(tunnel.inside.cidr),
            peer_inside=IPv4Address(tunnel.inside_peer),
            peer_asn=tunnel.asn,
            hub_asn=view.asn,
            announce=IPv4Network((int(cloud_host), 24), strict=False),
        )
    return found


def lab_sites(fleet: Fleet) -> LabSites:
    """HQ and cloud stand-in addresses, inside the intent's services and the IP plan."""
    plan = fleet.spec.ip_plan
    hq_pos = NetworkIntent(fleet).services["hq-pos"].prefixes[0]
    return LabSites(
        hq_prefixes=list(plan.hq),
        hq_pos=hq_pos.network_address + 10,
        hq_management=plan.management[0].network_address + 100,
        management_prefixes=list(plan.management),
        cloud_prefix=plan.cloud,
        cloud_host=plan.cloud.network_address + 10,
        via_hubs=[plan.stores, plan.transit, plan.loopbacks],
        dc_core=LabDcCore(
            asn=fleet.spec.asn.dc_core,
            lan=hq.core_lan(fleet.spec),
            routers=list(hq.core_routers(fleet.spec)),
            hub_addresses={name: hub.dc_address for name, hub in fleet.hubs.items()},
            hub_asn=fleet.spec.asn.hq,
            # What the hubs take from the core (their FROM-DC filter): the DC's default, which a
            # hub needs to give its stores theirs (`StoreDefault`), then HQ and management.
            announce=[DEFAULT_ROUTE, *plan.hq, *plan.management],
        ),
        hub_cloud_vpns=_hub_cloud_vpns(fleet, plan.cloud.network_address + 10),
    )


def intent_tunnels(
    fleet: Fleet, stores: list[ResolvedStore], appliances: list[LabAppliance]
) -> list[LabTunnelPlan]:
    """The store-hub tunnels the network intent gives the chosen stores' FRR edges."""
    frr = {a.name for a in appliances if not a.emulated}
    intent = NetworkIntent(fleet)
    plans: list[LabTunnelPlan] = []
    for store in stores:
        if not store.appliances or store.appliances[0].hostname not in frr:
            continue
        store_intent = intent.store(store.id)
        for tunnel in store_intent.tunnels:
            if tunnel.kind != "store-hub" or tunnel.peer not in frr:
                continue
            if tunnel.local_inside is None or tunnel.peer_inside is None:
                continue
            prefix = tunnel.local_inside.network.prefixlen
            plans.append(
                LabTunnelPlan(
                    id=tunnel.id,
                    store_id=store.id,
                    store=store_intent.hostname,
                    transport=tunnel.transport,
                    hub=tunnel.peer,
                    store_inside=tunnel.local_inside,
                    hub_inside=IPv4Interface(f"{tunnel.peer_inside}/{prefix}"),
                    store_identity=tunnel.local_id,
                    hub_identity=tunnel.peer_id,
                )
            )
    return plans
