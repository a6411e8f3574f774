"""Hosts and stand-in sites around the lab's appliances (the "ipsec" overlay).

- **Segment hosts**: one namespace per store segment of `LabTopology.segments` (a till on
  `pos`, a phone on `guest-wifi`, a PC on `office`, a sensor on `iot`), on a veth whose
  appliance end is named like the rendered config's VLAN interface (`lan0.<vlan>`) and carries
  the segment's gateway. The kernel here has no VLAN devices, so each segment gets its own veth
  instead of a tagged trunk: the lab's adaptation, invisible to FRR and nftables, which see the
  interface names they are configured for.
- **HQ**: a namespace behind both hubs (a veth `dc` on each) holding the HQ POS service and the
  management workstation; the hubs route HQ's and the cloud's prefixes to it, so BGP can
  announce them. HQ is also the chain's internet breakout (the hub firewall's "through HQ's
  breakout"): its own WAN into the lab internet, masqueraded, and each hub's last-resort
  default (table `default`, consulted after the main table) points at HQ. HQ's management
  LAN (`mgmtlan`, a bridge holding the management workstation with the management range's
  prefix) takes each hub's management port (a veth named like the rendered port, `mgmt`),
  where the rendered routing companion puts the hub's management address (lab/overlay.py
  `join_late_interfaces`): the workstation reaches it on that LAN, as HQ's management hosts do.
  HQ bridges the hubs' DC links into the DC LAN (`dclan`): the hubs' `dc_address`es and the DC
  core routers' addresses (`lab.dccore`) share it, as the intent's `sites.hq.core` says.
- **Cloud**: a namespace behind HQ holding one host of `ip_plan.cloud`.
- **Internet service**: a public address on the lab internet's bridge.

Addresses between the hubs, HQ and the cloud are lab-only (198.19.255.0/24).
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from storestack.lab import system
from storestack.lab.system import ip_batch
from storestack.lab.topology import LabSegment, LabTopology, sanitize_name
from storestack.lab.underlay import DYNAMIC_GATEWAY, HQ_SITE, INTERNET_SERVICE

_DC_POOL = IPv4Network("198.19.255.0/24")
DC_LAN = "dclan"  # HQ's bridge over the hubs' DC links
MANAGEMENT_LAN = "mgmtlan"  # HQ's management LAN, over the hubs' management ports


def host_namespace(prefix: str, segment: LabSegment) -> str:
    # `--` keeps every stand-in apart from appliance namespaces (see underlay.internet_namespace).
    return f"{prefix}--{sanitize_name(segment.store_id)}-{sanitize_name(segment.kind)}"[:48]


def hq_namespace(prefix: str) -> str:
    return f"{prefix}--hq"


def cloud_namespace(prefix: str) -> str:
    return f"{prefix}--cloud"


def lan_ifname(segment: LabSegment) -> str:
    return f"lan0.{segment.vlan}"


def site_namespaces(prefix: str, topology: LabTopology) -> dict[str, str]:
    """Role ("hq", "cloud", "<store>/<kind>") → namespace, for everything this module creates."""
    names: dict[str, str] = {f"{s.store_id}/{s.kind}": host_namespace(prefix, s) for s in topology.segments}
    if topology.sites is not None:
        names[HQ_SITE] = hq_namespace(prefix)
        names["cloud"] = cloud_namespace(prefix)
    return names


# Consulted after the main table: routes here never shadow what BGP installs (see lab/inband.py).
LAST_RESORT_TABLE = "default"


def create_sites(
    prefix: str, topology: LabTopology, appliance_namespaces: dict[str, str], internet_namespace: str
) -> None:
    """Segment hosts, HQ and the cloud; their namespaces exist already (`LabState.namespaces`),
    and HQ's WAN into the lab internet too (`lab.underlay`)."""
    _create_segment_hosts(prefix, topology, appliance_namespaces)
    if topology.sites is not None:
        _create_hq_and_cloud(prefix, topology, appliance_namespaces)
    ip_batch(internet_namespace, [f"addr add {INTERNET_SERVICE}/32 dev lo"])


