"""The inventory as written by people: `fleet.yaml` and one file per store.

These models hold what the files say. IPAM fills what they leave out; the result is the
resolved `Fleet` in `storestack.inventory.fleet`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from storestack.common.addressing import SHARED_ADDRESS_SPACE, public_address_problem
from storestack.common.ntp import NtpAlgorithm
from storestack.common.patterns import AD_SERVICE_ACCOUNT, DIRECTORY_USER, anchored
from storestack.common.platforms import Platform
from storestack.common.secretrefs import DEFAULT_ENV_PREFIX, SecretPolicy
from storestack.common.snmp import SnmpAuth, SnmpPriv
from storestack.inventory.types import (
    AbsoluteDirectory,
    Asn,
    AwsAccountId,
    AwsRegion,
    AzSuffix,
    Cidr,
    EnvPrefix,
    HostKeyFingerprint,
    Hostname,
    HttpsUrl,
    IamRolePath,
    InterfaceAddress,
    IPv4,
    PortName,
    SecretRef,
    Serial,
    Slug,
    TagText,
    Text,
    VlanId,
)
from storestack.network.cloud import CLOUD_RANKS

StoreFormat = Literal["hypermarket", "supermarket", "mall", "convenience"]
LifecycleState = Literal["planned", "active", "decommissioned"]
WanKind = Literal["fiber", "broadband", "lte", "5g"]
SegmentKind = Literal["pos", "office", "cctv", "guest-wifi", "iot"]
SEGMENT_KINDS: tuple[SegmentKind, ...] = ("pos", "office", "cctv", "guest-wifi", "iot")
CELLULAR_KINDS: frozenset[str] = frozenset({"lte", "5g"})

# The IP MTU a WAN link of each kind carries when its inventory entry gives none (`WanLink.mtu`):
# what the tunnels over it are sized from (network/crypto.py `CryptoPolicy.tunnel_mtu`). Fiber is
# plain Ethernet (1500); broadband is PPPoE, 8 bytes less (RFC 2516: an MRU of at most 1492);
# LTE and 5G carriers carry the subscriber's packets in GTP-U over their own backhaul and hand
# out 1428-1500 (commonly 1428-1450; 1428 is the safe end), so a link that measured more says so.
UNDERLAY_MTU: dict[str, int] = {"fiber": 1500, "broadband": 1492, "lte": 1428, "5g": 1428}


class Strict(BaseModel):
    """Unknown keys are errors; no type coercion (`"100"` is not a number, `"yes"` not a bool);
    models are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True)


# ---------------------------------------------------------------- fleet


class Organisation(Strict):
    name: Text
    slug: Slug
    domain: Hostname


class IpPlan(Strict):
    stores: Cidr = Field(description="supernet store blocks are allocated from")
    store_block_prefix: int = Field(default=23, ge=16, le=26, description="size of each store's block")
    cloud: Cidr = Field(description="AWS VPCs and OpenStack workload networks")
    desktops: Cidr = Field(description="virtual-desktop networks")
    transit: Cidr = Field(description="overlay tunnel /31s between stores and hubs")
    loopbacks: Cidr = Field(description="appliance loopbacks and router ids (/32 each)")
    hq: list[Cidr] = Field(min_length=1, description="HQ data-centre prefixes")
    management: list[Cidr] = Field(min_length=1, description="ranges allowed to manage appliances")
    management_widest_prefix: int = Field(
        default=16, ge=8, le=32, description="no management range may be wider than this prefix length"
    )
    private_ranges: list[Cidr] = Field(
        default_factory=lambda: [SHARED_ADDRESS_SPACE],
        description="ranges besides RFC 1918 the chain uses privately for loopbacks and transit",
    )


class AsnPlan(Strict):
    hq: Asn = Field(description="ASN of the HQ hubs")
    aws: Asn = Field(default=64512, description="Amazon side ASN of the transit gateway")
    openstack: Asn = Field(default=64513)
    dc_core: Asn = Field(
        default=65010, description="ASN of the HQ data-centre core the hubs peer with (eBGP)"
    )
    store_range: tuple[Asn, Asn] = Field(
        strict=False, description="inclusive range store ASNs are allocated from (a YAML list of two)"
    )

    @field_validator("store_range")
    @classmethod
    def _range_ordered(cls, value: tuple[int, int]) -> tuple[int, int]:
        low, high = value
        if low > high:
            raise ValueError(f"{low}-{high} is an empty range (the first ASN must not exceed the last)")
        return value


