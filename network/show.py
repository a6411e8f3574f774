"""A store's or a hub's intent as plain data, for `storestack network show` (table or JSON). No
secrets: a PSK is reported by its origin and slot name only."""

from __future__ import annotations

from typing import Any

from storestack.common.ntp import NTP_ALGORITHM_TEXT, PLATFORM_NTP_ALGORITHMS
from storestack.common.platforms import (
    HUB_DEFAULT_PASSED_ON,
    HUB_NO_BEACON,
    HUB_NO_UPLINK_QUEUES,
    NO_CONTROL_CLASS,
    PREFIX_LIMIT_LOGGED_ONLY,
    Platform,
)
from storestack.common.snmp import SNMP_AUTH_TEXT, SNMP_PRIV_TEXT
from storestack.inventory.models import NETWORK_CONTROL_PERCENT
from storestack.network.build import NetworkIntent
from storestack.network.model import (
    NETWORK_CONTROL_DSCPS,
    BgpSession,
    CloudFlow,
    HubIntent,
    ManagementAccess,
    QosClass,
    StoreIntent,
    Tunnel,
    usable_ntp_keys,
)


def _tunnel(tunnel: Tunnel) -> dict[str, Any]:
    return {
        "id": tunnel.id,
        "kind": tunnel.kind,
        "transport": tunnel.transport,
        "role": tunnel.role,
        "peer": tunnel.peer,
        "local_outside": str(tunnel.local_outside) if tunnel.local_outside else "dynamic",
        "peer_outside": str(tunnel.peer_outside) if tunnel.peer_outside else "dynamic",
        "local_inside": str(tunnel.local_inside) if tunnel.local_inside else None,
        "peer_inside": str(tunnel.peer_inside) if tunnel.peer_inside else None,
        "local_id": tunnel.local_id,
        "peer_id": tunnel.peer_id,
        "psk": f"{tunnel.psk.name} ({tunnel.psk_origin})",
        "underlay": (
            f"{tunnel.underlay.destination} via {tunnel.underlay.gateway or 'learned gateway'} "
            f"dev {tunnel.underlay.transport}"
            if tunnel.underlay
            else None
        ),
        "local_pref": tunnel.local_pref,
        "prepend": tunnel.prepend,
        "bfd": tunnel.bfd,
        "live": tunnel.live,
        # what it carries unfragmented after ESP in UDP over its transport (`Tunnel.mtu`)
        "underlay_mtu": tunnel.mtu.underlay,
        "mtu": tunnel.mtu.mtu,
        "tcp_mss": tunnel.mtu.tcp_mss,
    }


def sla_report(store: StoreIntent) -> dict[str, Any]:
    """SLA classes (with what their probe count means at the threshold), applications with
    their paths in order and where they go through the hubs (a hub that routes none of it does
    not take them), and transport costs."""
    sla = store.sla
    return {
        "classes": [
            {
                "name": c.name,
                "probe": c.probe,
                "loss_percent": c.thresholds.loss_percent,
                "latency_ms": c.thresholds.latency_ms,
                "jitter_ms": c.thresholds.jitter_ms,
                "probe_interval_ms": c.timers.probe_interval_ms,
                "detection_seconds": c.timers.detection_seconds,
                "consecutive_losses": c.timers.consecutive_losses,
                "expected_detection_at_threshold_seconds": round(
                    c.expected_detection_seconds(c.thresholds.loss_percent), 1
                ),
                # What a detector counting lost probes in a row (BFD) notices in detection_seconds.
                "consecutive_loss_detector_notices_percent": c.noticed_loss_percent,
                "hold_down_seconds": c.timers.hold_down_seconds,
                "recovery_seconds": c.timers.recovery_seconds,
            }
            for c in sla.classes
        ],
        "applications": [
            {
                "name": a.name,
                "sla": a.sla.name,
                "segments": list(a.segments),
                "protocol": a.protocol,
                "ports": [f"{low}-{high}" if high != low else str(low) for low, high in a.ports],
                "dscp": a.dscp_name,
                "cellular": a.cellular,
                "overlay": a.overlay,
                "mark": f"0x{a.mark:x}",
                "paths": [
                    f"{p.transport} -> {p.hub}" if p.hub else f"{p.transport} (local breakout)"
                    for p in a.paths
                ],
                "destinations": [str(prefix) for prefix in store.destinations(a)],
            }
            for a in sla.applications
        ],
        "transports": [
            {
                "name": t.transport,
                "kind": t.kind,
                "cost_per_gb": t.cost_per_gb,
                "data_cap_gb": t.data_cap_gb,
            }
            for t in sla.transports
        ],
    }


