"""The appliance platform names, defined once.

This is the lowest layer every concern can import (components and inventory may not import
`storestack.devices`), so the names live here; the behaviour of each platform (interface
naming, session driver, hier_config options, companion files …) lives in its module under
`storestack.devices.platforms`, whose registry holds exactly these names.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import Literal, get_args

Platform = Literal["frr", "cisco_xe", "huawei_vrp", "fortinet"]
PLATFORM_NAMES: tuple[Platform, ...] = get_args(Platform)

# The platforms the lab runs in the vendor emulator rather than as real FRR routers; the
# registry's `emulated` flags agree (tests/devices/test_platform_registry.py).
EmulatedPlatform = Literal["cisco_xe", "huawei_vrp", "fortinet"]
EMULATED_PLATFORM_NAMES: tuple[EmulatedPlatform, ...] = get_args(EmulatedPlatform)

# Hub platforms that serve only stores whose every WAN link has a static address, and why. A
# hub gives each store transport its own route-based tunnel interface; where the platform can
# bind an incoming IKEv2 negotiation to that interface only by the peer's IP address, a store on
# a DHCP or cellular address cannot be served. The inventory refuses such a store
# (`stores/X.yaml:LINE wan[i].addressing`) and the hub's render refuses it too.
HUB_STATIC_PEERS_ONLY: dict[Platform, str] = {
    # Huawei VRP: when several tunnel interfaces share one source, the hub maps an IKE peer to
    # its tunnel interface by the peer's IP address, or by its IKE identity with IKEv1
    # aggressive mode only ("Using a Virtual Tunnel Interface to Establish an IPSec Tunnel",
    # Huawei IPSec configuration guide); the fleet negotiates IKEv2 only, and a tunnel
    # interface without `destination` has no documented per-peer form (dynamic peers are
    # documented only through ACL-based IPSec policy templates, DSVPN or Efficient VPN).
    "huawei_vrp": (
        "a Huawei VRP hub binds a store's IKEv2 tunnel to its tunnel interface by the store's "
        "IP address (by IKE identity only with IKEv1 aggressive mode), so every link of a store "
        "it serves needs addressing: static"
    ),
}

# Store platforms that send one FQDN IKE identity for the whole device, and why. Every store link
# reaches every hub over its own tunnel, and a hub tells a store's tunnels apart by their
# identities; such a store can give its one FQDN identity to one link only, and identifies its
# other links by their static address. The network intent gives the FQDN to the store's link
# without a static address (or to its first link when all are static; `fqdn_identity_link`), and
# the inventory refuses a second link without a static address
# (`stores/X.yaml:LINE wan[i].addressing`). On those static links the hubs identify themselves by
# their address too (network intent `known_by_address`), which is what such a store expects.
STORE_ONE_FQDN_IDENTITY: dict[Platform, str] = {
    # Huawei VRP: the FQDN an IKE peer sends is the device's `ike local-name` (system view); an
    # IKE peer only chooses the type of its local ID (`local-id-type fqdn`, or `ip`: the address
    # it negotiates from). No AR document shows a per-peer local ID value (Huawei AR command
    # reference, IPSec configuration commands: ike local-name, local-id-type).
    "huawei_vrp": (
        "a Huawei VRP store sends one FQDN IKE identity for the whole device (`ike local-name`), so "
        "the hubs can tell its tunnels apart only if at most one of its links has no static address "
        "(the others are identified by their address: `local-id-type ip`)"
    ),
}

# Store platforms whose guest Wi-Fi breakout link (the store's first wired WAN link) needs a
# static address, and why. The inventory refuses such a store with a DHCP breakout
# (`stores/X.yaml:LINE wan[i].addressing`).
GUEST_BREAKOUT_STATIC_ONLY: dict[Platform, str] = {
    # Huawei VRP steers guest traffic to its breakout by redirecting it to the link's gateway
    # (a traffic behavior's `redirect ip-nexthop ... track-nqa`, in the guest segment's inbound
    # traffic policy: "Configuring Interface PBR", AR configuration guide EDOC1100069334): the
    # redirect names the next hop, which a DHCP lease does not give in advance.
    "huawei_vrp": (
        "a Huawei VRP store sends guest Wi-Fi to its breakout link by redirecting it to the link's "
        "gateway (traffic behavior `redirect ip-nexthop`), so the breakout link needs addressing: static"
    ),
}

# Store platforms whose SLA steering can only move an application off a path that BGP does not
# prefer, and why. Their policy routing redirects an application to one tracked next hop, and
# while that hop's probe fails the traffic is routed normally (BGP): a redirect to the path BGP
# prefers anyway could never move anything. Such a store steers only the applications whose
# preferred path is not BGP's (`StoreIntent.routed_tunnel`); the others follow BGP, and BFD or
# BGP failover is all that moves them. `devices lint` accepts those unsteered
# (`sla-application-unsteered`) and finds any policy that could never leave its path
# (`sla-steering-inert`).
SLA_STEERING_OFF_ROUTED_PATH_ONLY: dict[Platform, str] = {
    # Huawei AR: forwarded traffic is policy-routed by a traffic behavior's `redirect ip-nexthop
    # ADDRESS [track-nqa ADMIN TEST]`, one next hop; "When redirection becomes invalid, you can
    # configure the device to discard packets or forward packets based on the original
    # forwarding path" ("Configuring Interface PBR", AR configuration guide, EDOC1100069334).
    # Several tracked next hops in one behavior (`&<1-4>`, active/standby) are documented for
    # the S-series campus switches only, `redirect ip-multihop` there load-balances untracked
    # next hops, and a local `policy-based-route` node's two next hops take no track. An AR's
    # quality-based per-service path choice is smart policy routing (SPR: `smart-policy-route`,
    # "Smart Policy Routing", AR configuration guide, EDOC1000174069), which storestack does not
    # render yet.
    "huawei_vrp": (
        "a Huawei AR redirects an application to one NQA-tracked next hop and routes it by BGP "
        "while that test fails, so it cannot steer an application off the path BGP prefers"
    ),
}

# Each hub platform's dedicated out-of-band management port, the one a hub holds its inventory
# `management_address` on (inside HQ's management ranges, i.e. on the management LAN) unless the
# inventory names another (`sites.hq.hubs[i].management_port`); `HubIntent.management_port`.
# The push connects there, so the hub's config says how it is reached and the diff compares that
# port like any other (absent from the intended config, a physical port is emptied: the push
# would strip its own session's address).
# - cisco_xe: GigabitEthernet0, the ASR 1000 / Catalyst 8000 Management Ethernet interface, in
#   its own VRF Mgmt-intf ("Using the Management Ethernet Interface", Cisco ASR 1000 Series
#   Software Configuration Guide: "The Gigabit Ethernet Management port is always
#   GigabitEthernet0", "The Management Ethernet interface is part of its own VRF").
# - fortinet: `mgmt`, with `set dedicated-to management` (FortiOS CLI Reference, "system
#   dedicated-mgmt": "config system interface / edit <interface-name> / set dedicated-to
#   management"; Fortinet KB 193699 "FortiGate dedicated-mgmt feature, or Out-of-band
#   Management": a separate routing table, on models with mgmt/mgmt1/mgmt2 ports).
# None on:
# - huawei_vrp: no Huawei AR document found gives the hub class (AR1000V, NetEngine AR) a
#   management port and its form (an MEth management interface turns up for CloudEngine
#   switches only); storestack renders nothing there, the hub does not hold its management
#   address, and the inventory refuses a `management_port` on it.
HUB_MANAGEMENT_PORT: dict[Platform, str] = {
    "cisco_xe": "GigabitEthernet0",
    "fortinet": "mgmt",
    # frr: a Linux port `mgmt` on the management LAN, kept out of forwarding by source policy
    # routing rather than a VRF (many kernels and sshd deployments do without one): the address
    # without its prefix route, the LAN in a table of its own (`network/sla.py`
    # MANAGEMENT_TABLE) that only the address's own packets look up, the rest of them
    # unreachable; its nftables take SSH there from the management ranges and forward nothing
    # in or out of it (`devices/frr.py` `hub_management_routing`).
    "frr": "mgmt",
}

# The hub platforms storestack renders a management gateway on (the inventory's
# `sites.hq.hubs[i].management_gateway`, `HubIntent.management_gateway`): the management ranges
# outside the management LAN through that router, from the management port.
# - frr: routes in the management port's own table (`network/sla.py` MANAGEMENT_TABLE), which
#   only the management address's packets look up (`devices/frr.py` `hub_management_routing`;
#   iproute2 ip-route(8): `ip route replace PREFIX via ADDRESS dev NAME src ADDRESS table ID`).
# - cisco_xe: static routes in the management port's VRF, Mgmt-intf, which forwards nothing to or
#   from the other VRFs (`ip route vrf Mgmt-intf PREFIX MASK GATEWAY`, "Setting a Default Route in
#   the Management Ethernet Interface VRF", "Using the Management Ethernet Interface", Cisco ASR
#   1000 Series Aggregation Services Routers Software Configuration Guide); never in the global table.
# - fortinet: the dedicated management port's default gateway, in the port's own routing table
#   (`config system dedicated-mgmt` / `set default-gateway`, Fortinet KB 193699, "FortiGate
#   dedicated-mgmt feature, or Out-of-band Management"): one gateway, no prefixes, so every
#   destination outside the LAN, not the management ranges alone; the port forwards nothing.
# Not yet rendered (the inventory refuses the field there rather than drop it silently):
# - huawei_vrp: no management port at all (above).
HUB_MANAGEMENT_GATEWAY: frozenset[Platform] = frozenset({"frr", "cisco_xe", "fortinet"})

# Hub platforms that pass the DC's packets of a flow they did not see to the store's other hub
# (`HubIntent.return_partners`: connection marks and partner tables, `devices/frr.py`). The
# others render no partner path (README "Return path": a FortiOS hub would need FGSP session
# synchronisation, which is not rendered), so a change that moves a store's other hub changes
# nothing on them and needs no push of theirs before the stores' (`devices/push_order.py`).
HUB_RETURN_PARTNERS: frozenset[Platform] = frozenset({"frr"})

# A port name the platform's OS refuses, where storestack knows the rule: an FRR appliance's
# ports are Linux network devices, whose names the kernel takes only below IFNAMSIZ (16 bytes
# with the terminating NUL: 15 characters), never "." or "..", with no "/", ":" or whitespace
# (net/core/dev.c `dev_valid_name`: "Network device names need to be valid file names to allow
# sysfs to work. We also disallow any kind of whitespace"; iproute2 answers `"dev" not a valid
# ifname`, the kernel a 16-character name with "Attribute failed policy validation").
LINUX_IFNAME_MAX = 15
# The platforms whose ports are Linux network devices, named by the rule above.
LINUX_PORT_NAMES: frozenset[Platform] = frozenset({"frr"})


def port_name_refusal(platform: Platform, port: str) -> str | None:
    """Why `platform` cannot name a port `port` (None where it can, or where storestack knows no
    rule): the one wording the inventory checks refuse a management port with."""
    if platform not in LINUX_PORT_NAMES:
        return None
    if len(port) > LINUX_IFNAME_MAX:
        return f"Linux names no network device {port!r}: longer than {LINUX_IFNAME_MAX} characters (IFNAMSIZ)"
    if port in (".", "..") or any(c in port for c in "/:") or any(c.isspace() for c in port):
        return f"Linux names no network device {port!r}: a name holds no '/', ':' or whitespace and is not '.' or '..'"
    return None


# Hub platforms that announce no beacon to their stores (`network.model.HubBeacon`), and why: the
# beacon is a BGP announcement made conditional on the hub learning HQ, and the platform documents
# no conditional advertisement. A store steering to such a hub cannot tell that it lost the DC
# core (devices/steering.py); lint `sla-hub-beacon` reports it.
HUB_NO_BEACON: dict[Platform, str] = {
    # Huawei AR: BGP announces what `network`, `import-route` and `aggregate` put in the table,
    # filtered per peer by route-policies and prefix lists; conditional advertisement (`peer
    # advertise dependent-filter ... match-one`) is documented for the NetEngine 8000 series
    # (VRP8), not for the AR series (AR configuration guide, BGP); `aggregate ... origin-policy`
    # makes a route that covers what it depends on, not a beacon elsewhere.
    "huawei_vrp": (
        "a Huawei AR documents no BGP conditional advertisement, so its stores cannot learn that it "
        "lost the DC core"
    ),
}

# Hub platforms that give their stores the DC core's own default route (passed on through
# TO-STORES while the hub holds it) rather than one they originate on the condition
# (`StoreDefault`), and why: the vendor documents no way to make an originated default depend on
# the hub's BGP table. Passed on, the default is withdrawn with the DC's own, as BGP withdraws
# any route the hub no longer holds. FRR originates it on the condition (`neighbor X
# default-originate route-map`, FRR user guide, BGP; bgpd checks the route-map against its BGP
# table, bgp_updgrp_adv.c subgroup_default_originate).
HUB_DEFAULT_PASSED_ON: dict[Platform, str] = {
    # IOS-XE: no IOS-XE document cited here says what the route map of `neighbor X
    # default-originate route-map` is checked against (Cisco's FTD API only says it "allows route
    # 0.0.0.0 to be injected conditionally", NeighborDefaultOriginate), and vendors that copy the
    # command differ (Dell and LANCOM ignore its `match ip address`), so it is not rendered.
    "cisco_xe": "IOS-XE documents no condition on the BGP table for an originated default route",
    # Huawei: `peer X default-route-advertise conditional-route-match-any` is documented for VRP8
    # (NetEngine 8000, CloudEngine: "the local device sends default routes to the peer when routes
    # that match any of the specified conditions exist in the local IP routing table"), not for the
    # AR series (NetEngine AR V300R021 command reference, BGP), the hubs' platform.
    "huawei_vrp": "a Huawei AR documents no conditional default route advertisement",
    # FortiOS: `set default-originate-routemap` is documented as "Route map to specify criteria to
    # originate IPv4 default" (CLI reference, router bgp) and used in Fortinet's examples to set
    # attributes on an unconditional default; whether its match clauses are checked against the
    # BGP table is not documented.
    "fortinet": "FortiOS documents default-originate-routemap's attributes, not a condition on the BGP table",
}

# Platforms whose BGP prefix limit only logs, and why (`PrefixLimit`: over the limit every other
# platform closes the session and opens it again after PREFIX_LIMIT_RESTART_MINUTES). The
# platform renders the limit warning-only; `network show` says which an appliance does.
PREFIX_LIMIT_LOGGED_ONLY: dict[Platform, str] = {
    # FortiOS CLI reference, `config router bgp` / `config neighbor`: `maximum-prefix`,
    # `maximum-prefix-warning-only`; no neighbour timer opens a closed session again
    # (`restart-time` is graceful restart's), so a closed one would stay down until cleared.
    "fortinet": "FortiOS has no timer that opens a session the limit closed again; it logs instead",
}

# Hub platforms whose store links run no BFD, and why. The network intent gives such a hub's
# store tunnels no BFD profile (as towards AWS), and a store configures no BFD session towards it:
# one its hub never answers would only stay down.
HUB_NO_STORE_BFD: dict[Platform, str] = {
    # IOS-XE: the hub is a FlexVPN server, every store link a virtual-access cloned from a virtual
    # template, and "The Cisco IOS software incorrectly allows configuration of BFD on
    # virtual-template and dialer interfaces; however, ..." BFD does not run there (IP Routing
    # BFD Configuration Guide, "BFD - Static Route Support", Restrictions).
    "cisco_xe": "an IOS-XE hub serves store links on FlexVPN virtual-access interfaces, where BFD does not run",
}

# No store runs BFD in echo mode: every store's BFD towards its hubs is asynchronous (control
# packets only). Echo packets are addressed from and to the sender's own tunnel address and come
# back only where the peer's forwarding plane sends them back into the tunnel they came from
# ("Echo packets are sent by the forwarding engine and forwarded back along the same path",
# Cisco, "Configuring BFD Echo Mode"): a hub would have to forward a packet to a store address,
# which its store filters refuse for everything else (`StoreForwarding`); a FortiOS hub would
# need a firewall policy from a tunnel back to itself, and FortiOS runs no echo mode itself ("Echo
# mode and authentication are not supported for BFD on the FortiGate", FortiOS Administration
# Guide, BFD). IOS-XE, where echo mode is on by default ("Echo mode is enabled by default",
# command reference, "bfd echo"), turns it off on a store's tunnels to its hubs (`no bfd echo`, which also
# "signifies that the switch is unwilling to forward echo packets received from BFD neighbor
# switches"); the lint rule cisco-bfd-echo checks it.

# Hub platforms that queue nothing towards the stores, and why. A hub's DC core LAN port carries
# its tunnels' packets and the DC core's own traffic (decrypted store traffic to HQ, BGP with the
# core), so a shaper there must take the tunnels' packets only (from the public IKE endpoint), with
# the QoS classes queued under it. The inventory refuses `uplink_mbps` on such a hub, a rate it
# would shape nothing to (`fleet.yaml:LINE sites.hq.hubs[i].uplink_mbps`); `network show HUB` says
# such a hub queues nothing and why; `devices lint` (`qos`) flags a shaper on its DC port, which
# would hold the DC core's traffic to the rate too.
#
# Such a hub re-marks nothing from the DC either (network/model.py `DcTrust`, the trust boundary
# of a hub that queues: CS6/CS7 from the DC re-marked to default). The ESP header copies the inner
# DSCP, but no queue of the fleet's reads it after the hub: the hub queues nothing; the DC's
# internet edge is the DC's own router, which sees the same DSCPs from the DC core's other
# traffic and keeps its own trust boundary; the internet does not honour DSCP; and a store queues
# only its WAN egress, by the marks its own LAN trust boundary gives (it trusts no host's). A
# re-mark would protect no queue, and would be one more inbound policy per platform (a VRP
# traffic policy on the DC port, a FortiOS firewall policy's DSCP rewrite) to keep in step.
HUB_NO_UPLINK_QUEUES: dict[Platform, str] = {
    # Huawei VRP: an AR queues classes under a shaper only by traffic policy nesting (a sub traffic
    # policy in a traffic behavior of the parent policy), and when the sub policy queues
    # (congestion management) or shapes, the parent on a main interface may bind only the default
    # classifier, every packet the port sends, with traffic shaping alone (AR QoS configuration
    # guide, "Configuring a Sub Traffic Policy", EDOC1100112355); on a sub-interface the parent
    # likewise takes only `default-class` ("Applying the Traffic Policy to an Interface",
    # EDOC1100034222). `qos gts cir` in the interface view shapes the whole port. No documented AR
    # construct shapes only the packets an ACL picks out with the classes queued under them.
    "huawei_vrp": (
        "a Huawei VRP hub cannot shape its tunnels' packets apart from the DC core LAN's own traffic "
        "(an AR queues classes under a shaper only in a nested traffic policy whose parent takes every "
        "packet of the port), so it queues nothing towards the stores"
    ),
    # FortiOS: shared shapers' priorities and guarantees act only in the priority queues of a
    # physical port with an `outbandwidth` ("Global traffic prioritization"), and the hub's
    # tunnels leave by the DC core LAN port, whose outbandwidth would cap the decrypted store
    # traffic to HQ as well; an `egress-shaping-profile` belongs to one interface ("Traffic shaping
    # profiles"): the DC port again, or each store tunnel at its own rate, not the uplink's.
    "fortinet": (
        "a FortiOS hub cannot shape its tunnels' packets apart from the DC core LAN's own traffic "
        "(class shapers act only under a port's outbandwidth, and the tunnels leave by the DC port), "
        "so it queues nothing towards the stores"
    ),
}


# Store platforms whose WAN queues already send the appliance's own traffic (BGP and BFD inside
# the tunnels, IKE) ahead of every QoS class, and why: they render no control class for the
# network-control DSCPs (network/model.py NETWORK_CONTROL_DSCPS), which the others guarantee
# inventory/models.py NETWORK_CONTROL_PERCENT of each link's shaped rate (FRR's control class,
# IOS-XE's NETWORK-CONTROL, VRP's NETWORK-CONTROL classifier). `network show STORE` prints the
# reason; `devices lint` (`qos`) flags what would take that precedence away.
NO_CONTROL_CLASS: dict[Platform, str] = {
    # FortiOS: "When the outbandwidth is defined on an interface without an applied
    # egress-shaping-profile, the interface has a total of five priority levels ... Priority level
    # 0 is reserved for administrative and local out traffic. Priority level 1 is used for traffic
    # that is below guaranteed bandwidth when using a traffic shaper" (Administration Guide 7.4,
    # "Global traffic prioritization", https://docs.fortinet.com/document/fortigate/7.4.3/administration-guide/15578),
    # and "Virtual interfaces use the priority queues of the physical interface that they are
    # bound to" (Administration Guide 6.4, "Type of Service-based prioritization and policy-based
    # traffic shaping", https://docs.fortinet.com/document/fortigate/6.4.1/administration-guide/427882).
    # A store's WAN ports have an `outbandwidth` and no egress shaping profile, so the FortiGate's
    # own BGP, BFD and IKE leave in level 0, ahead of every shared shaper's. An egress shaping
    # profile would put "all local traffic" into its default class ("Default class ID to handle
    # unclassified packets (including all local traffic)", CLI reference 7.4, "config firewall
    # shaping-profile"), and a shaping policy can take local-out traffic into a shaper
    # (Administration Guide 7.4, "Local-in and local-out traffic matching": `set traffic-type
    # local-out`); the lint flags both.
    "fortinet": (
        "a FortiOS store sends its own traffic (BGP, BFD, IKE) in priority level 0, reserved for local-out "
        "traffic, ahead of every shaper's level under the WAN port's outbandwidth"
    ),
}


def uplink_rate_refusal(hostname: str, platform: Platform, uplink_mbps: int | None) -> str | None:
    """Why hub `hostname` may not take `uplink_mbps` (its platform queues nothing towards the
    stores), or None when it may: the one wording the inventory checks and the intent refuse with."""
    reason = HUB_NO_UPLINK_QUEUES.get(platform)
    if uplink_mbps is None or reason is None:
        return None
    return f"hub {hostname} ({platform}) would shape nothing to {uplink_mbps} Mbit/s: {reason}; leave uplink_mbps out"


# The numbers IPAM pins per SLA class and per application class (`inventory/ipam.py`
# `_allocate_steering_numbers`, `sla_classes` and `applications` in the lock file), the same on
# every store: a FortiOS store's SLA id of a class's entry in each health check and the block of
# an application class's SD-WAN rules (`devices/platforms/fortinet.py`). An SLA id is 1-32 (FortiOS
# 7.x schema as fortinetdev/terraform-provider-fortios publishes it, `fortios_system_sdwan`,
# `health_check` > `sla` > `id`), so a class's SLA number is 1..SLA_CLASS_NUMBERS; an application's
# block is 0..APPLICATION_NUMBERS - 1. A lock written before these pins gives each class what its
# config held then: an SLA class its place among the classes in name order, an application class its name's
# block (`application_hash_block`: CRC-32 of the name, the next free block where two names meet, in
# name order). Pinned, a class added or removed moves no other class's number.
SLA_CLASS_NUMBERS = 32
APPLICATION_NUMBERS = 280


def application_hash_blocks(names: Iterable[str]) -> dict[str, int]:
    """Each of `names`' block as a lock without pins gave it: its name's CRC-32 modulo
    APPLICATION_NUMBERS, the next free block where two names meet (in name order)."""
    taken: dict[int, str] = {}
    for name in sorted(set(names)):
        block = zlib.crc32(name.encode()) % APPLICATION_NUMBERS
        while block in taken:
            block = (block + 1) % APPLICATION_NUMBERS
            if len(taken) >= APPLICATION_NUMBERS:
                raise ValueError(f"more than {APPLICATION_NUMBERS} application classes")
        taken[block] = name
    return {name: block for block, name in taken.items()}