class Hub(Strict):
    hostname: Hostname
    platform: Platform
    management_address: IPv4
    public_address: IPv4 = Field(description="IPsec/underlay endpoint the stores dial")
    management_port: PortName | None = Field(
        default=None,
        description=(
            "the out-of-band management port the hub holds management_address on, with the prefix of the "
            "management range holding it; default: the platform's dedicated management port "
            "(common/platforms.py HUB_MANAGEMENT_PORT). Refused on a platform without one"
        ),
    )
    management_gateway: IPv4 | None = Field(
        default=None,
        description=(
            "the router on the hub's management LAN (the management range holding management_address) "
            "behind which the other management ranges lie: the management port reaches them through it, "
            "so a management host outside the LAN is answered there, never through the DC port. Refused "
            "outside that LAN, at its network or broadcast address, at the hub's own address, where every "
            "management range is inside the LAN (nothing to route) and on a platform storestack renders "
            "no management gateway on (common/platforms.py HUB_MANAGEMENT_GATEWAY: FRR and FortiOS)"
        ),
    )
    serial: Serial | None = None
    ssh_host_key: HostKeyFingerprint | None = None
    dc_address: IPv4 | None = Field(
        default=None,
        description=(
            "the hub's address on the DC core LAN; default: the one pinned in allocations.yaml, first the host "
            "after the core routers its place among the hubs gives it, a hub added later the first free one; a "
            "reorder or removal of hubs moves no kept hub's; a new core subnet numbers the hubs afresh in their old "
            "order"
        ),
    )
    cloud_rank: int | None = Field(
        default=None,
        ge=0,
        lt=CLOUD_RANKS,
        description=(
            "the hub's rank towards the clouds: the hub of the best rank whose VPN to a cloud site is up "
            "carries that site's flows both ways, the others stand by (network/cloud.py BGP_DEFAULT_LOCAL_PREF). "
            "Unique among the hubs. Default: the rank pinned in allocations.yaml, first the hub's place "
            "among the hubs, a hub added later after every rank taken; a reorder of the hubs moves none"
        ),
    )
    uplink_mbps: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description=(
            "the rate the hub's tunnels get through the DC's internet edge (its public address's share of "
            "the uplink); the hub's WAN queues shape them to 95% of it with the QoS classes. None: the "
            "hub shapes nothing (the queue builds at the DC edge, out of the classes' reach). Refused on "
            "a hub whose platform queues nothing towards the stores (common/platforms.py "
            "HUB_NO_UPLINK_QUEUES, with the reason)"
        ),
    )


class HqServices(Strict):
    """Where the HQ services that store flows reach live. Each left out defaults to a /24 of
    `ip_plan.hq[0]` (see `storestack.inventory.hq`), the layout every existing inventory uses."""

    pos: list[Cidr] | None = Field(default=None, min_length=1, description="HQ POS service (tills reach it)")
    payment: list[Cidr] | None = Field(default=None, min_length=1, description="card payment service")
    iot: list[Cidr] | None = Field(default=None, min_length=1, description="IoT device services")
    recorder: list[Cidr] | None = Field(default=None, min_length=1, description="CCTV recorder")


class DcCore(Strict):
    """The HQ data-centre core the hubs peer with over eBGP (ASN: `asn.dc_core`), on one LAN."""

    subnet: Cidr | None = Field(
        default=None, description="hub-to-core LAN; default: the first /28 of ip_plan.hq[0]"
    )
    routers: list[IPv4] = Field(
        default=[],
        max_length=4,
        description="the core routers' addresses on it; default: its first two hosts",
    )


class HqSite(Strict):
    name: Slug
    city: Text
    hubs: list[Hub] = Field(min_length=1)
    services: HqServices = HqServices()
    core: DcCore = DcCore()


class OpenStackSite(Strict):
    name: Slug
    auth_url: HttpsUrl
    region: Slug
    external_network: Slug
    project: Slug


class AwsAccount(Strict):
    name: Slug
    account_id: AwsAccountId
    regions: list[AwsRegion] = Field(min_length=1)
    data_region: AwsRegion | None = Field(
        default=None,
        description=(
            "the region of the account's staff data bucket, one of `regions` (or the one pinned); a "
            "change replaces the bucket: copy its data first. Default: the region pinned in "
            "allocations.yaml, first the first of `regions`; kept when the regions are reordered or "
            "that region is removed"
        ),
    )
    availability_zones: list[AzSuffix] = Field(default=["a", "b"], min_length=2)
    staff_entry_roles: list[IamRolePath] = Field(
        default_factory=list,
        description="the roles the identity provider signs staff into, the only callers of a staff role",
    )