def _create_segment_hosts(prefix: str, topology: LabTopology, appliance_namespaces: dict[str, str]) -> None:
    links = []
    for segment in topology.segments:
        links.append(
            f"link add name {lan_ifname(segment)} netns {appliance_namespaces[segment.appliance]} type veth "
            f"peer name eth0 netns {host_namespace(prefix, segment)}"
        )
    ip_batch(None, links)
    per_appliance: dict[str, list[str]] = {}
    for segment in topology.segments:
        lines = per_appliance.setdefault(segment.appliance, [])
        lines += [
            f"addr add {segment.gateway}/{segment.subnet.prefixlen} dev {lan_ifname(segment)}",
            f"link set {lan_ifname(segment)} up",
        ]
        ip_batch(
            host_namespace(prefix, segment),
            [
                "link set lo up",
                f"addr add {segment.host}/{segment.subnet.prefixlen} dev eth0",
                "link set eth0 up",
                f"route add default via {segment.gateway}",
            ],
        )
    for appliance, lines in per_appliance.items():
        ip_batch(appliance_namespaces[appliance], lines)


# Where the DC core's BGP routes HQ's answers to the stores (lab.dccore), HQ's static routes
# towards the hubs go in a table of their own, looked up after `main`, where the core's zebra
# installs its best paths: they stand behind BGP, not beside it (zebra would select a kernel
# route of the same prefix in `main` over its own), and serve a lab just up, before the rollout
# configures the hubs, and whatever the core does not learn (the transit range). HQ's internet
# breakout (its default route) comes after both, or it would answer every lookup in `main`.
FALLBACK_TABLE = 250
FALLBACK_RULE_PREF = 40000
BREAKOUT_TABLE = 251
BREAKOUT_RULE_PREF = 40001