def _session(session: BgpSession, platform: Platform) -> dict[str, Any]:
    return {
        "kind": session.kind,
        "peer": session.peer,
        "address": str(session.peer_address),
        "asn": session.peer_asn,
        "source": str(session.local_address),
        "tunnel": session.tunnel,
        "bfd": session.bfd,
        # The BFD of the session's class on its own link (`SESSION_BFD`: milliseconds each end
        # transmits at and receives at, missed in a row); None where it runs its tunnel's or none.
        "bfd_timers": None
        if session.bfd_timers is None
        else {"interval_ms": session.bfd_timers.interval_ms, "multiplier": session.bfd_timers.multiplier},
        # Keepalive and hold time, seconds (`BGP_TIMERS`); the session runs on the smaller hold
        # time of its two ends.
        "timers": {"keepalive": session.timers.keepalive, "hold": session.timers.hold},
        "accepts": (["0.0.0.0/0"] if session.accepts_default else []) + [str(n) for n in session.accepts],
        "announces": [str(n) for n in session.announces],
        # What the local end takes from the peer (`PrefixLimit`): at most `maximum` prefixes,
        # twice the `allowed` it was sized from; over it the session closes and opens again after
        # `restart_minutes`, unless the local platform only logs (`logged_only_because`, from
        # `PREFIX_LIMIT_LOGGED_ONLY`; None: it closes). None: the intent cannot size it.
        "prefix_limit": None
        if session.prefix_limit is None
        else {
            "maximum": session.prefix_limit.maximum,
            "allowed": session.prefix_limit.allowed,
            "restart_minutes": session.prefix_limit.restart_minutes,
            "logged_only_because": PREFIX_LIMIT_LOGGED_ONLY.get(platform),
        },
    }


def _cloud_flow(flow: CloudFlow) -> dict[str, Any]:
    return {
        "why": flow.why,
        "protocol": flow.protocol,
        "clouds": [str(n) for n in flow.clouds],
        "stores": [str(n) for n in flow.stores],
        "ports": [f"{low}" if low == high else f"{low}-{high}" for low, high in flow.ports],
    }


def ntp_report(intent: NetworkIntent, platform: Platform) -> dict[str, Any]:
    """What the NTP servers must hold (every key of the fleet: id, algorithm, secret slot, the
    fleet's platforms that use it), and the keys an appliance of `platform` trusts and asks with."""
    fleet = intent.fleet
    platforms = {hub.platform for hub in fleet.hubs.values()}
    platforms |= {appliance.platform for store in fleet.stores.values() for appliance in store.appliances}
    keys = intent.management.ntp_keys
    trusted = usable_ntp_keys(keys, platform)
    return {
        "servers": [str(address) for address in intent.management.ntp_servers],
        "server_keys": [
            {
                "id": key.id,
                "algorithm": key.algorithm,
                "mac": NTP_ALGORITHM_TEXT[key.algorithm],
                "secret": key.secret.name,
                "platforms": sorted(p for p in platforms if key.algorithm in PLATFORM_NTP_ALGORITHMS[p]),
            }
            for key in keys
        ],
        "platform": platform,
        "trusted_key_ids": [key.id for key in trusted],
        "asks_with": trusted[0].id if trusted else None,
    }


def snmp_report(management: ManagementAccess) -> dict[str, Any]:
    """How the NMS polls the appliance: SNMPv3 authPriv at its loopback, as the fleet's one user
    with the fleet's protocol pair (every appliance takes the same; `common/snmp.py`)."""
    return {
        "poll": str(management.loopback),
        "security_level": "authPriv",
        "auth": management.snmp_auth,
        "auth_protocol": SNMP_AUTH_TEXT[management.snmp_auth],
        "priv": management.snmp_priv,
        "priv_protocol": SNMP_PRIV_TEXT[management.snmp_priv],
    }