class Sites(Strict):
    hq: HqSite
    openstack: list[OpenStackSite] = []
    aws: list[AwsAccount] = []


class AccessScope(Strict):
    data_prefixes: list[Slug] = Field(
        min_length=1, description="S3 prefixes / data domains the role may read"
    )
    stores: Literal["own", "region", "all"] = "own"
    admin: bool = False


class StaffRole(Strict):
    description: Text
    access: AccessScope
    desktop_bundle: Slug
    openstack_role: Slug = "member"


class DesktopDirectory(Strict):
    """Where a desktop pool's named users come from.

    `ad-connector`: the chain's own Active Directory, reached from the cloud through an AD
    Connector (users exist there already, so their desktops can be declared). `managed-ad`: an
    AWS Managed Microsoft AD the stack creates empty; the identity team fills it, and desktops
    are declared only once it holds the users (an empty directory gets none)."""

    kind: Literal["ad-connector", "managed-ad"] = "ad-connector"
    dns_ips: list[IPv4] = Field(default=[], description="the chain's DNS / domain controllers (AD Connector)")
    service_account: str | None = Field(
        default=None, pattern=anchored(AD_SERVICE_ACCOUNT), description="AD Connector's service account"
    )


class DesktopUserSpec(Strict):
    """A named directory user who gets a desktop at a store, as a role's seat."""

    user: str = Field(pattern=anchored(DIRECTORY_USER), description="the user's directory name")
    role: Slug


class DesktopPolicy(Strict):
    name: Slug
    provider: Literal["aws", "openstack"]
    site: Slug = Field(description="AWS account name or OpenStack site name")
    region: AwsRegion | None = Field(default=None, description="AWS region (aws provider)")
    roles: list[Slug] = Field(min_length=1)
    running_mode: Literal["auto-stop", "always-on"] = "auto-stop"
    # WorkSpaces stops an auto-stop desktop in whole hours (components/desktop_pool.py).
    auto_stop_minutes: int = Field(default=60, ge=60, le=2880, multiple_of=60)
    flavor: Slug = "m1-desktop"
    image: Slug = "win11-desktop"
    directory: DesktopDirectory | None = Field(
        default=None, description="where the pool's named users come from (AWS pools: required for users)"
    )
    # The public addresses WorkSpaces clients may connect from (an IP access control group on the
    # directory). Without one, WorkSpaces applies the directory's default group, which "allows
    # users to access their WorkSpaces from anywhere" (WorkSpaces API, CreateIpGroup). AWS only.
    client_public_ranges: list[Cidr] = Field(
        default=[], description="public egress ranges WorkSpaces clients connect from (AWS pools)"
    )

    @model_validator(mode="after")
    def _client_ranges(self) -> DesktopPolicy:
        if self.client_public_ranges and self.provider != "aws":
            raise ValueError("client_public_ranges: only an AWS pool (WorkSpaces IP access group) takes them")
        for network in self.client_public_ranges:
            if public_address_problem(network.network_address) is not None:
                raise ValueError(f"client_public_ranges: {network} is not a public range a client connects from")
        return self


# Quad9's filtering resolvers: what guest Wi-Fi resolves with unless the fleet says otherwise.
DEFAULT_GUEST_DNS = ("9.9.9.9", "149.112.112.112")
# The secret slug of the default NTP authentication key (common/ntp.py: which platform implements
# which algorithm).
NTP_KEY_SECRET = "ntp-key"
DEFAULT_NTP_KEY_REF = "env:STORESTACK_NTP_KEY"
DEFAULT_NTP_KEY_ALGORITHM: NtpAlgorithm = "aes128-cmac"


# Where a fleet's secrets come from unless its `management.secrets` says otherwise.
DEFAULT_SECRETS: dict[str, str] = {
    "local-admin-password": "env:STORESTACK_LOCAL_ADMIN_PASSWORD",
    "snmp-auth-key": "env:STORESTACK_SNMP_AUTH_KEY",
    "snmp-priv-key": "env:STORESTACK_SNMP_PRIV_KEY",
    "tacacs-key": "env:STORESTACK_TACACS_KEY",
    "ipsec-psk": "env:STORESTACK_IPSEC_PSK",
    NTP_KEY_SECRET: DEFAULT_NTP_KEY_REF,
}