def _create_hq_and_cloud(prefix: str, topology: LabTopology, appliance_namespaces: dict[str, str]) -> None:
    sites = topology.sites
    assert sites is not None
    hq, cloud = hq_namespace(prefix), cloud_namespace(prefix)
    hubs = [a.name for a in topology.appliances if a.role == "hub" and a.name in appliance_namespaces]
    subnets = list(_DC_POOL.subnets(new_prefix=30))
    core = sites.dc_core

    links = [
        f"link add name dc netns {appliance_namespaces[hub]} type veth peer name hub{index} netns {hq}"
        for index, hub in enumerate(hubs)
    ]
    links.append(f"link add name cloud netns {hq} type veth peer name hq netns {cloud}")
    # The stand-ins for the hubs' cloud VPN sessions (`LabHubCloudVpn`), their far ends in HQ,
    # which routes the cloud.
    vpns = {hub: sites.hub_cloud_vpns[hub] for hub in hubs if hub in sites.hub_cloud_vpns}
    links += [
        f"link add name {vpn.ifname} netns {appliance_namespaces[hub]} type veth peer name vpn{index} netns {hq}"
        for index, (hub, vpn) in enumerate(vpns.items())
    ]
    # Each hub's management port on HQ's management LAN.
    managed = [
        (index, hub, port)
        for index, hub in enumerate(hubs)
        if (port := topology.appliance(hub).management_port) is not None
        and topology.appliance(hub).management_address is not None
    ]
    links += [
        f"link add name {port} netns {appliance_namespaces[hub]} type veth peer name mg{index} netns {hq}"
        for index, hub, port in managed
    ]
    ip_batch(None, links)
    management_lan = next(p for p in sites.management_prefixes if sites.hq_management in p)
    cloud_link = subnets[-1]
    cloud_hq_side, cloud_side = list(cloud_link.hosts())
    # The DC LAN: HQ bridges the hubs' `dc` links, so the hubs share one segment with each other
    # (their iBGP) and with the DC core routers, whose addresses HQ owns (lab.dccore).
    hq_lines = [
        "link set lo up",
        f"link add {DC_LAN} type bridge",
        f"link set {DC_LAN} up",
        f"addr add {sites.hq_pos}/32 dev lo",
        f"link add {MANAGEMENT_LAN} type bridge",
        f"link set {MANAGEMENT_LAN} up",
        f"addr add {sites.hq_management}/{management_lan.prefixlen} dev {MANAGEMENT_LAN}",
        *(line for index, _, _ in managed for line in (f"link set mg{index} master {MANAGEMENT_LAN}", f"link set mg{index} up")),
        f"addr add {cloud_hq_side}/30 dev cloud",
        "link set cloud up",
        f"route add {sites.cloud_prefix} via {cloud_side}",
        # The breakout: the internet through HQ's own line (its WAN, from lab.underlay).
        f"route add default via {DYNAMIC_GATEWAY} dev wan onlink"
        + (f" table {BREAKOUT_TABLE}" if core is not None else ""),
    ]
    hub_address: dict[str, IPv4Address] = {}
    for index, hub in enumerate(hubs):
        hub_side, hq_side = list(subnets[index].hosts())
        hub_address[hub] = hub_side
        hq_lines += [f"link set hub{index} master {DC_LAN}", f"link set hub{index} up", f"addr add {hq_side}/30 dev {DC_LAN}"]
        hub_lines = [f"addr add {hub_side}/30 dev dc", "link set dc up"]
        if core is not None and hub in core.hub_addresses:
            hub_lines.append(f"addr add {core.hub_addresses[hub]}/{core.lan.prefixlen} dev dc")
        hub_lines.append(f"route add default via {hq_side} dev dc table {LAST_RESORT_TABLE}")
        # HQ's prefixes come from the DC core over BGP, as on a real hub (lab.dccore), when the
        # hub peers with it; the cloud's from the cloud VPN stand-in, this kernel route standing in
        # for a cloud VPN's other routes. What the hub announces follows what it learns: its
        # aggregates need a route inside them in BGP.
        taught = core is not None and hub in core.hub_addresses
        hub_lines += [
            f"route add {prefix_} via {hq_side}" for prefix_ in (*([] if taught else sites.hq_prefixes), sites.cloud_prefix)
        ]
        if hub in vpns:
            hub_lines += [f"addr add {vpns[hub].hub_inside} dev {vpns[hub].ifname}", f"link set {vpns[hub].ifname} up"]
        ip_batch(appliance_namespaces[hub], hub_lines)
    # Each store segment back through the store's primary hub, and its management address too
    # (management sessions are flows like any other): the hubs' firewalls are stateful, and a
    # reply through the other hub would meet no connection there. Behind the DC core's BGP where
    # there is one (FALLBACK_TABLE).
    fallback = f" table {FALLBACK_TABLE}" if core is not None else ""
    for segment in topology.segments:
        if segment.hub in hub_address:
            hq_lines.append(f"route add {segment.subnet} via {hub_address[segment.hub]} dev {DC_LAN}{fallback}")
    for appliance in topology.appliances:
        primary = appliance.primary_hub
        if primary in hub_address and appliance.management_address is not None:
            hq_lines.append(f"route add {appliance.management_address}/32 via {hub_address[primary]} dev {DC_LAN}{fallback}")
    if hub_address:
        nexthops = " ".join(f"nexthop via {side}" for side in hub_address.values())
        for destination in sites.via_hubs:
            hq_lines.append(f"route add {destination}{fallback} {nexthops}")
    if core is not None:
        hq_lines += [
            f"rule add pref {FALLBACK_RULE_PREF} lookup {FALLBACK_TABLE}",
            f"rule add pref {BREAKOUT_RULE_PREF} lookup {BREAKOUT_TABLE}",
            *(f"addr add {router}/{core.lan.prefixlen} dev {DC_LAN}" for router in core.routers),
        ]
    for index, vpn in enumerate(vpns.values()):
        hq_lines += [f"addr add {vpn.peer_inside}/{vpn.hub_inside.network.prefixlen} dev vpn{index}", f"link set vpn{index} up"]
    ip_batch(hq, hq_lines)
    system.run(["ip", "netns", "exec", hq, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
    nat = "table ip hq_breakout {\n  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n" \
        '    oifname "wan" masquerade\n  }\n}\n'
    system.run(["ip", "netns", "exec", hq, "nft", "-f", "-"], stdin=nat)
    ip_batch(
        cloud,
        [
            "link set lo up",
            f"addr add {sites.cloud_host}/32 dev lo",
            f"addr add {cloud_side}/30 dev hq",
            "link set hq up",
            f"route add default via {cloud_hq_side}",
        ],
    )
