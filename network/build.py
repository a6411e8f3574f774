"""Build the network intent from a resolved Fleet and (optionally) live store stack outputs.

The one place planned values are made. No I/O: secrets come in as `Secret` slots (their values
only when the caller asked for them), cloud values as parsed `StoreCloudOutputs`.

Design decisions made here, once, for every platform:

- **Every transport reaches both hubs.** A store has a primary and a backup hub; each of its WAN
  links carries a tunnel to each. Losing a hub leaves the store on its best transport; losing
  a transport leaves it on both hubs. LTE/5G stays backup by BGP policy (lower local-pref in,
  AS-path prepends out), not by topology.
- **Overlay /31 to the second hub**, without a new inventory field: the link's pinned transit
  /31 (slot `i` of `ip_plan.transit`) serves its home hub; the mirrored slot `N-1-i` from the
  top of the pool serves the other hub. IPAM allocates from the bottom, so the two halves never
  meet; `NetworkIntentError` says so if a pool ever fills past its middle.
- **Per-tunnel PSKs.** Planned PSKs are `HMAC-SHA256(fleet secret "ipsec-psk", tunnel id)`,
  spelled in AWS's PSK alphabet: both ends of a tunnel compute the same value from the same
  id, no two tunnels share one, and a leaked device config reveals no other tunnel's key. Live
  values from the store stack outputs win for the tunnels the stack builds.
- **One hub per cloud site carries both directions** (`cloud_rank`): hubs keep state, so the
  clouds' answers must come back through the hub a flow left by. Ranked as stated or pinned, a hub
  of rank k > 0 prepends its ASN k times towards the clouds and lowers the local preference of
  what its own cloud sessions teach, so every hub sends cloud traffic through the best-ranked
  hub whose VPN to the site is up, and the clouds answer through that same hub.
- **Underlay pinned per tunnel**: a /32 route to each far end via the tunnel's own transport.
- **Segmentation as data**: zones, services and the flows allowed between them; everything else
  is denied (stateful). Guest Wi-Fi reaches the internet only.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import ipaddress
from collections.abc import Mapping
from functools import cached_property
from typing import Literal

from pydantic import SecretStr

from storestack.common.addressing import (
    LINK_LOCAL,
    RFC1918,
    SHARED_ADDRESS_SPACE,
    collapse,
    excluding,
    management_lan,
)
from storestack.common.names import ike_domain_refusal, ike_identity
from storestack.common.ntp import NTP_KEY_LENGTHS, key_length_rule
from storestack.common.platforms import (
    HUB_DEFAULT_PASSED_ON,
    HUB_MANAGEMENT_PORT,
    HUB_NO_BEACON,
    HUB_NO_STORE_BFD,
    HUB_NO_UPLINK_QUEUES,
    STORE_ONE_FQDN_IDENTITY,
    uplink_rate_refusal,
)
from storestack.inventory import hq
from storestack.inventory.fleet import Fleet, ResolvedHub, ResolvedStore, ResolvedWanLink
from storestack.inventory.models import DSCP_VALUES, guest_breakout_index
from storestack.network.cloud import (
    CLOUD_RANKS,
    CLOUD_SLOT_BITS,
    cloud_site_keys,
    cloud_slot,
    hub_aws_inside,
    hub_openstack_inside,
    planned_aws_outside,
    planned_openstack_gateway,
    store_aws_inside,
)
from storestack.network.crypto import fleet_crypto
from storestack.network.errors import NetworkIntentError
from storestack.network.model import (
    CLOUD_LONGEST_PREFIX,
    HUB_UNDERLAY_MTU,
    NETWORK_CONTROL_DSCPS,
    SESSION_BFD,
    BgpSession,
    CloudFlow,
    CloudForwarding,
    CloudRank,
    CloudSite,
    DcCoreLink,
    DcTrust,
    DesktopFlow,
    Flow,
    HubBeacon,
    HubIntent,
    HubSummary,
    ManagementAccess,
    NtpKey,
    PrefixLimit,
    QosClass,
    ReturnPartner,
    Role,
    Service,
    SessionKind,
    StoreControl,
    StoreDefault,
    StoreForwarding,
    StoreIntent,
    StoreSources,
    Transport,
    Tunnel,
    TunnelKind,
    UnderlayRoute,
    Zone,
    prefix_limit,
    prefixes_within,
    wan_queue_kbps,
)
from storestack.network.outputs import CoreCloudOutputs, StoreCloudOutputs
from storestack.network.secrets import Secret, fleet_secrets, limited_secret
from storestack.network.sla import (
    LOCAL_BREAKOUT_SEGMENTS,
    FleetClassPolicies,
    SlaClassPolicy,
    build_store_sla,
    link_preference,
    transport_classes,
)

IPv4Network = ipaddress.IPv4Network
IPv4Address = ipaddress.IPv4Address
IPv4Interface = ipaddress.IPv4Interface

PSK_SECRET = "ipsec-psk"  # management.secrets slug of the fleet secret per-tunnel PSKs derive from
DEFAULT_ROUTE = IPv4Network("0.0.0.0/0")


def cloud_prefix_limit(accepts: tuple[IPv4Network, ...]) -> PrefixLimit:
    """What a hub takes from a cloud VPN accepting `accepts`: every prefix its inbound filter can
    pass (each range and its subnets up to CLOUD_LONGEST_PREFIX bits)."""
    return prefix_limit(sum(prefixes_within(net, CLOUD_LONGEST_PREFIX) for net in accepts))


def _within(nets: tuple[IPv4Network, ...], ranges: tuple[IPv4Network, ...]) -> tuple[IPv4Network, ...]:
    """The parts of `nets` inside `ranges`: each net inside a range, each range inside a net."""
    parts = [net for net in nets if any(net.subnet_of(r) for r in ranges)]
    parts += [r for r in ranges for net in nets if r.subnet_of(net) and r != net]
    return collapse(tuple(parts))


def _narrowed(forwarding: CloudForwarding, ranges: tuple[IPv4Network, ...]) -> CloudForwarding:
    """`forwarding` with every cloud source narrowed to `ranges` (one cloud site's): the flows
    with no cloud part left there dropped."""

    def flows(found: tuple[CloudFlow, ...]) -> tuple[CloudFlow, ...]:
        narrowed = (dataclasses.replace(flow, clouds=_within(flow.clouds, ranges)) for flow in found)
        return tuple(flow for flow in narrowed if flow.clouds)

    return CloudForwarding(
        sources=_within(forwarding.sources, ranges),
        hq=forwarding.hq,
        infrastructure=forwarding.infrastructure,
        replies=flows(forwarding.replies),
        opens=flows(forwarding.opens),
    )


def _infrastructure_denied(
    infrastructure: tuple[IPv4Network, ...], reached: tuple[IPv4Network, ...]
) -> tuple[IPv4Network, ...]:
    """The parts of `infrastructure` (`NetworkIntent.dc_infrastructure`) that a filter may deny
    before permitting `reached` with the holes filled (`StoreForwarding.corporate_whole`,
    `CloudForwarding.hq_whole`): those `reached` does not overlap. A server written inside the
    DC core LAN is a reached host route, which no deny may hide."""
    return tuple(n for n in infrastructure if not any(n.overlaps(r) for r in reached))


# What a Windows domain member opens to its domain controllers: Kerberos, RPC endpoint mapper,
# LDAP, SMB, kpasswd, LDAPS, the global catalog, the dynamic RPC range, and time (a member takes
# its clock from a DC, and Kerberos fails on a skewed one). DNS goes to the fleet's resolvers.
DIRECTORY_PORTS: tuple[tuple[Literal["tcp", "udp"], int, int], ...] = (
    ("tcp", 88, 88), ("tcp", 135, 135), ("tcp", 389, 389), ("tcp", 445, 445), ("tcp", 464, 464),
    ("tcp", 636, 636), ("tcp", 3268, 3269), ("tcp", 49152, 65535),
    ("udp", 88, 88), ("udp", 123, 123), ("udp", 389, 389), ("udp", 464, 464),
)
# Cloud desktops reach no internet, on either cloud: AWS WorkSpaces are created with internet
# access off and their VPC routes only to the Transit Gateway, and OpenStack desktops get no egress
# rule beyond `NetworkIntent.desktop_flows`, though their router SNATs. A desktop holds staff data
# by role (finance, HR, every store's POS data for HQ roles) and logs on with directory
# credentials: the web is for the office PCs behind the stores' and HQ's own filtered breakouts,
# and a desktop that can browse is one phishing page away from handing both out.
DESKTOP_INTERNET = False


BFD_WIRED = "WIRED"
BFD_CELLULAR = "CELLULAR"
MANAGEMENT_PORTS: tuple[tuple[str, int], ...] = (("tcp", 22), ("udp", 161))


def derive_psk(fleet_secret: str, tunnel_id: str) -> str:
    """The planned PSK of one tunnel: HMAC-SHA256 over the tunnel id, keyed with the fleet secret.

    Spelled in letters and digits (AWS's PSK rule: 8-64 of A-Za-z0-9._, not starting with 0),
    48 characters, so every platform takes it unquoted on one line."""
    digest = hmac.new(fleet_secret.encode(), tunnel_id.encode(), hashlib.sha256).digest()
    text = base64.b32encode(digest).decode().rstrip("=").lower()  # a-z2-7, 52 characters
    return "k" + text[:47]


def fqdn_identity_link(links: list[ResolvedWanLink]) -> ResolvedWanLink:
    """The link that sends the store's one FQDN identity on a platform with one per device
    (`STORE_ONE_FQDN_IDENTITY`): its first link without a static address (the inventory allows
    one), else its first link."""
    return next((link for link in links if link.addressing != "static"), links[0])


def tunnel_id(store_id: str, transport: str, far_end: str) -> str:
    """One id for both ends of a tunnel; also the swanctl connection name (letters, digits, '-')."""
    return f"{store_id}-{transport}-{far_end}"


class NetworkIntent:
    """The fleet's network intent: store and hub intents, computed on first use, then cached.

    `outputs` are live (or planned) store stack outputs keyed by store id, `core` the core stack's
    (the cloud ends of the hub tunnels); without them the values are planned here, and only here.
    `reveal_secrets` fills PSK values (push files); otherwise PSK slots carry no value and render
    redacted."""

    def __init__(
        self,
        fleet: Fleet,
        outputs: Mapping[str, StoreCloudOutputs] | None = None,
        *,
        core: CoreCloudOutputs | None = None,
        reveal_secrets: bool = False,
    ) -> None:
        self.fleet = fleet
        self.outputs = dict(outputs or {})
        self.core = core
        self.reveal_secrets = reveal_secrets
        spec = fleet.spec
        plan = spec.ip_plan
        self.domain = spec.organisation.domain
        slots = fleet_secrets(fleet, reveal=reveal_secrets)
        self._fleet_psk = slots.get(PSK_SECRET)
        self._transit = plan.transit
        self._transit_slots = plan.transit.num_addresses // 2
        self._stores: dict[tuple[str, str], StoreIntent] = {}
        self._hubs: dict[str, HubIntent] = {}
        self._store_ends: dict[tuple[str, str, str], Tunnel] = {}
        self._store_accepts_by_hubs: dict[tuple[str, ...], tuple[IPv4Network, ...]] = {}
        self._flows_by_zones: dict[tuple[str | bool, ...], tuple[Flow, ...]] = {}
        self._segment_classes: dict[str, str] = {}
        self._transport_classes: dict[str, dict[str, SlaClassPolicy]] = {}
        self._sla_classes = FleetClassPolicies(spec.sla.classes, fleet.sla_class_number)
        # address -> its /32: a hub's public address is every planned tunnel's underlay
        # destination, a loopback both its store's announcement and every hub's accept.
        self._host_nets: dict[IPv4Address, IPv4Network] = {}
        # hub hostname -> (the hub, its beacon): a beacon names every served store's loopback,
        # and the lint asks for it once per store.
        self._hub_beacons: dict[str, tuple[ResolvedHub, HubBeacon | None]] = {}
        self.hub_routes: tuple[IPv4Network, ...] = (*plan.hq, plan.cloud, plan.desktops)
        self.fleet_space: tuple[IPv4Network, ...] = (
            plan.stores,
            *plan.hq,
            plan.cloud,
            plan.desktops,
            plan.transit,
            plan.loopbacks,
        )
        # QoS classes: the appliance marks every segment on ingress (no host's marking is trusted).
        self.qos = tuple(
            QosClass(
                name,
                DSCP_VALUES[qos.dscp],
                qos.dscp,
                qos.priority,
                qos.bandwidth_percent,
                qos.shape_percent,
                tuple(qos.segments),
            )
            for name, qos in spec.qos.classes.items()
        )
        self.management = ManagementAccess(
            ranges=tuple(plan.management),
            loopback=IPv4Address(0),
            ports=MANAGEMENT_PORTS,  # type: ignore[arg-type]
            ntp_servers=tuple(spec.management.ntp_servers),
            syslog_servers=tuple(spec.management.syslog_servers),
            tacacs_servers=tuple(spec.management.tacacs_servers),
            dns_forwarders=tuple(spec.management.dns_forwarders),
            ntp_keys=tuple(
                NtpKey(
                    key.id,
                    key.algorithm,
                    limited_secret(
                        slots[key.secret],
                        NTP_KEY_LENGTHS[key.algorithm][1],
                        key_length_rule(key.algorithm),
                        min_length=NTP_KEY_LENGTHS[key.algorithm][0],
                    ),
                )
                for key in spec.management.ntp_keys
            ),
            guest_dns=tuple(spec.management.guest_dns),
            snmp_auth=spec.management.snmp_auth,
            snmp_priv=spec.management.snmp_priv,
        )

    # ------------------------------------------------------------ fleet-wide data

    @cached_property
    def services(self) -> dict[str, Service]:
        """The destinations flows reach: HQ services at the inventory's `sites.hq.services`."""
        spec = self.fleet.spec
        plan = spec.ip_plan

        def at(name: hq.ServiceName) -> tuple[IPv4Network, ...]:
            prefixes = hq.service_prefixes(spec, name)
            if not prefixes:  # the inventory checks refuse this; a hand-built spec may not
                raise NetworkIntentError(
                    f"sites.hq.services.{name}: no address (ip_plan.hq[0] cannot hold its default)"
                )
            return prefixes

        return {
            "hq-pos": Service("hq-pos", at("pos"), "tcp", (443,)),
            "payment": Service("payment", at("payment"), "tcp", (443,)),
            "iot-services": Service("iot-services", at("iot"), "tcp", (443, 8883)),
            "recorder": Service("recorder", at("recorder"), "tcp", (443, 554)),
            # HQ and the clouds, but the cardholder data environment (the tills' HQ POS service and
            # the payment service, which only POS reaches), the management ranges (which reach
            # the stores, never the other way) and the DC core LAN (`dc_infrastructure`): an office
            # PC is out of PCI DSS scope only while it cannot open a connection into it.
            "corporate": Service(
                "corporate",
                excluding(
                    (*plan.hq, plan.cloud),
                    (*at("pos"), *at("payment"), *plan.management, *self.dc_infrastructure),
                ),
            ),
            # Staff reach virtual desktops through their HTTPS gateway (RDP inside TLS); RDP itself
            # reaches a desktop only from the management ranges.
            "desktops": Service("desktops", (plan.desktops,), "tcp", (443,)),
            "internet": Service("internet", (), internet=True),
        }

    @cached_property
    def dc_infrastructure(self) -> tuple[IPv4Network, ...]:
        """HQ's routing infrastructure, which no store, office PC or cloud desktop reaches though
        the HQ ranges hold it: the DC core LAN (`sites.hq.core.subnet`), the core routers' and
        the hubs' DC addresses, where only the hubs' BGP with the core and each other runs. No
        user service lives there, and the stores' management, NTP, syslog, TACACS+ and DNS
        servers are elsewhere (one written inside it stays reached: `_store_forwarding`).
        Neither `corporate` nor what a hub forwards from its stores holds it."""
        return (hq.core_lan(self.fleet.spec),)

    @cached_property
    def cloud_hq(self) -> tuple[IPv4Network, ...]:
        """HQ as the clouds reach it (`CloudForwarding.hq`, the clouds' security groups and
        NACLs): HQ but its routing infrastructure (`dc_infrastructure`), where no cloud service
        lives; a server the clouds use (management, the desktops' directory) written inside it
        stays a reached host route."""
        servers = (*self._management_servers, *(net.network_address for net in self.directory_servers))
        inside = tuple(
            self.host_net(server) for server in dict.fromkeys(servers) if any(server in n for n in self.dc_infrastructure)
        )
        return collapse((*excluding(tuple(self.fleet.spec.ip_plan.hq), self.dc_infrastructure), *inside))

    def _management_interface(self, address: IPv4Address) -> ipaddress.IPv4Interface:
        """A hub's management address on its management port (`common/addressing.py`
        `management_lan`): the prefix of the management range that holds it."""
        return management_lan(address, self.management.ranges)

    def _management_via_gateway(self, hub: ResolvedHub, lan: ipaddress.IPv4Interface | None) -> tuple[ipaddress.IPv4Network, ...]:
        """The management ranges a hub's management port reaches through the inventory's
        `management_gateway`: every one outside its management LAN, which the port reaches
        directly (the inventory refuses a gateway that would route none)."""
        if hub.management_gateway is None or lan is None:
            return ()
        return tuple(net for net in self.management.ranges if not net.subnet_of(lan.network))

    @cached_property
    def _management_servers(self) -> tuple[IPv4Address, ...]:
        """The fleet's NTP, syslog, TACACS+ and DNS servers (`management`), in that order."""
        mgmt = self.management
        return (*mgmt.ntp_servers, *mgmt.syslog_servers, *mgmt.tacacs_servers, *mgmt.dns_forwarders)

    @cached_property
    def directory_servers(self) -> tuple[IPv4Network, ...]:
        """The chain's domain controllers at HQ: what the desktop pools' AD Connectors are pointed
        at (`desktop_policies[].directory.dns_ips`), else the fleet's resolvers, which are the
        domain's DNS servers."""
        spec = self.fleet.spec
        written = {ip for policy in spec.desktop_policies if policy.directory for ip in policy.directory.dns_ips}
        servers = written or set(spec.management.dns_forwarders)
        return tuple(IPv4Network(ip) for ip in sorted(servers))

    @cached_property
    def desktop_flows(self) -> tuple[DesktopFlow, ...]:
        """What every cloud desktop (any pool, AWS or OpenStack) may open; all else is denied, and
        nothing towards a store: desktops answer the stores' connections, they never open one.

        HTTPS to HQ and the clouds' workloads, but the cardholder data environment and the
        management ranges (the `corporate` service an office PC reaches, for the same PCI DSS
        reason); directory ports to the domain controllers; DNS to the fleet's resolvers and NTP
        to its time servers. No internet (`DESKTOP_INTERNET`)."""
        management = self.management
        dns = tuple(IPv4Network(ip) for ip in management.dns_forwarders)
        ntp = tuple(IPv4Network(ip) for ip in management.ntp_servers)
        corporate = self.services["corporate"].prefixes
        flows = [DesktopFlow("corporate", "tcp", ((443, 443),), corporate, "HTTPS to HQ and cloud workloads")]
        protocols: tuple[Literal["tcp", "udp"], ...] = ("tcp", "udp")
        if self.directory_servers:
            for protocol in protocols:
                ranges = tuple((low, high) for proto, low, high in DIRECTORY_PORTS if proto == protocol)
                flows.append(
                    DesktopFlow("directory", protocol, ranges, self.directory_servers, "domain member to its DCs")
                )
        if dns:
            flows += [DesktopFlow("dns", protocol, ((53, 53),), dns, "DNS to the fleet resolvers") for protocol in protocols]
        if ntp:
            flows.append(DesktopFlow("ntp", "udp", ((123, 123),), ntp, "time from the fleet NTP servers"))
        return tuple(flows)

    @cached_property
    def _hub_order(self) -> list[str]:
        return list(self.fleet.hubs)

    def cloud_rank(self, name: str) -> CloudRank:
        """Hub `name`'s rank towards the clouds, stated in the inventory or pinned by IPAM, never its
        place in fleet.yaml (`Fleet.hub_cloud_rank`; 0 carries the flows), and what its cloud
        sessions set for it (`CloudRank`; `network/cloud.py` `BGP_DEFAULT_LOCAL_PREF` says why).
        A hub with cloud VPNs holds it as `HubIntent.cloud_rank`."""
        if name not in self.fleet.hubs:
            raise NetworkIntentError(f"no hub {name!r} in the fleet (known: {', '.join(self._hub_order)})")
        rank = self.fleet.hub_cloud_rank(name)
        if not 0 <= rank < CLOUD_RANKS:
            raise NetworkIntentError(
                f"hub {name} has cloud rank {rank}: the cloud ranks order at most {CLOUD_RANKS} hubs by local preference"
            )
        return CloudRank.of(rank)

    def ike_id(self, name: str) -> str:
        """The FQDN IKE identity of a store link (`<id>-<link>`) or a hub (its hostname) under the
        fleet's domain, held to `common/names.py` `IKE_ID_LIMIT` (`ike_identity`). A domain that
        leaves no room for that is refused (the inventory refuses it first, `fleet_checks`)."""
        if (refusal := ike_domain_refusal(self.domain)) is not None:
            raise NetworkIntentError(f"organisation.domain {refusal}")
        return ike_identity(name, self.domain)

    def known_by_address(self, store: ResolvedStore, link: ResolvedWanLink) -> bool:
        """Whether a store link's tunnels identify BOTH ends by their outside addresses (IKE
        ID_IPV4_ADDR) rather than by FQDN: on a store platform with one FQDN identity per device
        (`STORE_ONE_FQDN_IDENTITY`), every static link but `fqdn_identity_link`. The hubs send
        their address on those tunnels too: such a store's IKE peer says only `local-id-type ip`,
        and where it names no `remote-id-type` (no AR document says what it then expects) Huawei
        documents the local ID type as the type it checks the peer's identity by; an address on
        both ends holds under either reading."""
        platform = next((a.platform for a in store.appliances if a.platform in STORE_ONE_FQDN_IDENTITY), None)
        if platform is None:
            return False
        dynamic = [other.name for other in store.wan if other.addressing != "static"]
        if len(dynamic) > 1:
            raise NetworkIntentError(
                f"store {store.id}: links {', '.join(dynamic)} have no static address: "
                f"{STORE_ONE_FQDN_IDENTITY[platform]}"
            )
        return (
            link.name != fqdn_identity_link(store.wan).name
            and link.addressing == "static"
            and link.address is not None
        )

    def store_link_id(self, store: ResolvedStore, link: ResolvedWanLink) -> str:
        """The IKE identity a store link sends the hubs: its own FQDN, or its static address
        where the link is `known_by_address`."""
        if self.known_by_address(store, link):
            assert link.address is not None
            return str(link.address.ip)
        return self.ike_id(f"{store.id}-{link.name}")

    def hub_link_id(
        self, store: ResolvedStore, link: ResolvedWanLink, hub: ResolvedHub, hub_outside: IPv4Address
    ) -> str:
        """The IKE identity a hub sends on its tunnel to one store link: its FQDN, or its outside
        address (the tunnel's) where the link is `known_by_address`."""
        return str(hub_outside) if self.known_by_address(store, link) else self.ike_id(hub.hostname)

    def psk(self, tunnel: str) -> Secret:
        """The planned PSK slot of one tunnel, derived from the fleet secret (see `derive_psk`)."""
        name = f"psk {tunnel}"
        fleet = self._fleet_psk
        if fleet is None:
            return Secret(
                name,
                f"management.secrets.{PSK_SECRET}",
                None,
                "is not configured (per-tunnel PSKs derive from it)",
            )
        if not self.reveal_secrets:
            # A display render: never read, printed redacted.
            return Secret(name, fleet.source, where=fleet.where)
        if fleet.problem is not None or fleet.value is None:
            return Secret(
                name, fleet.source, None, fleet.problem or "is not set (per-tunnel PSKs derive from it)", fleet.where
            )
        return Secret(
            name,
            f"HMAC of {fleet.source}",
            SecretStr(derive_psk(fleet.value.get_secret_value(), tunnel)),
            where=fleet.where,
        )

    # ------------------------------------------------------------ addressing

    def host_net(self, address: IPv4Address) -> IPv4Network:
        """`address`/32, one object per address (many tunnels and sessions name the same host)."""
        net = self._host_nets.get(address)
        if net is None:
            net = self._host_nets[address] = IPv4Network((int(address), 32))
        return net

    def _slot(self, link: ResolvedWanLink) -> int:
        return (int(link.overlay.network.network_address) - int(self._transit.network_address)) // 2

    def overlay(self, link: ResolvedWanLink, hub: str) -> tuple[IPv4Interface, IPv4Address]:
        """(store side /31, hub side) of a link's tunnel to `hub`: the pinned /31 for its home hub,
        the mirrored slot from the top of the transit pool for the other."""
        if hub == link.hub:
            return link.overlay, link.overlay_peer
        slot = self._slot(link)
        if slot >= self._transit_slots // 2:
            raise NetworkIntentError(
                f"ip_plan.transit {self._transit}: {link.overlay.network} is in the pool's upper half, "
                "which holds the second-hub /31s; enlarge ip_plan.transit"
            )
        hub_side = int(self._transit.network_address) + 2 * (self._transit_slots - 1 - slot)
        return IPv4Interface((hub_side + 1, 31)), IPv4Address(hub_side)

    def transport_ranks(self, store: ResolvedStore) -> dict[str, tuple[int, int]]:
        """(local-pref, prepends) per link, in the store's preference (`link_preference`): wired
        links beat cellular ones, each group in the order its strictest application prefers."""
        ranks: dict[str, tuple[int, int]] = {}
        wired = cellular = 0
        for position, link in enumerate(link_preference(store, self._sla_classes)):
            if link.cellular:
                ranks[link.name] = (100 - 10 * cellular, min(position, 3))
                cellular += 1
            else:
                ranks[link.name] = (200 - 20 * wired, min(position, 3))
                wired += 1
        return ranks

    @staticmethod
    def _role(index: int, link: ResolvedWanLink) -> Role:
        return "primary" if index == 0 else ("backup" if link.cellular else "secondary")

    def store_hubs(self, store: ResolvedStore) -> list[str]:
        """The hubs a store reaches over each transport: primary first."""
        return [store.primary_hub] + ([store.backup_hub] if store.backup_hub != store.primary_hub else [])

    # ------------------------------------------------------------ store <-> hub tunnels

    def _store_hub_end(
        self, store: ResolvedStore, index: int, link: ResolvedWanLink, hub: ResolvedHub, rank: tuple[int, int]
    ) -> Tunnel:
        """The store's end of one store-link-to-hub tunnel (built once: the store's intent and
        the hub's end, `_hub_end`, share it)."""
        key = (store.id, link.name, hub.hostname)
        end = self._store_ends.get(key)
        if end is None:
            end = self._store_ends[key] = self._build_store_end(store, index, link, hub, rank)
        return end

    def _hub_end(
        self, store: ResolvedStore, index: int, link: ResolvedWanLink, hub: ResolvedHub, rank: tuple[int, int]
    ) -> Tunnel:
        """The hub's end of that tunnel: the store's end seen from the hub, from the same values.
        Built only when a hub's intent asks for it (a store's intent needs only its own end)."""
        near = self._store_hub_end(store, index, link, hub, rank)
        assert near.local_inside is not None and near.peer_inside is not None
        return Tunnel(
            id=near.id,
            kind="store-hub",
            transport="wan",
            role=near.role,
            peer=store.id,
            local_outside=near.peer_outside,
            peer_outside=near.local_outside,
            local_inside=IPv4Interface((int(near.peer_inside), near.local_inside.network.prefixlen)),
            peer_inside=near.local_inside.ip,
            local_id=near.peer_id,
            peer_id=near.local_id,
            local_asn=hub.asn,
            peer_asn=store.asn,
            psk=near.psk,
            psk_origin=near.psk_origin,
            underlay=None,
            local_pref=near.local_pref,
            prepend=near.prepend,
            bfd=near.bfd,
            live=near.live,
            mtu=near.mtu,
            peer_transport=link.name,
            sla=near.sla,
        )

    def _build_store_end(
        self, store: ResolvedStore, index: int, link: ResolvedWanLink, hub: ResolvedHub, rank: tuple[int, int]
    ) -> Tunnel:
        tid = tunnel_id(store.id, link.name, hub.hostname)
        outputs = self.outputs.get(store.id)
        live = (
            outputs.hub_tunnel(link.name, hub.hostname, home=hub.hostname == link.hub)
            if outputs is not None
            else None
        )
        if live is not None:
            store_inside, hub_inside = live.inside, live.inside_peer
            hub_outside = live.outside_address
            psk = Secret(f"psk {tid}", "stack outputs", live.psk)
        else:
            store_inside, hub_inside = self.overlay(link, hub.hostname)
            hub_outside = hub.public_address
            psk = self.psk(tid)
        # The backup hub is a step below the primary on the same transport.
        backup_hub = hub.hostname != store.primary_hub
        # No BFD where the hub runs none on its store links (`HUB_NO_STORE_BFD`).
        bfd = None if hub.platform in HUB_NO_STORE_BFD else BFD_CELLULAR if link.cellular else BFD_WIRED
        classes = self._transport_classes.get(store.id)
        if classes is None:
            classes = self._transport_classes[store.id] = transport_classes(store, self._sla_classes)
        return Tunnel(
            id=tid,
            kind="store-hub",
            transport=link.name,
            role=self._role(index, link),
            peer=hub.hostname,
            local_outside=link.address.ip if link.address is not None and link.addressing == "static" else None,
            peer_outside=hub_outside,
            local_inside=store_inside,
            peer_inside=hub_inside,
            local_id=self.store_link_id(store, link),
            peer_id=self.hub_link_id(store, link, hub, hub_outside),
            local_asn=store.asn,
            peer_asn=hub.asn,
            psk=psk,
            psk_origin="stack outputs" if live is not None else "derived",
            underlay=UnderlayRoute(self.host_net(hub_outside), link.name, link.gateway),
            local_pref=rank[0] - (5 if backup_hub else 0),
            prepend=rank[1] + (1 if backup_hub else 0),
            bfd=bfd,
            live=live is not None,
            mtu=fleet_crypto().tunnel_mtu(link.mtu),
            sla=classes.get(link.name),
        )

    # ------------------------------------------------------------ store

    def store(self, store_id: str, hostname: str | None = None) -> StoreIntent:
        store = self.fleet.store(store_id)
        appliance = (
            store.appliances[0]
            if hostname is None
            else next((a for a in store.appliances if a.hostname == hostname), None)
        )
        if appliance is None:
            raise NetworkIntentError(f"store {store_id} has no appliance {hostname!r} in the inventory")
        key = (store.id, appliance.hostname)
        cached = self._stores.get(key)
        if cached is None:
            cached = self._stores[key] = self._build_store(store, appliance.hostname, appliance.loopback)
        return cached

    def _build_store(self, store: ResolvedStore, hostname: str, loopback: IPv4Address) -> StoreIntent:
        ranks = self.transport_ranks(store)
        hubs = [self.fleet.hubs[name] for name in self.store_hubs(store)]
        outputs = self.outputs.get(store.id)
        transports = tuple(
            Transport(
                name=link.name,
                kind=link.kind,
                index=index,
                port=link.port,
                role=self._role(index, link),
                cellular=link.cellular,
                bandwidth_mbps=link.bandwidth_mbps,
                queue_kbps=wan_queue_kbps(link.bandwidth_mbps * 1000),
                address=link.address if link.addressing == "static" else None,
                gateway=link.gateway if link.addressing == "static" else None,
                local_pref=ranks[link.name][0],
                prepend=ranks[link.name][1],
                mtu=fleet_crypto().tunnel_mtu(link.mtu),
            )
            for index, link in enumerate(store.wan)
        )
        tunnels = [
            self._store_hub_end(store, index, link, hub, ranks[link.name])
            for index, link in enumerate(store.wan)
            for hub in hubs
        ]
        aws = self._store_aws_tunnels(store, transports, outputs) if store.cloud.aws_region else []
        announces = (*store.advertised_prefixes, self.host_net(loopback))
        sessions = [
            BgpSession(
                kind="store-hub",
                local_address=t.local_inside.ip,
                peer_address=t.peer_inside,
                local_asn=t.local_asn,
                peer_asn=t.peer_asn,
                peer=t.peer,
                tunnel=t.id,
                bfd=t.bfd,
                accepts=self._store_accepts(tuple(hub.hostname for hub in hubs)),
                announces=announces,
                prefix_limit=self._hub_prefix_limit,
            )
            for t in tunnels
            if t.local_inside is not None and t.peer_inside is not None
        ]
        # What the store's AWS region announces over its tunnels: the workloads VPC alone (the
        # region's `stores` Transit Gateway table learns nothing else, `components/aws_region.py`),
        # never another site's range, HQ's or another store's.
        cloud: tuple[IPv4Network, ...] = ()
        if aws:
            region = self.cloud_site_ranges.get(f"aws:{store.cloud.aws_region}")
            if region is None:
                # The inventory refuses this too; a fleet built in code meets it here.
                raise NetworkIntentError(f"store {store.id}: AWS region {store.cloud.aws_region} is none of the fleet's")
            cloud = region[:1]
        sessions += [
            BgpSession(
                kind="store-aws",
                local_address=t.local_inside.ip,
                peer_address=t.peer_inside,
                local_asn=t.local_asn,
                peer_asn=t.peer_asn,
                peer=t.peer,
                tunnel=t.id,
                bfd=None,
                accepts=cloud,
                announces=tuple(store.advertised_prefixes),
                prefix_limit=cloud_prefix_limit(cloud),
            )
            for t in aws
            if t.local_inside is not None and t.peer_inside is not None
        ]
        zones = self._zones(store)
        sla = build_store_sla(
            store,
            self._sla_classes,
            self.store_hubs(store),
            frozenset(zone.name for zone in zones if zone.enters_overlay),
            {(t.transport, t.peer): (t.id, t.peer_inside) for t in tunnels},
        )
        return StoreIntent(
            store_id=store.id,
            hostname=hostname,
            asn=store.asn,
            loopback=loopback,
            planned=outputs is None or outputs.planned,
            transports=transports,
            tunnels=(*tunnels, *aws),
            sessions=tuple(sessions),
            announces=announces,
            zones=zones,
            flows=self._flows(zones, guest_breakout=_guest_breakout(store) is not None),
            qos=self.qos,
            management=dataclasses.replace(self.management, loopback=loopback),
            guest_breakout=_guest_breakout(store),
            lte_only=store.lte_only,
            sla=sla,
            cloud_unsteered=(self.fleet.spec.ip_plan.cloud,) if aws else (),
        )

    @cached_property
    def _hub_loopback_routes(self) -> tuple[IPv4Network, ...]:
        return tuple(IPv4Network((int(hub.loopback), 32)) for hub in self.fleet.hubs.values())

    def _hub_loopbacks(self) -> tuple[IPv4Network, ...]:
        return self._hub_loopback_routes

    def _store_accepts(self, hubs: tuple[str, ...]) -> tuple[IPv4Network, ...]:
        """What a store accepts from its hubs (`hubs`, `store_hubs`): the default route, the HQ,
        cloud and desktop summaries, and those hubs' loopbacks and beacons, the same on each of
        its hub sessions. Only its own hubs': with more than two hubs, another hub's beacon
        would say nothing about a path the store has, and every store template takes its own
        hubs' only."""
        accepts = self._store_accepts_by_hubs.get(hubs)
        if accepts is None:
            own = [self.fleet.hubs[name] for name in hubs]
            loopbacks = (self.host_net(hub.loopback) for hub in own)
            beacons = (beacon.route for hub in own if (beacon := self.hub_beacon(hub)))
            accepts = self._store_accepts_by_hubs[hubs] = (DEFAULT_ROUTE, *self.hub_routes, *loopbacks, *beacons)
        return accepts

    # ------------------------------------------------------------ prefix limits (`PrefixLimit`)

    @cached_property
    def _hub_prefix_limit(self) -> PrefixLimit:
        """What a store takes from each hub: sized from what its inbound filter passes from any
        hub (`_store_accepts`: the default route, the summaries, the hubs' loopbacks and beacons),
        one limit for every store: sized as if a store took every hub's."""
        return prefix_limit(len(self._store_accepts(tuple(self.fleet.hubs))))

    @cached_property
    def _store_prefix_limit(self) -> PrefixLimit:
        """What a hub takes from each store link, one limit for every store (the hubs' store peer
        groups): sized from the store that may announce the most, its segments but guest Wi-Fi and
        its appliances' loopbacks (what each hub's per-store filter passes)."""
        return prefix_limit(max(self._store_announcements, default=0))

    @cached_property
    def _cloud_prefix_limit(self) -> PrefixLimit:
        """What the cloud VPNs together may teach a hub (what the other hub passes on): the
        whole cloud and desktop ranges and their subnets up to CLOUD_LONGEST_PREFIX bits. Each
        cloud VPN's own limit is its site's share (`cloud_prefix_limit`)."""
        plan = self.fleet.spec.ip_plan
        return cloud_prefix_limit((plan.cloud, plan.desktops))

    @cached_property
    def cloud_site_ranges(self) -> dict[str, tuple[IPv4Network, ...]]:
        """Each cloud site's own ranges, by `cloud_site_keys` key: its slot of the cloud range
        (its workloads) and of the desktop range, where the core stack builds its networks
        (`stacks/mapping.py`). The only prefixes a hub takes from that site's BGP sessions: an
        AWS region announces its two VPCs (its hub attachments' Transit Gateway table learns
        nothing else, `components/aws_region.py`), an OpenStack gateway its site's networks."""
        spec = self.fleet.spec
        plan = spec.ip_plan
        keys = cloud_site_keys(
            (region for account in spec.sites.aws for region in account.regions),
            (site.name for site in spec.sites.openstack),
        )
        ranges: dict[str, tuple[IPv4Network, ...]] = {}
        for key in keys:
            index = self.fleet.cloud_range_slot(key)  # pinned (IPAM): a site added or removed moves none
            slots = (cloud_slot(plan.cloud, index), cloud_slot(plan.desktops, index))
            if slots[0] is None or slots[1] is None:
                # The inventory refuses more sites than slots (MAX_CLOUD_SITES); a fleet built in code meets it here.
                raise NetworkIntentError(f"cloud site {key}: ip_plan.cloud has room for {2**CLOUD_SLOT_BITS} sites")
            ranges[key] = (slots[0], slots[1])
        return ranges

    @staticmethod
    def _cloud_site_of(tunnel: Tunnel) -> str:
        """The cloud site a hub's cloud tunnel ends at: `aws:<region>` of `aws:<region>:<n>`,
        `openstack:<name>` as it is."""
        return tunnel.peer.rsplit(":", 1)[0] if tunnel.kind == "hub-aws" else tunnel.peer

    def _cloud_site_slot(self, site: str) -> int:
        """Cloud site `site`'s (`aws:<region>`, `openstack:<name>`) slot among its cloud's sites,
        pinned by IPAM (`Fleet.aws_region_slot`, `Fleet.openstack_site_slot`)."""
        cloud, name = site.split(":", 1)
        return self.fleet.aws_region_slot(name) if cloud == "aws" else self.fleet.openstack_site_slot(name)

    @cached_property
    def _hub_hub_prefix_limit(self) -> PrefixLimit:
        """What a hub takes from each other hub: every store's prefixes and loopbacks, every hub's
        loopback and beacon, the store aggregate, the cloud and desktop summaries and what the
        cloud VPNs may teach (the other hub passes on what its own VPNs learn)."""
        stores = sum(self._store_announcements)
        hubs = 2 * len(self.fleet.hubs)
        cloud = self._cloud_prefix_limit.allowed if self.fleet.spec.sites.aws or self.fleet.spec.sites.openstack else 0
        return prefix_limit(stores + hubs + 1 + 2 + cloud)

    @cached_property
    def _store_announcements(self) -> list[int]:
        """How many prefixes each store the hubs serve (all but the decommissioned ones) may
        announce: its segments but guest Wi-Fi, and its appliances' loopbacks."""
        return [len(store.advertised_prefixes) + len(store.appliances) for store in self._live_stores]

    def _store_aws_tunnels(
        self, store: ResolvedStore, transports: tuple[Transport, ...], outputs: StoreCloudOutputs | None
    ) -> list[Tunnel]:
        aws_asn = self.fleet.spec.asn.aws
        region = store.cloud.aws_region
        by_name = {transport.name: transport for transport in transports}
        links = {link.name: link for link in store.wan}
        # (transport, tunnel number, inside /30 network, outside, psk, live)
        plans: list[tuple[Transport, int, int, IPv4Address, Secret, bool]] = []
        if outputs is not None:
            for live in sorted(outputs.aws_tunnels, key=lambda t: (by_name[t.link].index, t.tunnel)):
                tid = tunnel_id(store.id, live.link, f"aws{live.tunnel}")
                plans.append(
                    (
                        by_name[live.link],
                        live.tunnel,
                        int(live.inside_cidr.network_address),
                        live.outside_address,
                        Secret(f"psk {tid}", "stack outputs", live.psk),
                        True,
                    )
                )
        else:
            # IPAM pins a /29 on every AWS-attached link (`inventory.ipam.aws_attached_links`:
            # static links, as an AWS customer gateway needs a stable public address), unique in
            # the store's region; AWS's end is the planned address of each /30 (`network.cloud`).
            for transport in transports:
                block = links[transport.name].aws_inside
                if block is None:
                    continue
                for number in (1, 2):
                    inside = store_aws_inside(block, number)
                    tid = tunnel_id(store.id, transport.name, f"aws{number}")
                    plans.append(
                        (
                            transport,
                            number,
                            int(inside.network_address),
                            planned_aws_outside(inside),
                            self.psk(tid),
                            False,
                        )
                    )
        tunnels = []
        for transport, number, inside_net, outside, psk, live_flag in plans:
            tid = tunnel_id(store.id, transport.name, f"aws{number}")
            tunnels.append(
                Tunnel(
                    id=tid,
                    kind="store-aws",
                    transport=transport.name,
                    role=transport.role,
                    peer=f"aws:{region}:{number}",
                    local_outside=transport.address.ip if transport.address else None,
                    peer_outside=outside,
                    local_inside=IPv4Interface((inside_net + 2, 30)),
                    peer_inside=IPv4Address(inside_net + 1),
                    local_id=str(transport.address.ip)
                    if transport.address
                    else self.ike_id(f"{store.id}-{transport.name}"),
                    peer_id=str(outside),
                    local_asn=store.asn,
                    peer_asn=aws_asn,
                    psk=psk,
                    psk_origin="stack outputs" if live_flag else "derived",
                    underlay=UnderlayRoute(
                        IPv4Network((int(outside), 32)), transport.name, transport.gateway
                    ),
                    local_pref=250 - 10 * transport.index,
                    prepend=transport.prepend,
                    bfd=None,
                    live=live_flag,
                    mtu=transport.mtu,
                )
            )
        return tunnels

    def _zones(self, store: ResolvedStore) -> tuple[Zone, ...]:
        lte_only = store.lte_only
        over_cellular = {"pos", "office", "iot"} if lte_only else {"pos", "office"}
        return tuple(
            Zone(
                name=kind,
                prefixes=(segment.subnet,),
                vlan=segment.vlan,
                qos_class=self._segment_class(kind),
                trusted_marking=False,
                enters_overlay=kind not in LOCAL_BREAKOUT_SEGMENTS,
                over_cellular=kind in over_cellular,
            )
            for kind, segment in store.segments.items()
        )

    def _segment_class(self, kind: str) -> str:
        """The QoS class a segment kind's traffic is marked into (the fleet's, per kind)."""
        name = self._segment_classes.get(kind)
        if name is None:
            name = self._segment_classes[kind] = self.fleet.spec.qos.segment_class(kind)
        return name

    def _flows(self, zones: tuple[Zone, ...], *, guest_breakout: bool) -> tuple[Flow, ...]:
        """What each zone may reach. A zone that never enters the overlay (guest Wi-Fi) reaches
        the internet only through the store's own breakout, so a store without one (cellular
        links only: guest Wi-Fi never goes over LTE/5G, `guest_breakout_index`) gives it no flow
        at all: every platform then drops its traffic, and its hosts keep DHCP and pings at their
        gateway."""
        services = self.services
        allowed = {
            "pos": (("hq-pos", "till to HQ POS service"), ("payment", "card payments")),
            "office": (
                ("corporate", "HQ and cloud, but the payment, HQ POS, management and DC core ranges"),
                ("desktops", "virtual desktops through their HTTPS gateway"),
                ("internet", "office internet"),
            ),
            "cctv": (("recorder", "camera uploads to the recorder"),),
            "iot": (("iot-services", "IoT device services"),),
            "guest-wifi": (("internet", "guest internet only, NATed locally"),),
        }
        key: tuple[str | bool, ...] = (*(zone.name for zone in zones), guest_breakout)
        flows = self._flows_by_zones.get(key)
        if flows is None:  # flows depend only on which zones a store has: a few shapes per fleet
            flows = self._flows_by_zones[key] = tuple(
                Flow(zone.name, services[name], why)
                for zone in zones
                if zone.enters_overlay or guest_breakout
                for name, why in allowed.get(zone.name, ())
            )
        return flows

    # ------------------------------------------------------------ hub

    def hub(self, name: str) -> HubIntent:
        cached = self._hubs.get(name)
        if cached is None:
            cached = self._hubs[name] = self._build_hub(name)
        return cached

    def _build_hub(self, name: str) -> HubIntent:
        try:
            hub = self.fleet.hubs[name]
        except KeyError:
            raise NetworkIntentError(
                f"no hub {name!r} in the fleet (known: {', '.join(self._hub_order)})"
            ) from None
        if (refusal := uplink_rate_refusal(hub.hostname, hub.platform, hub.uplink_mbps)) is not None:
            # The inventory refuses this too; a fleet built in code meets it here.
            raise NetworkIntentError(refusal)
        tunnels: list[Tunnel] = []
        sessions: list[BgpSession] = []
        control: list[StoreControl] = []
        own: list[StoreSources] = []
        planned = False
        beacon = self.hub_beacon(hub)
        hub_routes = (*self.hub_routes, *self._hub_loopbacks(), *([beacon.route] if beacon else []))
        for store in self.served_stores(name):
            outputs = self.outputs.get(store.id)
            planned = planned or outputs is None or outputs.planned
            ranks = self.transport_ranks(store)
            accepts = (
                *store.advertised_prefixes,
                *(self.host_net(a.loopback) for a in store.appliances),
            )
            own.append(StoreSources(store=store.id, number=self.store_number(store), sources=accepts))
            for index, link in enumerate(store.wan):
                end = self._hub_end(store, index, link, hub, ranks[link.name])
                tunnels.append(end)
                assert end.local_inside is not None and end.peer_inside is not None
                hub_inside = end.local_inside.ip
                control.append(
                    StoreControl(
                        tunnel=end.id,
                        store=store.id,
                        store_inside=end.peer_inside,
                        hub_inside=hub_inside,
                        bfd=end.bfd is not None,
                    )
                )
                sessions.append(
                    BgpSession(
                        kind="store-hub",
                        local_address=hub_inside,
                        peer_address=end.peer_inside,
                        local_asn=hub.asn,
                        peer_asn=store.asn,
                        peer=store.id,
                        tunnel=end.id,
                        bfd=end.bfd,
                        accepts=accepts,
                        announces=hub_routes,
                        default_originate=True,
                        prefix_limit=self._store_prefix_limit,
                    )
                )
        plan = self.fleet.spec.ip_plan
        # iBGP between the hubs on their DC LAN addresses (connected: no IGP, no loopback
        # reachability needed); the hubs' loopbacks ride on it with the stores, and so do the
        # cloud and desktop routes each hub's own VPNs teach: a hub whose cloud VPNs are down
        # still announces the cloud summaries (`HubSummary`) while the other hub's VPNs teach
        # routes inside them, and forwards the stores' traffic there. HQ's routes stay off it: a
        # hub that lost the DC core withdraws HQ's summary and the stores go to the other hub.
        for other in self.fleet.hubs.values():
            if other.hostname != name:
                sessions.append(
                    BgpSession(
                        kind="hub-hub",
                        local_address=hub.dc_address,
                        peer_address=other.dc_address,
                        local_asn=hub.asn,
                        peer_asn=other.asn,
                        peer=other.hostname,
                        tunnel=None,
                        bfd=SESSION_BFD["hub-hub"].profile,
                        accepts=(plan.stores, plan.loopbacks, plan.cloud, plan.desktops),
                        announces=(plan.stores, plan.loopbacks, plan.cloud, plan.desktops),
                        prefix_limit=self._hub_hub_prefix_limit,
                    )
                )
        dc = self._dc_link(hub)
        # eBGP to the DC core: HQ and management prefixes (and the DC edge's default route) in;
        # the stores, every loopback and what the cloud VPNs teach out.
        sessions += [
            BgpSession(
                kind="hub-dc",
                local_address=dc.address.ip,
                peer_address=router,
                local_asn=hub.asn,
                peer_asn=dc.core_asn,
                peer=f"dc-core{index}",
                tunnel=None,
                bfd=None,
                accepts=(
                    *plan.hq,
                    *(net for net in plan.management if not any(net.subnet_of(h) for h in plan.hq)),
                ),
                announces=(plan.stores, plan.loopbacks, plan.cloud, plan.desktops),
                accepts_default=True,
            )
            for index, router in enumerate(dc.routers, start=1)
        ]
        cloud_tunnels = self._hub_cloud_tunnels(hub)
        tunnels += cloud_tunnels
        planned = planned or (bool(cloud_tunnels) and (self.core is None or self.core.planned))
        sessions += [
            BgpSession(
                kind="hub-openstack" if t.kind == "hub-openstack" else "hub-aws",
                local_address=t.local_inside.ip,
                peer_address=t.peer_inside,
                local_asn=hub.asn,
                peer_asn=t.peer_asn,
                peer=t.peer,
                tunnel=t.id,
                bfd=None,
                accepts=self.cloud_site_ranges[self._cloud_site_of(t)],
                announces=(*plan.hq, plan.stores),
                prefix_limit=cloud_prefix_limit(self.cloud_site_ranges[self._cloud_site_of(t)]),
            )
            for t in cloud_tunnels
            if t.local_inside is not None and t.peer_inside is not None
        ]
        management_port = hub.management_port or HUB_MANAGEMENT_PORT.get(hub.platform)
        management_interface = self._management_interface(hub.management_address) if management_port else None
        return HubIntent(
            hostname=hub.hostname,
            asn=hub.asn,
            loopback=hub.loopback,
            public_address=hub.public_address,
            management_address=hub.management_address,
            management_port=management_port,
            management_interface=management_interface,
            management_gateway=hub.management_gateway if management_interface else None,
            management_via_gateway=self._management_via_gateway(hub, management_interface),
            planned=planned,
            tunnels=tuple(tunnels),
            sessions=tuple(sessions),
            originates=(IPv4Network((int(hub.loopback), 32)),),
            summaries=self._hub_summaries,
            # No resolvers: a hub resolves no names (HubIntent.management says why).
            management=dataclasses.replace(self.management, loopback=hub.loopback, dns_forwarders=()),
            dc=dc,
            qos=self.qos,
            uplink_mbps=hub.uplink_mbps,
            uplink_queue_kbps=wan_queue_kbps(hub.uplink_mbps * 1000) if hub.uplink_mbps else None,
            store_forwarding=dataclasses.replace(
                self._store_forwarding,
                control=tuple(control),
                own=tuple(own),
                pingable=(hub.loopback,),
                closed=(hub.dc_address, hub.public_address),
            ),
            dc_trust=self._dc_trust(hub),
            beacon=beacon,
            store_default=self.store_default(hub),
            cloud_forwarding=self._cloud_forwarding(name) if cloud_tunnels else None,
            cloud_rank=self.cloud_rank(name) if cloud_tunnels else None,
            return_partners=self._return_partners(name, own),
        )

    def _return_partners(self, name: str, own: list[StoreSources]) -> tuple[ReturnPartner, ...]:
        """The other hub of each of `name`'s stores (`store_hubs`: its primary and backup), with the
        stores the two share and their own addresses (`ReturnPartner`), in the fleet's hub order."""
        sources = {item.store: item.sources for item in own}
        shared: dict[str, list[str]] = {}
        for store in self.served_stores(name):
            for other in self.store_hubs(store):
                if other != name and store.id in sources:
                    shared.setdefault(other, []).append(store.id)
        partners = []
        for other in self._hub_order:
            if other not in shared:
                continue
            hub = self.fleet.hubs[other]
            stores = tuple(shared[other])
            destinations = tuple(dict.fromkeys(net for store in stores for net in sources[store]))
            partners.append(ReturnPartner(other, hub.dc_address, hub.loopback, stores, destinations))
        return tuple(partners)

    def _cloud_forwarding(self, hub: str) -> CloudForwarding:
        """What `hub` forwards from its cloud VPNs (`CloudForwarding`): from the clouds' prefixes
        anything to HQ; to the stores only the answers to the flows their segments open towards a
        cloud prefix (each flow's cloud part, the segments that open it), and the flows a cloud
        source may open towards a store: a cloud desktop's (`desktop_flows`) towards a store
        address, and management (`MANAGEMENT_PORTS`) from a management range inside a cloud
        prefix to the stores' loopbacks.

        The answers go to every store of the fleet, not only those `hub` serves: one hub per
        cloud site carries both directions of every cloud flow (`cloud_rank`), so with more than
        two hubs the hub of rank 0 carries the flows of stores it has no tunnel to, which their
        own hub relays to it across the DC LAN, and takes the cloud's answers to them."""
        plan = self.fleet.spec.ip_plan
        # The clouds' own ranges, each site's slots: what the cloud sessions accept (`cloud_site_ranges`).
        sources = collapse(tuple(net for ranges in self.cloud_site_ranges.values() for net in ranges))
        opened: dict[tuple[str, str, tuple[int, ...], tuple[IPv4Network, ...]], list[IPv4Network]] = {}
        for store in self._live_stores:
            zones = self._zones(store)
            prefixes = {zone.name: zone.prefixes for zone in zones if zone.enters_overlay}
            for flow in self._flows(zones, guest_breakout=_guest_breakout(store) is not None):
                clouds = _within(flow.service.prefixes, sources)
                if flow.source in prefixes and clouds and not flow.service.internet:
                    key = (flow.why, flow.service.protocol, flow.service.ports, clouds)
                    opened.setdefault(key, []).extend(prefixes[flow.source])
        replies = tuple(
            CloudFlow("store", protocol, clouds, collapse(tuple(segments)), tuple((p, p) for p in ports), why)  # type: ignore[arg-type]
            for (why, protocol, ports, clouds), segments in opened.items()
        )
        store_side = (plan.stores, plan.loopbacks)
        opens = [
            CloudFlow("cloud", flow.protocol, (plan.desktops,), stores, flow.ports, f"desktops: {flow.why}")
            for flow in self.desktop_flows
            if (stores := _within(flow.destinations, store_side))
        ]
        managers = _within(self.management.ranges, sources)
        opens += [
            CloudFlow("cloud", protocol, managers, (plan.loopbacks,), ((port, port),), "management from a cloud")
            for protocol, port in self.management.ports
            if managers
        ]
        hq_ranges = self.cloud_hq
        forwarding = CloudForwarding(
            sources=sources,
            hq=hq_ranges,
            replies=replies,
            opens=tuple(opens),
            infrastructure=_infrastructure_denied(self.dc_infrastructure, hq_ranges),
        )
        sites: dict[str, list[str]] = {}
        for tunnel in self._hub_cloud_tunnels(self.fleet.hubs[hub]):
            sites.setdefault(self._cloud_site_of(tunnel), []).append(tunnel.id)
        return dataclasses.replace(
            forwarding,
            sites=tuple(
                CloudSite(
                    site,
                    self._cloud_site_slot(site),
                    tuple(ids),
                    self.cloud_site_ranges[site],
                    _narrowed(forwarding, self.cloud_site_ranges[site]),
                )
                for site, ids in sites.items()
            ),
        )

    @cached_property
    def _live_stores(self) -> list[ResolvedStore]:
        """The fleet's stores but the decommissioned ones: those the hubs serve."""
        return [store for store in self.fleet.stores.values() if store.state != "decommissioned"]

    def store_number(self, store: ResolvedStore) -> int:
        """The store's stable number (`StoreSources.number`): its ASN's offset in
        `asn.store_range`, where the inventory holds every store's ASN (pinned by IPAM)."""
        low, high = self.fleet.spec.asn.store_range
        if not low <= store.asn <= high:  # the inventory refuses it too; a fleet built in code meets it here
            raise NetworkIntentError(f"store {store.id}: ASN {store.asn} is outside asn.store_range {low}-{high}")
        return store.asn - low

    def served_stores(self, hub: str) -> list[ResolvedStore]:
        """The stores that reach `hub` (a hub name), decommissioned ones left out."""
        return [store for store in self._live_stores if hub in self.store_hubs(store)]

    def store_default(self, hub: ResolvedHub) -> StoreDefault:
        """The default route `hub` gives its stores: while the DC core's default (what the
        stores' internet through HQ's breakout leads to) is in its BGP table (`StoreDefault`
        says why that and not HQ's routes); passed on where the platform cannot originate one on
        a condition (`HUB_DEFAULT_PASSED_ON`)."""
        return StoreDefault(DEFAULT_ROUTE, ("hub-dc",), passed_on=hub.platform in HUB_DEFAULT_PASSED_ON)

    def peer_hubs(self) -> dict[str, tuple[ResolvedHub, HubBeacon | None, int]]:
        """The hubs a hub of this intent may hold a hub-hub session with, each with its beacon and
        its slot (`Fleet.hub_slot`, pinned by IPAM: what a hub's config numbers it by, so a hub
        added or removed renumbers no other): the fleet's (and, during a change, the fleet
        before's: `network/transition.py`)."""
        return {name: (hub, self.hub_beacon(hub), self.fleet.hub_slot(name)) for name, hub in self.fleet.hubs.items()}

    def hub_beacon(self, hub: ResolvedHub) -> HubBeacon | None:
        """The host route `hub` announces to its stores while it offers the summaries only its
        own sessions teach it (`HubBeacon`); None on a platform that cannot (`HUB_NO_BEACON`).
        Worked out once per hub."""
        cached = self._hub_beacons.get(hub.hostname)
        if cached is not None and cached[0] is hub:
            return cached[1]
        beacon = self._hub_beacon(hub)
        self._hub_beacons[hub.hostname] = (hub, beacon)
        return beacon

    def _hub_beacon(self, hub: ResolvedHub) -> HubBeacon | None:
        if hub.beacon is None or hub.platform in HUB_NO_BEACON:
            return None
        own = tuple(summary.prefix for summary in self._hub_summaries if "hub-hub" not in summary.sources)
        if not own:
            return None
        lan = self._dc_link(hub).address.network
        connected = (lan,) if any(lan.subnet_of(prefix) for prefix in own) else ()
        loopbacks = sorted(
            {self.host_net(a.loopback) for store in self.served_stores(hub.hostname) for a in store.appliances}
        )
        return HubBeacon(hub.beacon, own, connected, (self.fleet.spec.ip_plan.stores, *loopbacks))

    @cached_property
    def _hub_summaries(self) -> tuple[HubSummary, ...]:
        """What every hub announces to its stores while it has a route inside it (`HubSummary`):
        HQ's summaries from the DC core, the cloud and desktop summaries from the cloud VPNs or
        the other hub (the hub-hub session carries the clouds' routes, never HQ's)."""
        plan = self.fleet.spec.ip_plan
        clouds: tuple[SessionKind, ...] = ("hub-aws", "hub-openstack", "hub-hub")
        return (
            *(HubSummary(net, ("hub-dc",)) for net in plan.hq),
            *(HubSummary(net, clouds) for net in (plan.cloud, plan.desktops)),
        )

    @cached_property
    def _store_forwarding(self) -> StoreForwarding:
        """The fleet-wide part of what a hub forwards from its stores (every hub the same; each
        hub adds its tunnels' control traffic): the corporate ranges, which the stores reach (HQ's
        but the DC core LAN, `dc_infrastructure`), including the management ranges (a store's answers to HQ's SSH and SNMP) and the private
        management servers (NTP, syslog, TACACS+, DNS) outside the stores' own ranges; every
        other private range, which no store reaches through a hub, and the link-local range, where
        the hubs' cloud VPNs have their inside addresses (AWS's and the OpenStack gateways' BGP
        speakers, and the hubs' own ends); the hubs' own addresses inside the stores' ranges,
        which no store sends as (`hub_owned`)."""
        plan = self.fleet.spec.ip_plan
        fleet = (plan.stores, plan.loopbacks, plan.transit)
        private = collapse(
            (*RFC1918, SHARED_ADDRESS_SPACE, LINK_LOCAL, *plan.private_ranges, *self.fleet_space)
        )
        servers = self._management_servers
        # The DC core LAN is none of them (`dc_infrastructure`), though HQ's summaries hold it.
        ranges = excluding((*self.hub_routes, *plan.management), self.dc_infrastructure)
        # Only servers no range covers: collapsing adjacent host routes makes /31s, which the
        # ipaddress module builds with a reference cycle (a forked render worker keeps none).
        corporate = collapse(
            (
                *ranges,
                *(
                    self.host_net(server)
                    for server in dict.fromkeys(servers)
                    if any(server in net for net in private)
                    and not any(server in net for net in (*fleet, *ranges))
                ),
            )
        )
        # What the hubs hold: an IPAM beacon a hub does not announce (HUB_NO_BEACON) is no
        # address of the device, and nothing behind it takes it for the hub's.
        held: list[IPv4Address] = []
        for hub in self.fleet.hubs.values():
            beacon = self.hub_beacon(hub)
            held += [hub.loopback, *([beacon.address] if beacon else []), hub.management_address]
        owned = (address for address in held if any(address in net for net in fleet))
        return StoreForwarding(
            control=(),
            corporate=corporate,
            private=private,
            stores=plan.stores,
            loopbacks=plan.loopbacks,
            tunnels=plan.transit,
            hub_owned=tuple(sorted(dict.fromkeys(owned))),
            infrastructure=_infrastructure_denied(self.dc_infrastructure, corporate),
        )

    def _dc_trust(self, hub: ResolvedHub) -> DcTrust | None:
        """The hub's QoS trust boundary on its DC core LAN port (`DcTrust`): only where the hub
        queues towards the stores, which is where a DSCP from the DC picks a queue."""
        if hub.platform in HUB_NO_UPLINK_QUEUES or not hub.uplink_mbps:
            return None
        return DcTrust(remarked=NETWORK_CONTROL_DSCPS, kept=tuple(dict.fromkeys(q.dscp_name for q in self.qos)))

    def _dc_link(self, hub: ResolvedHub) -> DcCoreLink:
        spec = self.fleet.spec
        lan = hq.core_lan(spec)
        return DcCoreLink(
            address=IPv4Interface((int(hub.dc_address), lan.prefixlen)),
            core_asn=spec.asn.dc_core,
            routers=hq.core_routers(spec),
        )

    def hub_cloud_tunnels(self, name: str) -> list[Tunnel]:
        """Hub `name`'s tunnels to the clouds (what the core stack builds their far ends from)."""
        return self._hub_cloud_tunnels(self.fleet.hubs[name])

    def _hub_cloud_tunnels(self, hub: ResolvedHub) -> list[Tunnel]:
        """The hub's VPNs that `HybridCloud` builds: two AWS tunnels per region, one per OpenStack site.

        All route-based with BGP over the inside /30: AWS's own, and the OpenStack gateway's. The
        core stack takes each tunnel's id, inside /30 and PSK from here (see `stacks/mapping.py`),
        so only what the cloud assigns is live: AWS's tunnel outside addresses and the gateway's
        floating IP, read from the core stack's outputs (`core`) when they are given."""
        spec = self.fleet.spec
        # Slots IPAM pins (`Fleet.hub_slot`, ...): a hub, region or site added or removed moves no
        # other's tunnels.
        hub_slot = self.fleet.hub_slot(hub.hostname)
        regions = sorted({region for account in spec.sites.aws for region in account.regions})
        core = self.core
        tunnels: list[Tunnel] = []
        for region in regions:
            region_slot = self.fleet.aws_region_slot(region)
            for number in (1, 2):
                tid = tunnel_id(hub.hostname, region, f"aws{number}")
                live = core.aws(hub.hostname, region, number) if core is not None else None
                if live is not None:
                    inside_net = int(live.inside_cidr.network_address)
                    outside = live.outside_address
                else:
                    planned = hub_aws_inside(hub_slot, region_slot, number)
                    inside_net = int(planned.network_address)
                    outside = planned_aws_outside(planned)
                tunnels.append(
                    self._hub_cloud_tunnel(
                        hub,
                        tid,
                        kind="hub-aws",
                        peer=f"aws:{region}:{number}",
                        peer_outside=outside,
                        local_inside=IPv4Interface((inside_net + 2, 30)),
                        peer_inside=IPv4Address(inside_net + 1),
                        peer_asn=spec.asn.aws,
                        live_psk=live.psk if live is not None else None,
                        live=live is not None,
                    )
                )
        for site in spec.sites.openstack:
            # The site's gateway takes this /30 and key from the core stack's config (HqHubArgs).
            site_slot = self.fleet.openstack_site_slot(site.name)
            inside = hub_openstack_inside(site_slot, hub_slot)
            tid = tunnel_id(hub.hostname, site.name, "openstack")
            found = core.openstack(hub.hostname, site.name) if core is not None else None
            # Planned: a TEST-NET-1 stand-in until the core stack has bound the floating IP.
            outside = found.gateway_address if found is not None else planned_openstack_gateway(site_slot)
            tunnels.append(
                self._hub_cloud_tunnel(
                    hub,
                    tid,
                    kind="hub-openstack",
                    peer=f"openstack:{site.name}",
                    peer_outside=outside,
                    local_inside=inside.hub,
                    peer_inside=inside.gateway.ip,
                    peer_asn=spec.asn.openstack,
                    live_psk=found.psk if found is not None else None,
                    live=found is not None,
                )
            )
        return tunnels

    def _hub_cloud_tunnel(
        self,
        hub: ResolvedHub,
        tid: str,
        *,
        kind: TunnelKind,
        peer: str,
        peer_outside: IPv4Address,
        local_inside: IPv4Interface,
        peer_inside: IPv4Address,
        peer_asn: int,
        live_psk: SecretStr | None,
        live: bool,
    ) -> Tunnel:
        """One hub-to-cloud tunnel: route-based over the hub's WAN, BGP on the inside /30, no BFD
        (neither AWS nor the gateway runs it); what differs per cloud comes in as arguments."""
        return Tunnel(
            id=tid,
            kind=kind,
            transport="wan",
            role="primary",
            peer=peer,
            local_outside=hub.public_address,
            peer_outside=peer_outside,
            local_inside=local_inside,
            peer_inside=peer_inside,
            local_id=str(hub.public_address),
            peer_id=str(peer_outside),
            local_asn=hub.asn,
            peer_asn=peer_asn,
            psk=self._cloud_psk(tid, live_psk),
            psk_origin="stack outputs" if live_psk is not None else "derived",
            underlay=None,
            # One rank for all the hub's cloud sessions: `HubIntent.cloud_rank`.
            local_pref=None,
            prepend=None,
            bfd=None,
            live=live,
            mtu=fleet_crypto().tunnel_mtu(HUB_UNDERLAY_MTU),
        )

    def _cloud_psk(self, tid: str, live: SecretStr | None) -> Secret:
        """A hub-to-cloud tunnel's PSK slot: the core stack's output when it carries one, else derived."""
        if live is not None:
            return Secret(f"psk {tid}", "stack outputs", live)
        return self.psk(tid)


def _guest_breakout(store: ResolvedStore) -> str | None:
    """The WAN link a store's guest Wi-Fi leaves through; None without guest Wi-Fi."""
    index = guest_breakout_index(store.wan) if "guest-wifi" in store.segments else None
    return None if index is None else store.wan[index].name