class NtpKeySpec(Strict):
    """One key on the fleet's NTP servers: its id there, the algorithm the servers verify it
    with, and the secret slot holding it."""

    id: Annotated[int, Field(ge=1, le=65535)]
    algorithm: NtpAlgorithm = Field(
        description="aes128-cmac (RFC 8573 AES-128-CMAC), hmac-sha256 (RFC 2104 HMAC-SHA256) or sha256 "
        "(ntpd/chrony keyed SHA-256 digest); each platform uses the keys whose algorithm it implements"
    )
    secret: Slug = Field(description="the slot in `secrets` that holds the key")


class Management(Strict):
    ntp_servers: list[IPv4] = Field(min_length=1)
    ntp_keys: list[NtpKeySpec] = Field(
        default_factory=lambda: [NtpKeySpec(id=1, algorithm=DEFAULT_NTP_KEY_ALGORITHM, secret=NTP_KEY_SECRET)],
        min_length=1,
        description="the NTP servers' keys, one secret each. Each appliance trusts every key whose algorithm "
        "its platform implements and asks its servers with the first of them (add a new key after the one "
        "it replaces, then move it before to roll it)",
    )
    ntp_key_ids: dict[str, Any] | None = Field(
        default=None, description="replaced by `ntp_keys` (a key's id, algorithm and secret)"
    )
    syslog_servers: list[IPv4] = []
    dns_forwarders: list[IPv4] = Field(min_length=1)
    guest_dns: list[IPv4] = Field(
        default_factory=lambda: [ipaddress.IPv4Address(address) for address in DEFAULT_GUEST_DNS],
        min_length=1,
        max_length=4,
        description="public resolvers guest Wi-Fi's DHCP hands out: guests never use the store's or the "
        "corporate resolvers",
    )
    tacacs_servers: list[IPv4] = []
    snmp_user: Slug = "storestack"
    snmp_auth: SnmpAuth = Field(
        default="sha1",
        description="the SNMPv3 user's authentication protocol on every appliance and the NMS: sha1 "
        "(HMAC-SHA-96) or sha256 (HMAC-SHA-256, RFC 7860) where every platform of the fleet documents it",
    )
    snmp_priv: SnmpPriv = Field(
        default="aes128",
        description="the SNMPv3 user's privacy protocol on every appliance and the NMS: aes128 or aes256 "
        "where every platform of the fleet documents it",
    )
    secrets: dict[Slug, SecretRef] = Field(
        default=DEFAULT_SECRETS,
        description="where device secrets come from; values never appear in the inventory",
    )
    secret_env_prefix: EnvPrefix = Field(
        default=DEFAULT_ENV_PREFIX, description="env: references may only name variables with this prefix"
    )
    secret_file_dirs: list[AbsoluteDirectory] = Field(
        default=[], description="file: references may only name 0600 files inside these directories"
    )

    @field_validator("guest_dns")
    @classmethod
    def _public_resolvers(cls, value: list[ipaddress.IPv4Address]) -> list[ipaddress.IPv4Address]:
        for address in value:
            if public_address_problem(address) is not None or not address.is_global:
                raise ValueError(
                    f"{address} is not a public resolver: guest Wi-Fi reaches nothing private (RFC 1918, "
                    "RFC 6598, the fleet's ranges), so it resolves through public DNS"
                )
        if len(set(value)) != len(value):
            raise ValueError("a resolver is listed twice")
        return value

    @field_validator("ntp_key_ids")
    @classmethod
    def _ntp_key_ids_replaced(cls, value: dict[str, Any] | None) -> None:
        if value is not None:
            raise ValueError(
                "replaced by ntp_keys: a list of {id, algorithm, secret} (a key id verifies with one algorithm, "
                "and no algorithm but MD5 is common to every platform)"
            )
        return None

    @field_validator("ntp_keys")
    @classmethod
    def _ntp_keys_distinct(cls, value: list[NtpKeySpec]) -> list[NtpKeySpec]:
        ids = [key.id for key in value]
        if len(set(ids)) != len(ids):
            raise ValueError("two keys share one key id")
        slots = [key.secret for key in value]
        if len(set(slots)) != len(slots):
            raise ValueError("two keys share one secret (one secret per key)")
        return value

    @model_validator(mode="after")
    def _ntp_keys_have_secrets(self) -> Management:
        for key in self.ntp_keys:
            if key.secret not in self.secret_refs:
                raise ValueError(f"ntp_keys: key {key.id}'s secret {key.secret!r} has no reference in secrets")
        return self

    @property
    def secret_refs(self) -> dict[str, str]:
        """`secrets`, plus the NTP key's default reference for a fleet whose own `secrets` list
        predates NTP authentication (every other slot is only what the fleet lists)."""
        if NTP_KEY_SECRET in self.secrets:
            return dict(self.secrets)
        return {**self.secrets, NTP_KEY_SECRET: DEFAULT_NTP_KEY_REF}

    @property
    def secret_policy(self) -> SecretPolicy:
        return SecretPolicy(self.secret_env_prefix, tuple(self.secret_file_dirs))