def hub_report(intent: NetworkIntent, hostname: str) -> dict[str, Any]:
    """A hub's DC core leg, its BGP peers (stores, hubs, DC core, clouds) and its tunnels."""
    hub: HubIntent = intent.hub(hostname)
    counts: dict[str, int] = {}
    for tunnel in hub.tunnels:
        counts[tunnel.kind] = counts.get(tunnel.kind, 0) + 1
    return {
        "hub": hub.hostname,
        "asn": hub.asn,
        "loopback": str(hub.loopback),
        "public_address": str(hub.public_address),
        "planned": hub.planned,
        "dc": {
            "address": str(hub.dc.address),
            "core_asn": hub.dc.core_asn,
            "routers": [str(r) for r in hub.dc.routers],
        },
        "tunnels": counts,
        # its rank towards the clouds (`HubIntent.cloud_rank`, stated or pinned): per cloud site the
        # best-ranked hub whose VPN is up carries both directions of every cloud flow; what its
        # cloud sessions teach it takes at `local_pref`, and what it announces to them it
        # prepends its ASN on `prepend` times; `carries`: no hub of the fleet ranks better (rank 0,
        # or the best kept once the hub of rank 0 was removed) (None: the hub has no cloud VPN)
        "cloud_rank": (
            {
                "rank": rank.rank,
                "local_pref": rank.local_pref,
                "prepend": rank.prepend,
                "carries": all(intent.cloud_rank(other).rank >= rank.rank for other in intent.fleet.hubs),
            }
            if (rank := hub.cloud_rank) is not None
            else None
        ),
        "peers": [_session(s, intent.fleet.hubs[hostname].platform) for s in hub.sessions],
        "originates": [str(n) for n in hub.originates],
        # each while a route inside it from its sources is in the hub's BGP table (`HubSummary`)
        "summaries": [{"prefix": str(s.prefix), "from": list(s.sources)} for s in hub.summaries],
        # the host route it announces to its stores only while it offers these summaries
        # (`HubBeacon`: the stores' policy routing follows it); None with the reason its platform
        # announces none (`HUB_NO_BEACON`)
        "beacon": (
            {"address": str(hub.beacon.address), "while": [str(n) for n in hub.beacon.summaries]}
            if hub.beacon is not None
            else None
        ),
        "no_beacon_because": HUB_NO_BEACON.get(intent.fleet.hubs[hostname].platform),
        # the default route it gives its stores only while this route from these sessions is in
        # its BGP table (`StoreDefault`: the DC core's, what the stores' internet leads to);
        # originated on that condition, or the DC's own passed on (with the reason its platform
        # originates none on a condition, `HUB_DEFAULT_PASSED_ON`)
        "store_default": (
            {
                "while": str(hub.store_default.condition),
                "from": list(hub.store_default.sources),
                "passed_on": hub.store_default.passed_on,
                "passed_on_because": HUB_DEFAULT_PASSED_ON.get(intent.fleet.hubs[hostname].platform),
            }
            if hub.store_default is not None
            else None
        ),
        # what its store tunnels take in (`store_forwarding`, the same on every hub platform):
        # each tunnel's control traffic to the hub, the corporate ranges, nothing else private
        # (another store's segments, loopback and tunnel addresses among it), then the internet
        "store_forwarding": {
            "control_tunnels": len(hub.store_forwarding.control),
            # pings from the stores' tunnel addresses (echo requests only): the hub's loopback
            "pingable": [str(a) for a in hub.store_forwarding.pingable],
            # the hub's own addresses a store never reaches (its DC address)
            "closed": [str(a) for a in hub.store_forwarding.closed],
            "corporate": [str(n) for n in hub.store_forwarding.corporate],
            # from the stores' own addresses only (no store sends as HQ or the internet)
            "corporate_from": [str(n) for n in hub.store_forwarding.sources],
            # but never as a hub's own address in them (every hub's loopback and beacon)
            "never_from": [str(a) for a in hub.store_forwarding.hub_owned],
            "never": [str(n) for n in hub.store_forwarding.private],
            "then": "internet",
            "internet_from": [str(n) for n in hub.store_forwarding.internet_sources],
        },
        # what its cloud VPNs take in (`cloud_forwarding`, the same on every hub platform): from
        # the clouds' own ranges anything to HQ but its routing infrastructure (the DC core LAN,
        # "not_to_hq"; "to_hq" is HQ cut around it); towards the stores only the answers to the flows
        # the stores open towards a cloud, and what the intent lets a cloud open (None: the hub
        # has no cloud VPN)
        "cloud_forwarding": None
        if hub.cloud_forwarding is None
        else {
            "from": [str(n) for n in hub.cloud_forwarding.sources],
            "to_hq": [str(n) for n in hub.cloud_forwarding.hq],
            "not_to_hq": [str(n) for n in hub.cloud_forwarding.infrastructure],
            "answers": [_cloud_flow(flow) for flow in hub.cloud_forwarding.replies],
            "cloud_opens": [_cloud_flow(flow) for flow in hub.cloud_forwarding.opens],
        },
        # its queues towards the stores: the stores' classes, shaped to the intent's shaped rate of
        # its uplink (`uplink_queue_kbps`, WAN_SHAPE_PERCENT of `uplink_mbps`; None: not shaped),
        # unless its platform queues none there (the reason; None: it does; the inventory refuses
        # a rate on such a hub)
        "uplink_mbps": hub.uplink_mbps,
        "uplink_queue_kbps": hub.uplink_queue_kbps,
        "no_queues_because": HUB_NO_UPLINK_QUEUES.get(intent.fleet.hubs[hostname].platform),
        "qos": _qos(hub.qos),
        # what it trusts of the DSCP its DC core LAN port hands it towards the stores (`DcTrust`):
        # re-marked to default, and kept as marked; None where it queues nothing towards them
        "dc_trust": (
            {"remarked": list(hub.dc_trust.remarked_names), "to": hub.dc_trust.to, "kept": list(hub.dc_trust.kept)}
            if hub.dc_trust is not None
            else None
        ),
        # who manages it and what its management plane talks to, every server by address (its
        # NTP servers under "ntp"); no resolvers: a hub resolves no names (HubIntent.management)
        "management": {
            "from": [str(r) for r in hub.management.ranges],
            "ports": [f"{proto}/{port}" for proto, port in hub.management.ports],
            "source": str(hub.management.loopback),
            "syslog": [str(a) for a in hub.management.syslog_servers],
            "tacacs": [str(a) for a in hub.management.tacacs_servers],
            "dns": [str(a) for a in hub.management.dns_forwarders],
        },
        "ntp": ntp_report(intent, intent.fleet.hubs[hostname].platform),
        "snmp": snmp_report(hub.management),
    }


