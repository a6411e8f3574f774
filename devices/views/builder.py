"""`ViewBuilder`: the store and hub views built from the resolved fleet and its network intent,
and the policy decisions made once, as data, on the way (segments, ACLs, QoS, steering).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
from collections.abc import Mapping

from storestack.common.addressing import LINK_LOCAL, RFC1918, SHARED_ADDRESS_SPACE
from storestack.common.platforms import HUB_STATIC_PEERS_ONLY
from storestack.devices.announced import loopback_entry_id, segment_entry_id
from storestack.devices.errors import RenderError
from storestack.devices.naming import short_ifname
from storestack.devices.platforms import PlatformProfile, SteeringMechanism, get_platform
from storestack.devices.steering import (
    APPLICATION_ACL_PREFIX,
    IOS_MAX_PROBE_NUMBER,
    IOS_SLA_CONTROL_PORT,
    IOS_UDP_JITTER_PORT_BASE,
    IosProbeTimers,
    fortios_health_timers,
    ios_beacon_track,
    ios_probe_timers,
    ios_return_signal,
    ios_tracks,
    vrp_probe_timers,
)
from storestack.devices.views.addresses import (
    IfAddr,
    Net,
    dotted,
)
from storestack.devices.views.lanpolicy import lan_policies
from storestack.devices.views.model import (
    BFD_CELLULAR,
    BFD_WIRED,
    DENY_ANY,
    LOCAL_ADMIN_USER,
    Acl,
    AclRule,
    AwsTunnelView,
    BeaconTrackView,
    CloudTunnelView,
    DcView,
    FlowView,
    HealthCheckView,
    HubPeerView,
    HubRef,
    HubStoreView,
    HubView,
    ManagementView,
    MarkView,
    ProbeView,
    QosClassView,
    ReturnSignalView,
    SegmentSteeringView,
    SegmentView,
    SlaClassView,
    SteeredApplicationView,
    SteeringView,
    StoreApplianceView,
    TunnelView,
    WanLinkView,
    cloud_rules,
    cloud_sites,
    prepend_path,
    strictest,
    tunnel_bfd,
)
from storestack.inventory.fleet import Fleet, ResolvedHub, ResolvedSegment, ResolvedStore, ResolvedWanLink
from storestack.network.build import NetworkIntent
from storestack.network.cloud import HUB_AWS_REGIONS
from storestack.network.errors import NetworkIntentError, StackOutputsError
from storestack.network.model import (
    CLOUD_LONGEST_PREFIX,
    BgpSession,
    CloudForwarding,
    HubIntent,
    ManagementAccess,
    QosClass,
    Service,
    StoreControl,
    StoreIntent,
    Transport,
    Tunnel,
    Zone,
)
from storestack.network.outputs import StoreCloudOutputs
from storestack.network.secrets import Secret, fleet_secrets
from storestack.network.sla import ApplicationPolicy, SlaClassPolicy

# ---------------------------------------------------------------- builders

# A hub's per-store filter's name (FROM-STORE-<id>, `ViewBuilder._from_each_store`), and a store's
# AWS tunnel's (FROM-AWS-<LINK>-T<n>, `AwsTunnelView.filter`), at most: VRP
# names an ACL in 1 to 32 characters (`acl name`; Huawei's CloudEngine ACL parameters: "a string
# of 1 to 32 case-sensitive characters starting with a letter"), and the VRP lint holds an ACL's
# name to 31, below every Huawei value found (`vrp-name-length`); a store id and a link name take up
# to 32, so a long name is shortened with a hash of the full name (`short_ifname`).
STORE_FILTER_NAME_LIMIT = 31

# Segment kind -> the tag in object names (zones, ACLs, policies) on every platform.
SEGMENT_TAGS = {"pos": "POS", "office": "OFFICE", "cctv": "CCTV", "guest-wifi": "GUEST", "iot": "IOT"}
_SEGMENT_ORDER = tuple(SEGMENT_TAGS)


# The fleet's QoS classes, their views, and the views by name and by DSCP.
_QosViews = tuple[tuple[QosClass, ...], list[QosClassView], dict[str, QosClassView], dict[int, QosClassView]]


def _qos_view(cls: QosClass) -> QosClassView:
    return QosClassView(
        name=cls.name,
        tag=cls.name.upper(),
        dscp=cls.dscp,
        dscp_name=cls.dscp_name,
        dscp_bits=f"{cls.dscp:06b}",
        priority=cls.priority,
        bandwidth_percent=cls.bandwidth_percent,
        shape_percent=cls.shape_percent,
        best_effort=cls.dscp == 0,
    )


# Rules every store has, shared between views (they are immutable).
_PROTECTED_KINDS = frozenset(("pos", "office"))
_UNTRUSTED_KINDS = frozenset(("guest-wifi", "iot"))




def _application_rules(
    application: ApplicationPolicy, sources: list[SegmentView], local: dict[str, list[AclRule]]
) -> list[AclRule]:
    """What an application's policy routing matches: its segments' traffic to anywhere steering
    takes (`local`: per segment tag, the denies of its traffic to the view's `unsteered`
    destinations), on its ports."""
    protocol = "ip" if application.protocol == "any" else application.protocol
    rules = [rule for source in sources for rule in local[source.tag]]
    if application.ports:
        rules += [
            AclRule("permit", protocol, source.net, None, low, high if high != low else None)
            for source in sources
            for low, high in application.ports
        ]
    else:
        rules += [AclRule("permit", protocol, source.net) for source in sources]
    return rules


def transport_table(port: int) -> int:
    """The front-door routing table (Linux policy routing) / VRF number of a store's transport, by
    its WAN port (`Transport.port`)."""
    return 101 + port


class ViewBuilder:
    """Builds views for one fleet; fleet-wide parts (management, summaries) are computed once."""

    def __init__(
        self,
        fleet: Fleet,
        outputs: Mapping[str, StoreCloudOutputs] | None = None,
        *,
        reveal_secrets: bool = False,
        intent: NetworkIntent | None = None,
    ) -> None:
        self.fleet = fleet
        self.outputs = dict(outputs or {})
        self.reveal_secrets = reveal_secrets
        # Every address, tunnel, PSK slot and planned value comes from the network intent; this
        # builder only spells it in the notations the templates print.
        self.intent = intent or NetworkIntent(fleet, self.outputs, reveal_secrets=reveal_secrets)
        spec = fleet.spec
        plan = spec.ip_plan
        self._secrets = fleet_secrets(fleet, reveal=reveal_secrets)
        self._hub_prefix_cache: dict[str, list[tuple[int, Net]]] = {}
        # The fleet's QoS classes as views, with their lookups: every store's intent holds the
        # same classes, so they are spelled once (views share them; nothing mutates a view).
        self._qos_cache: _QosViews | None = None
        # SLA classes as a store's steering spells them: (class, position, DSCP) -> its view.
        self._sla_class_views: dict[tuple[SlaClassPolicy, int, int], SlaClassView] = {}
        # The services are the intent's, the same objects in every store's flows: by name, each
        # with its (destination, port) pairs, spelled once.
        self._service_pairs: dict[str, tuple[Service, list[tuple[Net, int | None]]]] = {}
        self.hq_networks = [Net.of(net) for net in plan.hq]
        self.hub_routes = [*self.hq_networks, Net.of(plan.cloud), Net.of(plan.desktops)]
        self.cloud_summary = Net.of(plan.cloud)
        private = (plan.stores, *plan.hq, plan.cloud, plan.desktops, plan.transit, plan.loopbacks)
        self.store_supernet = Net.of(plan.stores)
        # What an internet flow never reaches: every RFC 1918 range, the RFC 6598 shared space
        # (a carrier's CGNAT neighbours, the overlay's transit) and the link-local range (the
        # store's and hubs' cloud VPN inside addresses: AWS's BGP speakers sit one hop away on a
        # store with AWS tunnels), plus any fleet range outside them; "guest reaches only the
        # internet, never RFC 1918" holds for a modem's or a mall network's 192.168.x as much as
        # for the corporate ranges.
        excluded = ipaddress.collapse_addresses([*RFC1918, SHARED_ADDRESS_SPACE, LINK_LOCAL, *private])
        self.internet_excluded = [Net.of(net) for net in excluded]
        self.hub_refs = {
            name: HubRef(
                hub.hostname,
                hub.asn,
                str(hub.public_address),
                str(hub.loopback),
                str(hub.dc_address),
                slot,
                str(beacon.address) if beacon else None,
            )
            for name, (hub, beacon, slot) in self.intent.peer_hubs().items()
        }
        # Per hub with a beacon, the summaries it stands for (`HubBeacon.summaries`).
        self._beacon_summaries = {
            name: beacon.summaries for name, hub in fleet.hubs.items() if (beacon := self.intent.hub_beacon(hub))
        }
        self._hub_ios_probes = {
            hub.hostname: get_platform(hub.platform).answers_ios_probe for hub in fleet.hubs.values()
        }
        self._mgmt = ManagementView(
            domain=spec.organisation.domain,
            ntp_servers=tuple(str(address) for address in spec.management.ntp_servers),
            syslog_servers=tuple(str(address) for address in spec.management.syslog_servers),
            dns_forwarders=tuple(str(address) for address in spec.management.dns_forwarders),
            tacacs_servers=tuple(str(address) for address in spec.management.tacacs_servers),
            snmp_user=spec.management.snmp_user,
            ranges=tuple(Net.of(net) for net in plan.management),
            local_user=LOCAL_ADMIN_USER,
            local_password=self._slot("local-admin-password"),
            snmp_auth_key=self._slot("snmp-auth-key"),
            snmp_priv_key=self._slot("snmp-priv-key"),
            tacacs_key=self._slot("tacacs-key"),
            ntp_keys=self.intent.management.ntp_keys,
            guest_dns=tuple(str(address) for address in self.intent.management.guest_dns),
            snmp_auth=self.intent.management.snmp_auth,
            snmp_priv=self.intent.management.snmp_priv,
        )
        self._mgmt_by_resolvers = {self._mgmt.dns_forwarders: self._mgmt}

    def _management_view(self, management: ManagementAccess) -> ManagementView:
        """The fleet's management plane with the resolvers `management` names (a hub's intent names
        none: HubIntent.management), one view per set of resolvers, so a shared management block
        still renders once for all of them."""
        forwarders = tuple(str(address) for address in management.dns_forwarders)
        view = self._mgmt_by_resolvers.get(forwarders)
        if view is None:
            view = self._mgmt_by_resolvers[forwarders] = dataclasses.replace(self._mgmt, dns_forwarders=forwarders)
        return view

    def _slot(self, slug: str) -> Secret:
        return self._secrets.get(slug) or Secret(slug, "management.secrets", None, "has no reference")

    # -------------------------------------------------------- per tunnel helpers

    def _tunnel_view(
        self,
        profile: PlatformProfile,
        tunnel: Tunnel,
        link_index: int,
        number: int,
        store_asn: int,
        table: int,
        cellular: bool,
    ) -> TunnelView:
        assert tunnel.local_inside is not None and tunnel.peer_inside is not None and tunnel.peer_outside is not None
        # a store link's rank (only a hub's cloud tunnels carry none)
        assert tunnel.local_pref is not None and tunnel.prepend is not None
        underlay = tunnel.underlay
        return TunnelView(
            id=tunnel.id,
            link=tunnel.transport,
            hub=self.hub_refs[tunnel.peer],
            role=tunnel.role,
            local_pref=tunnel.local_pref,
            prepend=tunnel.prepend,
            prepend_path=prepend_path(store_asn, tunnel.prepend),
            bfd=tunnel_bfd(tunnel, cellular, profile.bfd_follows_sla),
            peer_bfd=tunnel.bfd is not None,
            table=table,
            underlay_gateway=dotted(int(underlay.gateway)) if underlay is not None and underlay.gateway else None,
            ifname=profile.store_tunnel(link_index, tunnel.transport, number, tunnel.peer),
            number=number,
            port=link_index,
            local_outside=dotted(int(tunnel.local_outside)) if tunnel.local_outside else None,
            peer_outside=dotted(int(tunnel.peer_outside)),
            inside=IfAddr.of(tunnel.local_inside),
            inside_peer=dotted(int(tunnel.peer_inside)),
            psk=tunnel.psk,
            ike_id=tunnel.local_id,
            peer_ike_id=tunnel.peer_id,
            mtu=tunnel.mtu.mtu,
            tcp_mss=tunnel.mtu.tcp_mss,
        )

    # -------------------------------------------------------- store

    def store_views(self, store: ResolvedStore) -> list[StoreApplianceView]:
        return [self.store_view(store, appliance.hostname) for appliance in store.appliances]

    def store_view(self, store: ResolvedStore, hostname: str) -> StoreApplianceView:
        appliance = next(a for a in store.appliances if a.hostname == hostname)
        profile = get_platform(appliance.platform)
        outputs = self.outputs.get(store.id)
        if outputs is not None:
            self._check_outputs(store, outputs)
        items = list(store.segments.items())
        nets = [Net.of(segment.subnet) for _, segment in items]
        # The advertised prefixes are segment subnets: reuse their views.
        net_of_subnet = {id(segment.subnet): net for (_, segment), net in zip(items, nets, strict=True)}
        intent = self.intent.store(store.id, hostname)
        zones = {zone.name: zone for zone in intent.zones}
        qos, qos_by_name, qos_by_dscp = self._qos_views(intent.qos)
        segments = [
            self._segment(profile, kind, segment, net, zones[kind], intent, qos_by_name, qos_by_dscp)
            for (kind, segment), net in zip(items, nets, strict=True)
        ]
        loopback_net = Net.at(int(appliance.loopback), 32)
        guest = next((segment for segment in segments if segment.kind == "guest-wifi"), None)
        breakout_name = intent.guest_breakout
        links = {link.name: link for link in store.wan}
        # Tunnels are numbered by their link's WAN port: 1..P those to the links' home hubs, P+1..2P
        # those to the other hub (P: the ports up to the highest a link is on), so a link keeps
        # its tunnels when another link is added or removed.
        ports = max(link.port for link in store.wan) + 1
        by_link: dict[str, list[TunnelView]] = {}
        for tunnel in intent.tunnels:
            if tunnel.kind != "store-hub":
                continue
            link = links[tunnel.transport]
            position = 0 if tunnel.peer == link.hub else 1
            by_link.setdefault(tunnel.transport, []).append(
                self._tunnel_view(
                    profile,
                    tunnel,
                    link.port,
                    position * ports + link.port + 1,
                    store.asn,
                    transport_table(link.port),
                    link.cellular,
                )
            )
        wan = [
            self._wan_link(
                profile, store, index, link, by_link[link.name], breakout_name, intent.transports[index]
            )
            for index, link in enumerate(store.wan)
        ]
        aws = self._aws_tunnels(profile, intent, wan)
        aws_link_names = {tunnel.link for tunnel in aws}
        loopback = IfAddr.at(int(appliance.loopback), 32)
        # What the store's AWS tunnels may teach: its store-aws sessions' (its region's workloads
        # range); the cloud summary on a store without them (no AWS filter renders).
        aws_routes = next(
            (Net.of(s.accepts[0]) for s in intent.sessions if s.kind == "store-aws" and s.accepts), self.cloud_summary
        )
        unsteered = [*(segment.net for segment in segments), loopback_net, *(Net.of(n) for n in intent.cloud_unsteered)]
        steering = (
            self._steering(
                profile.sla_steering,
                intent,
                segments,
                [tunnel for link in wan for tunnel in link.tunnels],
                unsteered,
            )
            if profile.sla_steering is not None
            else None
        )
        breakout = next((link for link in wan if link.guest_breakout), None) if guest else None
        return StoreApplianceView(
            hostname=appliance.hostname,
            platform=appliance.platform,
            planned=intent.planned,
            store_id=store.id,
            store_name=store.name,
            city=store.city,
            store_format=store.format,
            region=store.region,
            state=store.state,
            asn=store.asn,
            router_id=dotted(int(appliance.loopback)),
            loopback=loopback,
            loopback_ifname=profile.loopback,
            lan_trunk=profile.lan_trunk,
            segments=segments,
            wan=wan,
            tunnels=[tunnel for link in wan for tunnel in link.tunnels],
            aws_tunnels=aws,
            intent=intent,
            hubs=[self.hub_refs[name] for name in store.hubs],
            hub_asn=self.fleet.spec.asn.hq,
            # Segments and the loopback: NTP, syslog, TACACS+ and SSH are sourced from it.
            advertised=[
                *(net_of_subnet.get(id(prefix)) or Net.of(prefix) for prefix in store.advertised_prefixes),
                loopback_net,
            ],
            hub_routes=self.hub_routes,
            accept_default=True,
            cloud_summary=self.cloud_summary,
            aws_routes=aws_routes,
            cloud_max_prefixlen=CLOUD_LONGEST_PREFIX,
            unsteered=unsteered,
            hq_networks=self.hq_networks,
            internet_excluded=self.internet_excluded,
            mgmt=self._mgmt,
            bfd_profiles=sorted({link.bfd for link in wan}, key=lambda p: p.name),
            guest=guest,
            breakout=breakout,
            acls=[
                Acl(
                    "CELLULAR-ALLOWED",
                    profile.acl_number(store.id, "cellular", 0),
                    self._cellular_rules(
                        loopback_net, segments, wan, aws, steering.probes if steering is not None else []
                    ),
                ),
                *(
                    Acl(tunnel.filter, profile.acl_number(store.id, "aws", index), self._aws_filter(intent, tunnel, segments))
                    for index, tunnel in enumerate(aws)
                ),
            ],
            qos=qos,
            zones=[*(segment.tag for segment in segments), "OVERLAY", "INTERNET"],
            flows=self._flows(intent, segments) if profile.store_flow_rules else [],
            cellular_links=[link for link in wan if link.cellular],
            wired_links=[link for link in wan if not link.cellular],
            aws_links=[link for link in wan if link.name in aws_link_names],
            steering=steering,
            # VRP: each segment's one inbound traffic policy marks, steers (NQA-tracked redirects)
            # and breaks guest Wi-Fi out (devices/views/lanpolicy.py).
            lan_policies=(
                lan_policies(
                    store.id, segments, steering, unsteered, breakout, intent.sla.applications, profile.acl_numbers("lan-policy")
                )
                if profile.sla_steering == "nqa-policy-routes"
                else []
            ),
        )

    @staticmethod
    def _check_outputs(store: ResolvedStore, outputs: StoreCloudOutputs) -> None:
        links = {link.name for link in store.wan}
        extra = sorted({tunnel.link for tunnel in outputs.links} - links)
        missing = sorted(links - {tunnel.link for tunnel in outputs.links})
        unknown_aws = sorted({tunnel.link for tunnel in outputs.aws_tunnels} - links)
        if extra or missing or unknown_aws:
            detail = "; ".join(
                part
                for part in (
                    f"links not in the inventory: {', '.join(extra)}" if extra else "",
                    f"inventory links without outputs: {', '.join(missing)}" if missing else "",
                    f"AWS tunnels on unknown links: {', '.join(unknown_aws)}" if unknown_aws else "",
                )
                if part
            )
            raise StackOutputsError(
                f"stack outputs of store {store.id} do not match its inventory ({detail}); "
                "bring the store stack up to date first"
            )
        if outputs.aws_tunnels and not store.cloud.aws_region:
            raise StackOutputsError(
                f"stack outputs of store {store.id} have AWS tunnels, but it has no aws_region"
            )

    def _steering(
        self,
        mechanism: SteeringMechanism,
        intent: StoreIntent,
        segments: list[SegmentView],
        tunnels: list[TunnelView],
        unsteered: list[Net],
    ) -> SteeringView:
        """The intent's application classes as the vendor platforms steer them: a probe per
        (tunnel, SLA class) that some application uses, and per segment the applications its
        policy routing matches, port-specific ones first (the intent's order)."""
        policies = {cls.name: cls for cls in intent.sla.classes}
        classes = {
            cls.name: self._sla_class_view(cls, index, intent.sla.probe_dscp(cls.name))
            for index, cls in enumerate(intent.sla.classes, start=1)
        }
        if mechanism == "ip-sla-tracks" and len(classes) > 9:
            raise RenderError(
                f"store {intent.store_id}: {len(classes)} SLA classes, but IOS-XE probe numbers "
                "(10 x tunnel + class) hold at most 9"
            )
        by_id = {tunnel.id: tunnel for tunnel in tunnels}
        by_kind = {segment.kind: segment for segment in segments}
        # Per segment, its traffic to what steering never takes (`unsteered`: the store itself,
        # and the cloud where it has AWS tunnels), which no application's policy routing takes:
        # the same denies in every application of the segment (rules are immutable, so they share
        # them).
        local: dict[str, list[AclRule]] = {}
        probes: dict[tuple[str, str], ProbeView] = {}
        # A class's timers per hub probe kind: the same for every tunnel of the store.
        ios_timers: dict[tuple[str, str], IosProbeTimers] = {}

        # IOS-XE: one route track per hub with a beacon, numbered by the hub's first tunnel, and
        # per hub the SLA classes whose probes towards it follow it: those of an application that
        # goes to something inside the beacon's summaries (`StoreIntent.destinations`). A class
        # whose traffic goes elsewhere only (the desktops, say) keeps a hub that lost HQ.
        beacons: dict[str, BeaconTrackView] = {}
        beacon_classes: dict[str, set[str]] = {}
        if mechanism == "ip-sla-tracks":
            destinations = [(a.sla.name, intent.destinations(a)) for a in intent.sla.applications]
            for tunnel in tunnels:
                hub = tunnel.hub
                if hub.beacon is not None and hub.hostname not in beacons:
                    track = ios_beacon_track(len(beacons) + 1)
                    beacons[hub.hostname] = BeaconTrackView(hub.hostname, hub.beacon, track)
                    summaries = self._beacon_summaries.get(hub.hostname, ())
                    beacon_classes[hub.hostname] = {
                        name for name, goes in destinations if any(d.subnet_of(s) for d in goes for s in summaries)
                    }

        def probe(tunnel_id: str, cellular: bool, cls: SlaClassPolicy) -> ProbeView:
            found = probes.get((tunnel_id, cls.name))
            if found is None:
                tunnel, sla = by_id[tunnel_id], classes[cls.name]
                kind = self._hub_ios_probes[tunnel.hub.hostname]
                number = 10 * tunnel.number + sla.index
                if mechanism == "ip-sla-tracks" and number > IOS_MAX_PROBE_NUMBER:
                    raise RenderError(
                        f"store {intent.store_id}: tunnel {tunnel.id} is hub tunnel {tunnel.number}, "
                        f"but IOS-XE probe numbers (10 x tunnel + class) stop at {IOS_MAX_PROBE_NUMBER}"
                    )
                timers = None
                if mechanism == "ip-sla-tracks":
                    timers = ios_timers.get((cls.name, kind))
                    if timers is None:
                        timers = ios_timers[(cls.name, kind)] = ios_probe_timers(cls, kind)
                found = probes[(tunnel_id, cls.name)] = ProbeView(
                    number=number,
                    name=f"tun{tunnel.number}",
                    tunnel=tunnel,
                    sla=sla,
                    cellular=cellular,
                    udp_port=IOS_UDP_JITTER_PORT_BASE + sla.index,
                    ios=timers,
                    ios_tracks=(
                        ios_tracks(
                            number,
                            timers,
                            beacon.track
                            if (beacon := beacons.get(tunnel.hub.hostname))
                            and cls.name in beacon_classes[tunnel.hub.hostname]
                            else None,
                        )
                        if timers is not None
                        else None
                    ),
                    vrp=vrp_probe_timers(cls) if mechanism == "nqa-policy-routes" else None,
                )
            return found

        applications: list[SteeredApplicationView] = []
        routed = intent.routed_tunnel
        for application in intent.sla.applications:
            sources = [
                by_kind[kind] for kind in application.segments if kind in by_kind and by_kind[kind].overlay
            ]
            candidates = [path for path in application.paths if path.tunnel is not None]
            if not (application.overlay and sources and candidates):
                continue  # guest Wi-Fi breaks out locally: its path is the breakout, not a probe
            for source in sources:
                if source.tag not in local:
                    local[source.tag] = [AclRule("deny", "ip", source.net, net) for net in unsteered]
            if mechanism == "nqa-policy-routes":
                # An AR traffic behavior redirects to one next hop, withdrawn while its NQA test
                # fails (then BGP routes the traffic): the preferred path, where that is not the
                # path BGP takes anyway; a redirect there could move nothing
                # (SLA_STEERING_OFF_ROUTED_PATH_ONLY), so the application follows BGP.
                if routed is not None and candidates[0].tunnel == routed.id:
                    continue
                candidates = candidates[:1]
            paths = [
                probe(path.tunnel, path.cellular, application.sla)
                for path in candidates
                if path.tunnel is not None
            ]
            tag = application.name.upper()
            applications.append(
                SteeredApplicationView(
                    name=application.name,
                    tag=tag,
                    sla=classes[application.sla.name],
                    segments=sources,
                    protocol="ip" if application.protocol == "any" else application.protocol,
                    port_ranges=list(application.ports),
                    number=self.fleet.application_number(application.name),
                    cellular=application.cellular,
                    acl=Acl(
                        APPLICATION_ACL_PREFIX + tag,
                        3201 + len(applications),
                        _application_rules(application, sources, local),
                    ),
                    paths=paths,
                )
            )
        # Per segment tag, the applications matching it, in the applications' order.
        by_tag: dict[str, list[SteeredApplicationView]] = {segment.tag: [] for segment in segments}
        for app in applications:
            for tag in dict.fromkeys(source.tag for source in app.segments):
                by_tag[tag].append(app)
        steered = [SegmentSteeringView(segment, f"STEER-{segment.tag}", by_tag[segment.tag]) for segment in segments]
        health_checks = []
        if mechanism == "sdwan-health-checks":
            for tunnel in tunnels:
                used = sorted(
                    {probe.sla.name for probe in probes.values() if probe.tunnel is tunnel},
                    key=lambda name: classes[name].index,
                )
                if used:
                    health_checks.append(
                        HealthCheckView(
                            tunnel,
                            [classes[name] for name in used],
                            fortios_health_timers(tuple(policies[name] for name in used)),
                        )
                    )
        return_signals = []
        if mechanism == "ip-sla-tracks":
            for tunnel in tunnels:
                over = {found.sla.name: found for found in probes.values() if found.tunnel is tunnel}
                if over:
                    return_signals.append(
                        ReturnSignalView(
                            over[strictest([found.sla for found in over.values()]).name],
                            dotted(int(ios_return_signal(tunnel.number))),
                            f"RETURN-VIA-{tunnel.number}",
                        )
                    )
        return SteeringView(
            classes=list(classes.values()),
            probes=sorted(probes.values(), key=lambda found: found.number),
            applications=applications,
            segments=[view for view in steered if view.applications],
            health_checks=health_checks,
            return_signals=return_signals,
            return_exist_maps={signal.probe.tunnel.id: signal.exist_map for signal in return_signals},
            beacons=[
                beacon
                for beacon in beacons.values()
                if any(
                    found.ios_tracks is not None and found.ios_tracks.beacon == beacon.track
                    for found in probes.values()
                )
            ],
        )

    def _sla_class_view(self, cls: SlaClassPolicy, index: int, dscp: int) -> SlaClassView:
        """One SLA class as a store steers it (at its position, with its applications' DSCP):
        the same few for most stores, so built once each."""
        key = (cls, index, dscp)
        view = self._sla_class_views.get(key)
        if view is None:
            view = self._sla_class_views[key] = SlaClassView(
                name=cls.name,
                index=index,
                number=cls.number,
                probe=cls.probe,
                loss_percent=cls.thresholds.loss_percent,
                loss_whole_percent=max(1, math.ceil(cls.thresholds.loss_percent)),
                latency_ms=cls.thresholds.latency_ms,
                jitter_ms=cls.thresholds.jitter_ms,
                detection_seconds=cls.timers.detection_seconds,
                hold_down_seconds=cls.timers.hold_down_seconds,
                recovery_seconds=cls.timers.recovery_seconds,
                dscp=dscp,
            )
        return view

    def _flows(self, intent: StoreIntent, segments: list[SegmentView]) -> list[FlowView]:
        """The intent's flows as ordered rules per (segment, zone) pair. A service's prefixes and
        ports become permits; an internet service is "anything but a private range". A segment
        that never enters the overlay (guest Wi-Fi) reaches the internet through its own
        breakout, the others through HQ."""
        by_kind = {segment.kind: segment for segment in segments}
        grouped: dict[tuple[str, str], list[AclRule]] = {}
        sources: dict[str, SegmentView] = {}
        for flow in intent.flows:
            segment = by_kind.get(flow.source)
            if segment is None:
                continue
            destination = "OVERLAY" if segment.overlay else "INTERNET"
            rules = grouped.setdefault((segment.tag, destination), [])
            sources[segment.tag] = segment
            service = flow.service
            if service.internet:
                rules += [AclRule("deny", "ip", segment.net, net) for net in self.internet_excluded]
                rules.append(AclRule("permit", "ip", segment.net))
                continue
            protocol, net = service.protocol, segment.net
            rules += [AclRule("permit", protocol, net, destination, port) for destination, port in self._service_to(service)]
        return [
            FlowView(f"{source}-TO-{destination}", source, destination, rules, sources[source])
            for (source, destination), rules in grouped.items()
        ]

    def _service_to(self, service: Service) -> list[tuple[Net, int | None]]:
        """A service's (destination, port) pairs in rule order: each prefix with each port (None:
        any). The services are the fleet's, the same in every store's flows: spelled once each."""
        cached = self._service_pairs.get(service.name)
        if cached is None or cached[0] is not service:
            ports: tuple[int | None, ...] = service.ports or (None,)
            cached = self._service_pairs[service.name] = (
                service,
                [(Net.of(prefix), port) for prefix in service.prefixes for port in ports],
            )
        return cached[1]

    @staticmethod
    def _cellular_control(
        wan: list[WanLinkView], aws: list[AwsTunnelView], probes: list[ProbeView]
    ) -> list[AclRule]:
        """The control traffic of the tunnels that ride LTE/5G, each from its own inside address
        only (the store's, so no other sender's packet passes as control traffic): BGP both ways,
        BFD where the hub runs it and ICMP (pings, the ICMP probes, errors) on a hub tunnel, and
        its IOS-XE udp-jitter probes to the hub's responder (the control port and each probe's
        test port, the intent's SLA classes'); BGP on an AWS tunnel (no BFD there, and no probe).
        A LAN host (guest Wi-Fi too) sending to port 179 or pinging is not control traffic: it
        takes the LTE line only where its segment may."""
        rules: list[AclRule] = []
        for link in wan:
            if not link.cellular:
                continue
            for tunnel in link.tunnels:
                own, hub = tunnel.inside.host, Net.at(int(ipaddress.IPv4Address(tunnel.inside_peer)), 32)
                rules += [
                    AclRule("permit", "tcp", own, hub, 179),
                    AclRule("permit", "tcp", own, hub, source_port=179),
                ]
                if tunnel.peer_bfd:
                    rules.append(AclRule("permit", "udp", own, hub, 3784, 3785))
                rules.append(AclRule("permit", "icmp", own))
                ports = sorted(
                    {
                        probe.udp_port
                        for probe in probes
                        if probe.tunnel is tunnel and probe.ios is not None and probe.ios.kind == "udp-jitter"
                    }
                )
                if ports:
                    rules.append(AclRule("permit", "udp", own, hub, IOS_SLA_CONTROL_PORT))
                # The test ports in runs of consecutive ports, one entry per run.
                runs: list[list[int]] = []
                for port in ports:
                    if runs and port == runs[-1][-1] + 1:
                        runs[-1].append(port)
                    else:
                        runs.append([port])
                rules += [
                    AclRule("permit", "udp", own, hub, run[0], run[-1] if len(run) > 1 else None) for run in runs
                ]
        for aws_tunnel in aws:
            if aws_tunnel.cellular:
                own, peer = aws_tunnel.inside.host, Net.at(int(ipaddress.IPv4Address(aws_tunnel.inside_peer)), 32)
                rules += [
                    AclRule("permit", "tcp", own, peer, 179),
                    AclRule("permit", "tcp", own, peer, source_port=179),
                ]
        return rules

    def _cellular_rules(
        self,
        loopback: Net,
        segments: list[SegmentView],
        wan: list[WanLinkView],
        aws: list[AwsTunnelView],
        probes: list[ProbeView],
    ) -> list[AclRule]:
        """LTE/5G carries only the store's own traffic: its tunnels' control traffic, management
        and the segments the intent lets onto LTE (POS and office)."""
        return [
            *self._cellular_control(wan, aws, probes),
            AclRule("permit", "ip", loopback),
            *(AclRule("permit", "ip", segment.net) for segment in segments if segment.cellular_allowed),
            DENY_ANY,
        ]

    def _qos_views(
        self, classes: tuple[QosClass, ...]
    ) -> tuple[list[QosClassView], dict[str, QosClassView], dict[int, QosClassView]]:
        """The QoS classes as views, by name and by DSCP: built once for the fleet's classes."""
        cached = self._qos_cache
        if cached is None or cached[0] is not classes:
            views = [_qos_view(cls) for cls in classes]
            cached = self._qos_cache = (
                classes,
                views,
                {cls.name: cls for cls in views},
                {cls.dscp: cls for cls in views},
            )
        return cached[1], cached[2], cached[3]

    def _segment(
        self,
        profile: PlatformProfile,
        kind: str,
        segment: ResolvedSegment,
        net: Net,
        zone: Zone,
        intent: StoreIntent,
        by_name: dict[str, QosClassView],
        by_dscp: dict[int, QosClassView],
    ) -> SegmentView:
        tag = SEGMENT_TAGS[kind]
        own = by_name[zone.qos_class]
        gateway = IfAddr.at(int(segment.gateway), net.prefixlen)
        dhcp_start = int(segment.dhcp_start)
        return SegmentView(
            kind=kind,
            tag=tag,
            vlan=segment.vlan,
            ifname=profile.segment_interface(segment.vlan, kind),
            description=f"{kind} segment vlan {segment.vlan}",
            net=net,
            gateway=gateway,
            dhcp_start=dotted(dhcp_start),
            dhcp_end=dotted(int(segment.dhcp_end)),
            dhcp_reserved_end=dotted(dhcp_start - 1),
            dns_servers=self._mgmt.guest_dns if kind == "guest-wifi" else (gateway.ip,),
            dhcp_domain=None if kind == "guest-wifi" else self._mgmt.domain,
            dhcp_lease_seconds=self.intent.management.guest_lease_seconds if kind == "guest-wifi" else None,
            advertised=segment.advertised,
            overlay=kind != "guest-wifi",
            protected=kind in _PROTECTED_KINDS,
            untrusted=kind in _UNTRUSTED_KINDS,
            qos=own,
            marks=[
                MarkView(
                    name=f"QOS-{tag}-{application.name.upper()}",
                    application=application.name,
                    qos=by_dscp[application.dscp],
                    protocol=application.protocol,
                    port_ranges=list(application.ports),
                    acl=Acl(
                        f"QOS-{tag}-{application.name.upper()}",
                        profile.acl_number(intent.store_id, "qos-mark", position, block=_SEGMENT_ORDER.index(kind)),
                        [
                            AclRule("permit", application.protocol, net, None, low, high if high != low else None)
                            for low, high in application.ports
                        ],
                    ),
                )
                for position, application in enumerate(
                    a
                    for a in intent.sla.applications
                    if kind in a.segments and a.ports and a.dscp != own.dscp and a.dscp in by_dscp
                )
            ],
            cellular_allowed=zone.over_cellular,  # the intent: POS and office; IoT too on LTE-only stores
        )

    def _wan_link(
        self,
        profile: PlatformProfile,
        store: ResolvedStore,
        index: int,
        link: ResolvedWanLink,
        tunnels: list[TunnelView],
        breakout_name: str | None,
        transport: Transport,
    ) -> WanLinkView:
        hub = self.hub_refs[link.hub]
        role = "primary" if index == 0 else ("backup" if link.cellular else "secondary")
        static = link.addressing == "static" and link.address is not None
        return WanLinkView(
            name=link.name,
            index=index,
            port=link.port,
            port_stated=link.port_stated,
            kind=link.kind,
            isp=link.isp,
            description=f"{link.name} {link.kind} {link.isp} {link.bandwidth_mbps}M {role}",
            bandwidth_mbps=link.bandwidth_mbps,
            bandwidth_kbps=link.bandwidth_mbps * 1000,
            static=static,
            address=IfAddr.of(link.address) if static and link.address else None,
            gateway=dotted(int(link.gateway)) if static and link.gateway else None,
            cellular=link.cellular,
            primary=index == 0,
            role=role,
            ifname=profile.wan_port(link.port, link.name),
            hub=hub,
            tunnel=next(tunnel for tunnel in tunnels if tunnel.hub is hub),
            tunnels=tunnels,
            table=transport_table(link.port),
            local_pref=transport.local_pref,
            prepend=transport.prepend,
            prepend_path=prepend_path(store.asn, transport.prepend),
            bfd=BFD_CELLULAR if link.cellular else BFD_WIRED,
            guest_breakout=link.name == breakout_name,
            front_door_vrf="" if link.name == breakout_name and "guest-wifi" in store.segments else f"INET-{link.name}",
            zone=profile.wan_zone(link.name),
            queue_kbps=transport.queue_kbps,
            mtu=transport.mtu.underlay,
        )

    def _aws_tunnels(
        self, profile: PlatformProfile, intent: StoreIntent, wan: list[WanLinkView]
    ) -> list[AwsTunnelView]:
        by_name = {link.name: link for link in wan}
        views: list[AwsTunnelView] = []
        for tunnel in intent.tunnels:
            if tunnel.kind != "store-aws":
                continue
            assert tunnel.local_inside is not None and tunnel.peer_inside is not None and tunnel.peer_outside is not None
            assert tunnel.local_pref is not None  # a store link's (only a hub's cloud tunnels carry none)
            link = by_name[tunnel.transport]
            number = int(tunnel.peer.rsplit(":", 1)[1])
            views.append(
                AwsTunnelView(
                    id=tunnel.id,
                    name=f"aws-{link.name}-t{number}",
                    link=link.name,
                    link_ifname=link.ifname,
                    ifname=profile.aws_tunnel(link.port, link.name, number),
                    number=100 + 2 * link.port + number,
                    tunnel=number,
                    peer_outside=dotted(int(tunnel.peer_outside)),
                    local_outside=dotted(int(tunnel.local_outside)) if tunnel.local_outside else None,
                    inside=IfAddr.of(tunnel.local_inside),
                    inside_peer=dotted(int(tunnel.peer_inside)),
                    asn=tunnel.peer_asn,
                    psk=tunnel.psk,
                    local_pref=tunnel.local_pref,
                    table=link.table,
                    front_door_vrf=link.front_door_vrf,
                    underlay_gateway=link.gateway,
                    cellular=link.cellular,
                    filter=short_ifname(f"FROM-AWS-{link.name.upper()}-T{number}", STORE_FILTER_NAME_LIMIT),
                    mtu=tunnel.mtu.mtu,
                    tcp_mss=tunnel.mtu.tcp_mss,
                )
            )
        return views

    @staticmethod
    def _aws_filter(intent: StoreIntent, tunnel: AwsTunnelView, segments: list[SegmentView]) -> list[AclRule]:
        """What the store takes in from one of its AWS tunnels, first match wins, from the intent's
        store-aws BGP session over it (what FRR's `tunnel_ends` and FortiOS's local-in policies
        per AWS tunnel say): BGP between the tunnel's two inside addresses (to the store's port
        179, and AWS's answers from its port 179 to a session the store opened); ICMP from AWS's
        inside address to the store's (path MTU and errors); nothing else to the segments'
        gateways, the router's own addresses among the store's prefixes; then traffic from what
        the store accepts from AWS (the clouds' prefixes) to what it announces to AWS (its
        segments), which the zone firewall admits only as the answers to the segments' own flows;
        nothing else. So no AWS source, spoofed or not, reaches SSH, SNMP, DNS or ping on the
        router, as the hub tunnels' management ranges do (OVERLAY-TO-SELF on IOS-XE; nothing
        filters traffic to a VRP router between zones)."""
        session = next(s for s in intent.sessions if s.kind == "store-aws" and s.tunnel == tunnel.id)
        peer, own = Net.at(int(session.peer_address), 32), Net.at(int(session.local_address), 32)
        destinations = [Net.of(net) for net in session.announces]
        gateways = [
            segment.gateway.host
            for segment in segments
            if any(segment.net == destination for destination in destinations)
        ]
        return [
            AclRule("permit", "tcp", peer, own, 179),
            AclRule("permit", "tcp", peer, own, source_port=179, established=True),
            AclRule("permit", "icmp", peer, own),
            *(AclRule("deny", "ip", None, gateway) for gateway in gateways),
            *(
                AclRule("permit", "ip", Net.of(source), destination)
                for source in session.accepts
                for destination in destinations
            ),
            DENY_ANY,
        ]

    # -------------------------------------------------------- hub

    def _hub_prefixes(self, store: ResolvedStore) -> list[tuple[int, Net]]:
        """What a store may announce to a hub, each with its number (`devices/announced.py`): its
        segments (`ResolvedStore.advertised_prefixes`) and its appliances' loopbacks."""
        prefixes = self._hub_prefix_cache.get(store.id)
        if prefixes is None:
            prefixes = self._hub_prefix_cache[store.id] = [
                *((segment_entry_id(kind), Net.of(segment.subnet)) for kind, segment in store.segments.items() if segment.advertised),
                *(
                    (loopback_entry_id(place), Net.at(int(appliance.loopback), 32))
                    for place, appliance in enumerate(store.appliances)
                ),
            ]
        return prefixes

    @staticmethod
    def _check_management_port(
        hub: ResolvedHub,
        port: str | None,
        profile: PlatformProfile,
        peers: list[HubPeerView],
        cloud: list[CloudTunnelView],
    ) -> None:
        """A management port (the inventory's `management_port`) that is one of the hub's own
        interfaces: the management address, its dedicated routing and its firewall's drops would
        land on that interface (an FRR hub's `iifname "dc" drop` before its BGP rules, nothing
        forwarded in or out of it), cutting what it carries. A device has one name (the kernel
        refuses a second device of a name, and one port is one interface on every platform)."""
        if port is None:
            return
        taken = {
            profile.loopback: "its loopback",
            profile.hub_dc_port(): "its port on the DC core LAN",
            **{peer.ifname: f"its tunnel to store {peer.store.store_id} ({peer.link})" for peer in peers},
            **{tunnel.ifname: f"its VPN to {tunnel.name}" for tunnel in cloud},
        }
        if port in taken:
            raise RenderError(
                f"hub {hub.hostname}: management_port {port!r} is {taken[port]}: the management "
                "port must be a port of its own, on the management LAN"
            )

    def hub_view(self, hub_name: str) -> HubView:
        hub: ResolvedHub = self.fleet.hubs[hub_name]
        profile = get_platform(hub.platform)
        intent = self.intent.hub(hub_name)
        stores: dict[str, HubStoreView] = {}
        peers: list[HubPeerView] = []
        transit_base = int(self.fleet.spec.ip_plan.transit.network_address)
        # (store, link name) -> the link and its position (`list.index` would compare models).
        wan_index: dict[tuple[str, str], tuple[int, ResolvedWanLink]] = {}
        by_id = {store.id: store for store in self.fleet.stores.values()}
        for tunnel in intent.tunnels:
            if tunnel.kind != "store-hub":
                continue
            assert tunnel.local_inside is not None and tunnel.peer_inside is not None
            assert tunnel.local_pref is not None  # a store link's (only a hub's cloud tunnels carry none)
            assert tunnel.local_outside is not None  # the hub's end: its own outside address
            store = by_id[tunnel.peer]
            store_view = stores.get(store.id)
            if store_view is None:
                outputs = self.outputs.get(store.id)
                if outputs is not None:
                    self._check_outputs(store, outputs)
                store_view = stores[store.id] = HubStoreView(
                    store_id=store.id,
                    name=store.name,
                    asn=store.asn,
                    entries=self._hub_prefixes(store),
                    prefix_list=profile.route_filter_name(f"STORE-{store.id}"),
                    platform=store.appliances[0].platform,
                )
                wan_index.update(((store.id, link.name), (index, link)) for index, link in enumerate(store.wan))
            assert tunnel.peer_transport is not None
            link_position, link = wan_index[(store.id, tunnel.peer_transport)]
            if tunnel.peer_outside is None and hub.platform in HUB_STATIC_PEERS_ONLY:
                raise NetworkIntentError(
                    f"hub {hub.hostname} ({hub.platform}): store {store.id} link {link.name} is addressed "
                    f"by {link.addressing}: {HUB_STATIC_PEERS_ONLY[hub.platform]}"
                )
            # The link's own pinned transit slot numbers its tunnel on every hub (the second
            # hub's /31 is mirrored from the top of the pool; its slot number is not used).
            slot = (int(link.overlay.network.network_address) - transit_base) // 2
            peers.append(
                HubPeerView(
                    store=store_view,
                    link=link.name,
                    link_index=link_position,
                    kind=link.kind,
                    cellular=link.cellular,
                    role=tunnel.role,
                    ifname=profile.hub_peer_interface(store.id, link.name, slot),
                    number=slot + 1,
                    local=IfAddr.of(tunnel.local_inside),
                    peer=dotted(int(tunnel.peer_inside)),
                    peer_outside=dotted(int(tunnel.peer_outside)) if tunnel.peer_outside else None,
                    psk=tunnel.psk,
                    id=tunnel.id,
                    local_pref=tunnel.local_pref,
                    route_map=profile.route_filter_name(f"FROM-{store.id}-{link.name}"),
                    bfd=tunnel_bfd(tunnel, link.cellular, get_platform(store_view.platform).bfd_follows_sla),
                    description=f"{store.id} {link.name} {link.kind} {tunnel.role}",
                    ike_id=tunnel.peer_id,
                    local_ike_id=tunnel.local_id,
                    local_outside=dotted(int(tunnel.local_outside)),
                    mtu=tunnel.mtu.mtu,
                    tcp_mss=tunnel.mtu.tcp_mss,
                )
            )
        sites = {tunnel: label for label, site in cloud_sites(intent) for tunnel in site.tunnels}
        cloud = [
            self._cloud_tunnel_view(profile, tunnel, number, sites.get(tunnel.id, ""))
            for number, tunnel in enumerate(
                (t for t in intent.tunnels if t.kind in ("hub-aws", "hub-openstack")), start=1
            )
        ]
        if profile.max_tunnel_number is not None:
            self._check_tunnel_range(hub, profile.max_tunnel_number, peers, cloud)
        self._check_management_port(hub, intent.management_port, profile, peers, cloud)
        return HubView(
            hostname=hub.hostname,
            platform=hub.platform,
            planned=intent.planned,
            asn=hub.asn,
            router_id=str(hub.loopback),
            loopback=IfAddr.at(int(hub.loopback), 32),
            loopback_ifname=profile.loopback,
            public_address=str(hub.public_address),
            summaries=[Net.of(summary.prefix) for summary in intent.summaries],
            stores=list(stores.values()),
            peers=peers,
            mgmt=self._management_view(intent.management),
            bfd_profiles=sorted({peer.bfd for peer in peers}, key=lambda p: p.name),
            store_supernet=self.store_supernet,
            ike_id=self.intent.ike_id(hub.hostname),
            intent=intent,
            hub_neighbors=[
                self.hub_refs[session.peer] for session in intent.sessions if session.kind == "hub-hub"
            ],
            cloud_tunnels=cloud,
            dc=self._dc_view(profile, intent),
            overlay_pool=Net.of(self.fleet.spec.ip_plan.transit),
            qos=self._qos_views(intent.qos)[0],
            uplink_kbps=intent.uplink_mbps * 1000 if intent.uplink_mbps else None,
            uplink_queue_kbps=intent.uplink_queue_kbps,
            from_stores=self._from_stores(profile, intent, stores) if profile.hub_shared_store_filter else [],
            from_each_store=self._from_each_store(profile, intent, stores) if profile.hub_filter_rules else [],
            retired_store_filters=self._retired_store_filters() if profile.hub_retired_store_filters else [],
            from_clouds=self._from_clouds(profile, intent) if profile.hub_filter_rules else [],
        )

    def _retired_store_filters(self) -> list[str]:
        """The names `_from_each_store` gave the filters of the fleet's decommissioned stores, in
        store order: on every hub, not only those a store reaches now, since the hubs a store
        reaches move when a hub is added or removed, and a link of it may still be up on a hub
        it reached before."""
        return [
            short_ifname(f"FROM-STORE-{store.id}", STORE_FILTER_NAME_LIMIT)
            for store in self.fleet.stores.values()
            if store.state == "decommissioned"
        ]

    def _from_each_store(
        self, profile: PlatformProfile, intent: HubIntent, stores: Mapping[str, HubStoreView]
    ) -> list[Acl]:
        """Each served store's own inbound filter on its tunnels, FROM-STORE-<id> (`_from_stores`
        narrowed to the store: its tunnels' control traffic, and its own sources,
        `StoreForwarding.own` and its tunnels' inside addresses, where FROM-STORES takes every
        store's): another store's address on its tunnels is spoofed. Numbered by the platform
        (`PlatformProfile.store_filter_numbers`: on VRP beside the hub's fixed and cloud filters)."""
        forwarding = intent.store_forwarding
        served = forwarding.served()
        numbers = profile.store_filter_numbers(intent.hostname, len(served), len(cloud_sites(intent)))
        acls = []
        for number, (own, control) in zip(numbers, served, strict=True):
            insides = tuple(ipaddress.IPv4Network(c.store_inside) for c in control)
            segments = tuple(net for net in own.sources if net.subnet_of(forwarding.stores))
            rules = self._from_stores(
                profile, intent, stores, controls=control, sources=(*own.sources, *insides), internet=segments
            )
            acls.append(Acl(short_ifname(f"FROM-STORE-{own.store}", STORE_FILTER_NAME_LIMIT), number, rules))
        return acls

    def _from_stores(
        self,
        profile: PlatformProfile,
        intent: HubIntent,
        stores: Mapping[str, HubStoreView],
        controls: tuple[StoreControl, ...] | None = None,
        sources: tuple[ipaddress.IPv4Network, ...] | None = None,
        internet: tuple[ipaddress.IPv4Network, ...] | None = None,
    ) -> list[AclRule]:
        """The hub's store tunnels' inbound filter (`HubIntent.store_forwarding`) as packet-filter
        rules, first match wins. Each tunnel's control traffic to the hub itself, from the store's
        inside address to the hub's: BGP both ways, BFD control where the tunnel runs it, ICMP
        (pings, the SLA probes of every platform but IOS-XE's UDP jitter, errors), and towards a
        hub that answers IOS-XE UDP jitter probes (`answers_ios_probe`) an IOS-XE store's probes:
        the responder's control port (1967) and the store's SLA classes' test ports. Nothing to a
        store's own address: no store runs BFD echo, which would need the hub to loop it back.
        Then echo requests from the stores' tunnel addresses (one store's filter: its own) to the
        hub's loopback (`pingable`),
        nothing else to the hub's DC address (`closed`), nothing from a hub's own address
        (`hub_owned`), the corporate ranges, no other private range, and the internet."""
        forwarding = intent.store_forwarding
        rules: list[AclRule] = []
        for control in forwarding.control_by_number() if controls is None else controls:
            store, hub = Net.at(int(control.store_inside), 32), Net.at(int(control.hub_inside), 32)
            rules += [
                AclRule("permit", "tcp", store, hub, 179),
                # The store's answers to a session the hub opened: never a new connection from
                # port 179 to any port of the hub's.
                AclRule("permit", "tcp", store, hub, source_port=179, established=True),
            ]
            if control.bfd:
                rules.append(AclRule("permit", "udp", store, hub, 3784))
            rules.append(AclRule("permit", "icmp", store, hub))
            platform = stores[control.store].platform
            if profile.answers_ios_probe == "udp-jitter" and get_platform(platform).sla_steering == "ip-sla-tracks":
                classes = len(self.intent.store(control.store).sla.classes)
                if classes:
                    rules.append(AclRule("permit", "udp", store, hub, IOS_SLA_CONTROL_PORT))
                    first, last = IOS_UDP_JITTER_PORT_BASE + 1, IOS_UDP_JITTER_PORT_BASE + classes
                    rules.append(AclRule("permit", "udp", store, hub, first, last if last > first else None))
        # Pings to the hub's loopback (`pingable`): echo requests, nothing else, from any store
        # tunnel's inside address, or in one store's filter (`controls`) from its own tunnels'
        # only: the hub's echo reply goes where the source says, so from another store's tunnel
        # address it would be sent at that store's router.
        pingers = (
            [Net.of(forwarding.tunnels)]
            if controls is None
            else [Net.at(int(control.store_inside), 32) for control in controls]
        )
        rules += [
            AclRule("permit", "icmp", pinger, Net.at(int(address), 32), icmp_type="echo")
            for address in forwarding.pingable
            for pinger in pingers
        ]
        # Nothing else to the hub's own DC address (`closed`), which a corporate range holds.
        rules += [AclRule("deny", "ip", None, Net.at(int(address), 32)) for address in forwarding.closed]
        # Never from a hub's own address inside the stores' ranges (`hub_owned`: every hub's
        # loopback and beacon), which HQ's servers take a hub's syslog, traps and TACACS+ from.
        rules += [AclRule("deny", "ip", Net.at(int(address), 32)) for address in forwarding.hub_owned]
        # Nothing to HQ's routing infrastructure (`infrastructure`, the DC core LAN), denied once
        # here rather than cutting every corporate permit around it for every source.
        rules += [AclRule("deny", "ip", None, Net.of(net)) for net in forwarding.infrastructure]
        # Only from the stores' own addresses (`sources`): never as HQ, a management range or a
        # DC neighbour of the hubs, which the filters behind the hub trust by source address.
        rules += [
            AclRule("permit", "ip", Net.of(source), Net.of(net))
            for net in forwarding.corporate_whole
            for source in (forwarding.sources if sources is None else sources)
        ]
        rules += [AclRule("deny", "ip", None, Net.of(net)) for net in forwarding.private]
        rules += [
            AclRule("permit", "ip", Net.of(source))
            for source in (forwarding.internet_sources if internet is None else internet)
        ]
        # A traffic-filter (VRP) passes what no rule matches; IOS-XE's implicit deny says the same.
        rules.append(AclRule("deny", "ip"))
        return rules

    @staticmethod
    def _from_clouds(profile: PlatformProfile, intent: HubIntent) -> list[Acl]:
        """Each cloud site's inbound filter on its tunnels (`CloudForwarding.sites`,
        FROM-CLOUD-<site>, `_from_cloud`), numbered by the platform
        (`PlatformProfile.cloud_filter_numbers`)."""
        sessions = [s for s in intent.sessions if s.kind in ("hub-aws", "hub-openstack")]
        sites = cloud_sites(intent)
        numbers = profile.cloud_filter_numbers(intent.hostname, len(sites))
        return [
            Acl(f"FROM-CLOUD-{label}", number, rules)
            for number, (label, site) in zip(numbers, sites, strict=True)
            if (rules := ViewBuilder._from_cloud(profile, intent, [s for s in sessions if s.tunnel in site.tunnels], site.forwarding))
        ]

    @staticmethod
    def _from_cloud(
        profile: PlatformProfile, intent: HubIntent, sessions: list[BgpSession], forwarding: CloudForwarding
    ) -> list[AclRule]:
        """One cloud site's VPNs' inbound filter, first match wins (`CloudSite.forwarding`):
        BGP between each of its tunnels' two inside addresses (to the hub's port 179, and the
        peer's answers from its port 179 to a session the hub opened); nothing else to the hub's
        own addresses (its loopback, DC and public addresses; the inside addresses are covered by
        no permit below), so neither the IP SLA responder nor ICMP nor any service answers a
        cloud; nothing to HQ's routing infrastructure (the DC core LAN); from the site's own
        ranges anything else to HQ; to the stores only what `cloud_rules`
        admits (the answers to the flows their segments open towards the site, the flows it may
        open); the rest is dropped, so a cloud host opens nothing towards a store, sends nothing
        from another site's range, and reaches no other cloud, management range or the internet
        through the hub. None of it without the site's BGP sessions."""
        if not sessions:
            return []
        rules: list[AclRule] = []
        for session in sessions:
            peer, hub = Net.at(int(session.peer_address), 32), Net.at(int(session.local_address), 32)
            rules += [
                AclRule("permit", "tcp", peer, hub, 179),
                AclRule("permit", "tcp", peer, hub, source_port=179, established=True),
            ]
        own = dict.fromkeys((*intent.store_forwarding.pingable, *intent.store_forwarding.closed))
        rules += [AclRule("deny", "ip", None, Net.at(int(address), 32)) for address in own]
        # Nothing to HQ's routing infrastructure (`infrastructure`, the DC core LAN: the core
        # routers' and the other hubs' DC addresses), denied once before HQ's ranges whole.
        rules += [AclRule("deny", "ip", None, Net.of(net)) for net in forwarding.infrastructure]
        rules += [
            AclRule("permit", "ip", Net.of(source), Net.of(destination))
            for source in forwarding.sources
            for destination in forwarding.hq_whole
        ]
        stores = Net.of(intent.store_forwarding.stores) if profile.icmp_errors_per_source else None
        rules += cloud_rules(forwarding.store_flows, profile.icmp_errors, stores)
        # The ICMP errors each tunnel's far end (the AWS VGW or TGW, the OpenStack gateway) sends
        # from its inside address about what the hub forwards into the cloud, towards what the
        # session announces (HQ, the stores; the hub's own addresses and HQ's routing
        # infrastructure are denied above): fragmentation needed (path MTU discovery through the
        # cloud's gateway) and TTL exceeded (traceroute), from outside the site's ranges.
        rules += [
            AclRule("permit", "icmp", Net.at(int(session.peer_address), 32), Net.of(destination), icmp_type=name)
            for session in sessions
            for destination in session.announces
            for name in profile.icmp_errors
        ]
        rules.append(AclRule("deny", "ip"))
        return rules

    @staticmethod
    def _dc_view(profile: PlatformProfile, intent: HubIntent) -> DcView:
        dc = intent.dc
        session = next((s for s in intent.sessions if s.kind == "hub-dc"), None)
        return DcView(
            ifname=profile.hub_dc_port(),
            address=IfAddr.of(dc.address),
            asn=dc.core_asn,
            routers=[str(router) for router in dc.routers],
            accepts=[Net.of(net) for net in session.accepts] if session else [],
            announces=[Net.of(net) for net in session.announces] if session else [],
        )

    @staticmethod
    def _check_tunnel_range(
        hub: ResolvedHub, maximum: int, peers: list[HubPeerView], cloud: list[CloudTunnelView]
    ) -> None:
        """Store tunnels (numbered up by transit slot) and cloud tunnels (numbered down from
        the platform's highest tunnel number) must fit the platform's range without meeting."""
        lowest_cloud = min((t.number for t in cloud), default=maximum + 1)
        for peer in peers:
            if peer.number >= lowest_cloud:
                raise NetworkIntentError(
                    f"hub {hub.hostname} ({hub.platform}): store {peer.store.store_id} link {peer.link} "
                    f"holds transit slot {peer.number - 1} of ip_plan.transit (its pinned overlay /31), "
                    f"but this platform numbers tunnel interfaces only up to {maximum} and the hub's "
                    f"{len(cloud)} cloud tunnels take the top of that range; split the fleet across "
                    "more hubs or put these hubs on a platform without that limit"
                )

    def _cloud_tunnel_view(self, profile: PlatformProfile, tunnel: Tunnel, number: int, site: str) -> CloudTunnelView:
        far = tunnel.peer.split(":")
        label = f"aws{far[2]}-{far[1]}" if tunnel.kind == "hub-aws" else f"os-{far[1]}"
        # Above every store tunnel: past the transit slots where the range allows it (IOS-XE),
        # else counted down from the top of the platform's range (Huawei AR).
        maximum = profile.max_tunnel_number
        tunnel_number = CLOUD_TUNNEL_BASE + number if maximum is None else maximum + 1 - number
        if tunnel.kind == "hub-aws":
            slot = 2 * self.fleet.aws_region_slot(far[1]) + int(far[2]) - 1
        else:
            slot = 2 * HUB_AWS_REGIONS + self.fleet.openstack_site_slot(far[1])
        return CloudTunnelView(
            id=tunnel.id,
            kind=tunnel.kind,
            name=tunnel.peer,
            ifname=profile.cloud_tunnel(label, tunnel_number),
            number=tunnel_number,
            local_outside=str(tunnel.local_outside),
            peer_outside=str(tunnel.peer_outside),
            inside=IfAddr.of(tunnel.local_inside) if tunnel.local_inside else None,
            inside_peer=str(tunnel.peer_inside) if tunnel.peer_inside else None,
            asn=tunnel.peer_asn,
            psk=tunnel.psk,
            local_selectors=[Net.of(net) for net in tunnel.local_selectors],
            peer_selectors=[Net.of(net) for net in tunnel.peer_selectors],
            site=site,
            slot=slot,
            mtu=tunnel.mtu.mtu,
            tcp_mss=tunnel.mtu.tcp_mss,
        )


# Hub cloud tunnels are numbered above every store tunnel (transit /31 slots stay below 2^16).
CLOUD_TUNNEL_BASE = 65536