# ---------------------------------------------------------------- SD-WAN path quality

# DSCP code points by their RFC 2474/2597/3246 names: what an application class marks with.
DscpName = Literal["ef", "cs5", "af41", "cs3", "af31", "af21", "af11", "cs1", "default"]
DSCP_VALUES: dict[str, int] = {
    "ef": 46,
    "cs5": 40,
    "af41": 34,
    "cs3": 24,
    "af31": 26,
    "af21": 18,
    "af11": 10,
    "cs1": 8,
    "default": 0,
}
PortRange = Annotated[str, Field(pattern=r"^[1-9][0-9]{0,4}(-[1-9][0-9]{0,4})?$")]


class SlaClass(Strict):
    """What a path must deliver for a class of traffic, and how eagerly traffic moves.

    `hold_down_seconds`: a breach must last this long before traffic leaves the path (so one
    bad second does not move it); `recovery_seconds`: the path must be clean this long before
    traffic comes back (so a path that just recovered is not trusted at once)."""

    loss_percent: float = Field(gt=0, lt=100, description="more lost probes than this breaches the SLA")
    latency_ms: int = Field(ge=1, le=10_000, description="round-trip time above this breaches the SLA")
    jitter_ms: int = Field(ge=1, le=10_000, description="round-trip variation above this breaches the SLA")
    detection_seconds: int = Field(
        default=10, ge=1, le=600, description="how fast a breach at the loss threshold must be noticed"
    )
    probe_interval_ms: int = Field(default=100, ge=10, le=60_000, description="one probe per path this often")
    hold_down_seconds: int = Field(default=3, ge=0, le=3600)
    recovery_seconds: int = Field(default=30, ge=0, le=3600)

    @model_validator(mode="after")
    def _probes_fit(self) -> SlaClass:
        if self.probe_interval_ms * 3 > self.detection_seconds * 1000:
            raise ValueError(
                f"probe_interval_ms {self.probe_interval_ms} leaves fewer than 3 probes in "
                f"detection_seconds {self.detection_seconds}"
            )
        return self


class ApplicationClass(Strict):
    """Traffic of one kind: what it is (LAN segments, optionally ports), the SLA it needs, and
    which transports it may use. The appliance re-marks it with `dscp` on ingress."""

    sla: Slug = Field(description="name of an SLA class")
    segments: list[SegmentKind] = Field(min_length=1, description="LAN segments the traffic comes from")
    protocol: Literal["any", "tcp", "udp"] = "any"
    ports: list[PortRange] = Field(default=[], description="destination ports or ranges (needs tcp or udp)")
    transports: list[WanKind] = Field(
        default=["fiber", "broadband", "5g", "lte"],
        min_length=1,
        description="transport kinds in order of preference; any kind not listed is never used",
    )
    cellular: bool = Field(
        default=True, description="false: never leaves over LTE/5G, even when nothing else is up"
    )
    dscp: DscpName = "default"

    @model_validator(mode="after")
    def _consistent(self) -> ApplicationClass:
        if self.ports and self.protocol == "any":
            raise ValueError("ports need protocol tcp or udp")
        for text in self.ports:
            low, _, high = text.partition("-")
            if int(low) > 65535 or (high and not int(low) <= int(high) <= 65535):
                raise ValueError(f"port range {text!r} is not within 1-65535 in ascending order")
        if len(set(self.transports)) != len(self.transports):
            raise ValueError("a transport kind is listed twice")
        if not self.cellular and all(kind in CELLULAR_KINDS for kind in self.transports):
            raise ValueError("cellular: false leaves no transport kind in transports")
        return self


# The routers' own control class's guaranteed share of each link's shaped rate, beside the QoS
# classes (which together guarantee at most what it leaves, `QosPolicy`), for the network-control
# DSCPs (network/model.py NETWORK_CONTROL_DSCPS). BGP needs it on a vendor router too: "although
# exterior gateway protocol (EGP) traffic, such as Border Gateway Protocol (BGP) traffic, is
# marked by default to DSCP CS6, it does not receive such PAK_priority preferential treatment and
# might need to be protected explicitly to maintain peering sessions"; "Exterior gateway
# protocols, such as BGP, are recommended to have an explicit class for IP routing with a minimal
# bandwidth guarantee" (Szigeti, Hattingh, End-to-End QoS Network Design, Cisco Press, "QoS
# Requirements of the Control Plane"; likewise Cisco, "Understanding How Routing Updates and
# Layer 2 Control Packets Are Queued on an Interface with a QoS Service Policy", document 18664:
# BGP "does not set pak_priority").
NETWORK_CONTROL_PERCENT = 2