def _qos(classes: tuple[QosClass, ...]) -> list[dict[str, Any]]:
    return [
        {
            "class": q.name,
            "dscp": q.dscp_name,
            "priority": q.priority,
            "bandwidth_percent": q.bandwidth_percent,
            "shape_percent": q.shape_percent,
            "segments": list(q.segments),
        }
        for q in classes
    ]


def _control_queue(platform: Platform) -> dict[str, Any]:
    reason = NO_CONTROL_CLASS.get(platform)
    return {
        "dscps": [name for name, _ in NETWORK_CONTROL_DSCPS],
        "percent": None if reason else NETWORK_CONTROL_PERCENT,
        "no_class_because": reason,
    }


def store_report(intent: NetworkIntent, store_id: str) -> dict[str, Any]:
    """Tunnels, BGP peers, routes, zones and flows of a store's (first) edge appliance."""
    store: StoreIntent = intent.store(store_id)
    return {
        "store": store.store_id,
        "hostname": store.hostname,
        "asn": store.asn,
        "loopback": str(store.loopback),
        "planned": store.planned,
        "lte_only": store.lte_only,
        "transports": [
            {
                "name": t.name,
                "kind": t.kind,
                "role": t.role,
                "address": str(t.address) if t.address else "dynamic",
                "gateway": str(t.gateway) if t.gateway else "learned",
                "local_pref": t.local_pref,
                "mtu": t.mtu.underlay,
            }
            for t in store.transports
        ],
        "tunnels": [_tunnel(t) for t in store.tunnels],
        "peers": [_session(s, intent.fleet.store(store_id).appliances[0].platform) for s in store.sessions],
        "routes": {
            "announced": [str(n) for n in store.announces],
            "underlay": [
                f"{t.underlay.destination} via {t.underlay.gateway or 'learned gateway'} dev {t.underlay.transport}"
                for t in store.tunnels
                if t.underlay
            ],
        },
        "zones": [
            {
                "name": z.name,
                "prefixes": [str(p) for p in z.prefixes],
                "vlan": z.vlan,
                "qos_class": z.qos_class,
                "enters_overlay": z.enters_overlay,
                "over_cellular": z.over_cellular,
            }
            for z in store.zones
        ],
        "flows": [
            {
                "from": f.source,
                "to": f.service.name,
                "prefixes": ["internet (not RFC 1918)"]
                if f.service.internet
                else [str(p) for p in f.service.prefixes],
                "protocol": f.service.protocol,
                "ports": list(f.service.ports),
                "why": f.why,
            }
            for f in store.flows
        ],
        "default": "deny (stateful: replies to allowed flows only)",
        "qos": _qos(store.qos),
        # the routers' own BGP, BFD and IKE beside the classes: the network-control DSCPs, each
        # WAN link's share guaranteed to them (None: no class), or why the platform needs none
        "control_queue": _control_queue(intent.fleet.store(store_id).appliances[0].platform),
        "management": {
            "from": [str(r) for r in store.management.ranges],
            "ports": [f"{proto}/{port}" for proto, port in store.management.ports],
            "source": str(store.management.loopback),
            "guest_dns": [str(a) for a in store.management.guest_dns],
        },
        "sla": sla_report(store),
        "ntp": ntp_report(intent, intent.fleet.store(store_id).appliances[0].platform),
        "snmp": snmp_report(store.management),
    }