class QosClassSpec(Strict):
    """One class of the store's WAN queues: the DSCP it is marked with at the trust boundary,
    its share of each link's shaped rate in congestion (what the appliance shapes the link to,
    a little below its rate), and the LAN segments whose traffic it carries (what an application
    class with ports picks out of a segment takes the application's DSCP)."""

    dscp: DscpName
    priority: bool = Field(default=False, description="strict-priority queue, held to bandwidth_percent")
    bandwidth_percent: int = Field(
        default=0, ge=0, le=100, description="guaranteed share of each link's shaped rate in congestion; 0: none"
    )
    shape_percent: int | None = Field(
        default=None, ge=1, le=100, description="never more than this share of each link's shaped rate (shaped)"
    )
    segments: list[SegmentKind] = Field(default=[], description="segments whose traffic is marked into it")

    @model_validator(mode="after")
    def _queue(self) -> QosClassSpec:
        if self.priority and not self.bandwidth_percent:
            raise ValueError("a priority class needs bandwidth_percent (its queue is held to it)")
        if self.dscp == "default" and (self.priority or self.bandwidth_percent or self.shape_percent):
            raise ValueError("the best-effort class (dscp default) takes what the others leave: no queue settings")
        if self.dscp != "default" and not (self.bandwidth_percent or self.shape_percent):
            raise ValueError("a class needs bandwidth_percent or shape_percent (else it is best effort)")
        return self


def _default_qos_classes() -> dict[str, QosClassSpec]:
    # Voice is the one strict-priority class, held to a tenth of a link's shaped rate so it can
    # never starve the tills; POS payments get a fifth guaranteed. CCTV uploads are capped, guest Wi-Fi is
    # best effort (re-marked at the trust boundary, so guests can never mark EF).
    return {
        "voice": QosClassSpec(dscp="ef", priority=True, bandwidth_percent=10),
        "pos": QosClassSpec(dscp="af31", bandwidth_percent=20, segments=["pos"]),
        "business": QosClassSpec(dscp="af21", bandwidth_percent=25, segments=["office"]),
        "iot": QosClassSpec(dscp="af11", bandwidth_percent=10, segments=["iot"]),
        "cctv": QosClassSpec(dscp="cs1", shape_percent=20, segments=["cctv"]),
        "best-effort": QosClassSpec(dscp="default", segments=["guest-wifi"]),
    }


class QosPolicy(Strict):
    """The store's QoS classes (`qos:` in fleet.yaml): every platform renders this one model."""

    classes: dict[Slug, QosClassSpec] = Field(default_factory=_default_qos_classes)

    @model_validator(mode="after")
    def _one_model(self) -> QosPolicy:
        dscps = [spec.dscp for spec in self.classes.values()]
        if len(set(dscps)) != len(dscps):
            raise ValueError("two classes share one DSCP")
        if "default" not in dscps:
            raise ValueError("no best-effort class (dscp default): unmarked traffic would have no queue")
        # Each link's queues guarantee the routers' own control traffic its share beside them.
        room = 100 - NETWORK_CONTROL_PERCENT
        total = sum(spec.bandwidth_percent for spec in self.classes.values())
        if total > room:
            raise ValueError(
                f"the classes guarantee {total}% of a transport (at most {room}: "
                f"{NETWORK_CONTROL_PERCENT}% is the routers' own BGP and BFD)"
            )
        owners: dict[str, str] = {}
        for name, spec in self.classes.items():
            for segment in spec.segments:
                if segment in owners:
                    raise ValueError(f"segment {segment!r} is in class {owners[segment]!r} and {name!r}")
                owners[segment] = name
        missing = [kind for kind in SEGMENT_KINDS if kind not in owners]
        if missing:
            raise ValueError(f"no class for segment(s) {', '.join(missing)}")
        guest = self.classes[owners["guest-wifi"]]
        if guest.priority or guest.dscp != "default":
            raise ValueError("guest Wi-Fi must be best effort (dscp default): guests never choose their queue")
        return self

    def segment_class(self, segment: str) -> str:
        """The class a segment's traffic is marked into."""
        return next(name for name, spec in self.classes.items() if segment in spec.segments)

    def class_of_dscp(self, dscp: str) -> str | None:
        return next((name for name, spec in self.classes.items() if spec.dscp == dscp), None)


class TransportCost(Strict):
    cost_per_gb: float = Field(default=0.0, ge=0, description="what a GB over this kind of transport costs")
    data_cap_gb: int | None = Field(default=None, ge=1, description="monthly data cap (LTE/5G plans)")


def _default_sla_classes() -> dict[str, SlaClass]:
    # POS and voice notice a bad path within seconds (200 ms probes: three lost in a row is
    # 0.6 s of silence, as the wired BFD always was) and come back to it only after 30 s clean,
    # so a path that loses in bursts does not pull calls and payments back and forth (the
    # recovery applies after a failure only, never to a path's first start); best effort waits
    # a minute so bulk flows do not swing between links.
    return {
        "strict": SlaClass(
            loss_percent=2.0,
            latency_ms=150,
            jitter_ms=30,
            detection_seconds=10,
            probe_interval_ms=200,
            hold_down_seconds=2,
            recovery_seconds=30,
        ),
        "realtime": SlaClass(
            loss_percent=1.0,
            latency_ms=150,
            jitter_ms=30,
            detection_seconds=10,
            probe_interval_ms=200,
            hold_down_seconds=2,
            recovery_seconds=30,
        ),
        "business": SlaClass(
            loss_percent=5.0,
            latency_ms=300,
            jitter_ms=100,
            detection_seconds=15,
            probe_interval_ms=200,
            hold_down_seconds=5,
            recovery_seconds=30,
        ),
        "best-effort": SlaClass(
            loss_percent=15.0,
            latency_ms=1000,
            jitter_ms=500,
            detection_seconds=30,
            probe_interval_ms=500,
            hold_down_seconds=10,
            recovery_seconds=60,
        ),
    }


def _default_applications() -> dict[str, ApplicationClass]:
    return {
        "pos": ApplicationClass(sla="strict", segments=["pos"], dscp="af31"),
        "voice": ApplicationClass(
            sla="realtime", segments=["office"], protocol="udp", ports=["5060", "16384-32767"], dscp="ef"
        ),
        "back-office": ApplicationClass(
            sla="business",
            segments=["office"],
            transports=["fiber", "broadband", "5g", "lte"],
            dscp="af21",
        ),
        "guest": ApplicationClass(
            sla="best-effort", segments=["guest-wifi"], transports=["broadband", "fiber"], cellular=False
        ),
        "bulk": ApplicationClass(
            sla="best-effort",
            segments=["cctv"],
            transports=["fiber", "broadband"],
            cellular=False,
            dscp="cs1",
        ),
    }


def _default_transport_costs() -> dict[WanKind, TransportCost]:
    return {
        "fiber": TransportCost(),
        "broadband": TransportCost(),
        "5g": TransportCost(cost_per_gb=2.0, data_cap_gb=200),
        "lte": TransportCost(cost_per_gb=2.0, data_cap_gb=100),
    }


class SlaPolicy(Strict):
    """The fleet's SD-WAN path-quality policy (`sla:` in fleet.yaml). A store's `sla:` replaces
    whole classes and applications by name; everything it does not name comes from here."""

    classes: dict[Slug, SlaClass] = Field(default_factory=_default_sla_classes)
    applications: dict[Slug, ApplicationClass] = Field(default_factory=_default_applications)
    transports: dict[WanKind, TransportCost] = Field(default_factory=_default_transport_costs)


class StoreSlaOverride(Strict):
    """A store's own SLA classes and applications; each one named here replaces the fleet's."""

    # Factories, not copies: pydantic deep-copies a `{}` default for every store.
    classes: dict[Slug, SlaClass] = Field(default_factory=dict)
    applications: dict[Slug, ApplicationClass] = Field(default_factory=dict)


class FleetSpec(Strict):
    organisation: Organisation
    ip_plan: IpPlan
    asn: AsnPlan
    sites: Sites
    roles: dict[Slug, StaffRole] = Field(min_length=1)
    desktop_policies: list[DesktopPolicy] = []
    management: Management
    tags: dict[Slug, TagText] = Field(default={}, description="tags applied to every cloud resource")
    regions: list[Slug] = Field(min_length=1, description="the chain's operating regions")
    sla: SlaPolicy = Field(default_factory=SlaPolicy, description="SD-WAN SLA and application classes")
    qos: QosPolicy = Field(default_factory=QosPolicy, description="the store's QoS classes")


# ---------------------------------------------------------------- store


class WanLink(Strict):
    name: Slug = Field(description="link id, e.g. wan1 or lte1; also the lab's veth name")
    kind: WanKind
    isp: Text
    bandwidth_mbps: int = Field(ge=1, le=100_000)
    addressing: Literal["static", "dhcp"] = "dhcp"
    address: InterfaceAddress | None = None
    gateway: IPv4 | None = None
    monthly_cost: int = Field(default=0, ge=0)
    priority: int = Field(default=100, ge=1, le=1000, description="lower is preferred")
    cost_per_gb: float | None = Field(default=None, ge=0, description="overrides sla.transports.<kind>")
    data_cap_gb: int | None = Field(
        default=None, ge=1, description="monthly cap; overrides sla.transports.<kind>"
    )
    mtu: int | None = Field(
        default=None,
        ge=1280,
        le=9216,
        description="the link's IP MTU as the carrier gives it; default by kind (UNDERLAY_MTU)",
    )
    port: int | None = Field(
        default=None,
        ge=0,
        description=(
            "the appliance's WAN port the link is cabled to, counted from 0 as every platform numbers its "
            "WAN ports: IOS-XE GigabitEthernet0/0/<port>, VRP GigabitEthernet0/0/<port+1>, FortiOS "
            "wan1, wan2, then port1, port2, ... (FRR names the port after the link; the number keys its "
            "routing table and tunnels); unique within the store. Default: the link's place among the "
            "store's links by priority, then name (wan_link_ports), which moves when a link is added or "
            "removed: state it for a store whose links change"
        ),
    )

    @model_validator(mode="after")
    def _static_has_address(self) -> WanLink:
        if self.addressing == "static" and (self.address is None or self.gateway is None):
            raise ValueError("static addressing needs both address and gateway")
        if self.addressing == "dhcp" and (self.address is not None or self.gateway is not None):
            raise ValueError("dhcp addressing takes no address or gateway")
        if self.address is not None and self.gateway is not None and self.gateway not in self.address.network:
            raise ValueError(f"gateway {self.gateway} is not inside {self.address.network}")
        return self

    @property
    def cellular(self) -> bool:
        return self.kind in CELLULAR_KINDS


class _Transport(Protocol):
    @property
    def cellular(self) -> bool: ...


def wan_link_ports(wan: Sequence[WanLink]) -> list[tuple[int, bool]]:
    """Each link's WAN port number, in `wan`'s order, and whether the inventory states it: its
    `port`, else its place among the store's links in preference order (priority, then name), the
    order every store is built in (inventory/loader.py)."""
    order = sorted(range(len(wan)), key=lambda i: (wan[i].priority, wan[i].name))
    place = {link: position for position, link in enumerate(order)}
    return [(place[i], False) if link.port is None else (link.port, True) for i, link in enumerate(wan)]


def guest_breakout_index(wan: Sequence[_Transport]) -> int | None:
    """Where a store's guest Wi-Fi breaks out: its first wired (not cellular) WAN link, by index
    in `wan`; None for a store on cellular links only."""
    return next((index for index, link in enumerate(wan) if not link.cellular), None)


class LanSegment(Strict):
    vlan: VlanId
    subnet: Cidr | None = None


class Appliance(Strict):
    hostname: Hostname
    platform: Platform
    management_address: IPv4 | None = None
    serial: Serial | None = None
    ssh_host_key: HostKeyFingerprint | None = None


class CloudAffinity(Strict):
    aws_region: AwsRegion | None = None
    openstack_site: Slug | None = None


class StoreSpec(Strict):
    id: Slug
    name: Text
    city: Text
    format: StoreFormat
    region: Slug
    hub: Hostname = Field(description="nearest hub; the other HQ hub is the backup")
    state: LifecycleState = "planned"
    asn: Asn | None = None
    wan: list[WanLink] = Field(min_length=1)
    lan: dict[SegmentKind, LanSegment] = Field(min_length=1)
    appliances: list[Appliance] = Field(min_length=1)
    desktops: dict[Slug, Annotated[int, Field(ge=0, le=10_000)]] = Field(
        default_factory=dict, description="virtual-desktop seats per staff role (entitlements)"
    )
    desktop_users: list[DesktopUserSpec] = Field(
        default_factory=list,
        description="named directory users who get a desktop; at most `desktops[role]` per role",
    )
    # Built by a factory, not copied: pydantic deep-copies a default for every store.
    cloud: CloudAffinity = Field(default_factory=CloudAffinity)
    sla: StoreSlaOverride = Field(default_factory=StoreSlaOverride)
