"""`DesktopPool`: cloud desktops for a set of staff roles and stores, on AWS WorkSpaces or OpenStack.

Desktops belong to named directory users, never to shared seat accounts: one WorkSpace, or one
OpenStack instance joined to the chain's domain, per user the inventory names. The users come from a
directory that already holds them: the chain's Active Directory through an AD Connector, or an
AWS Managed Microsoft AD the identity team fills (this stack creates it empty; a WorkSpace is only
declared for a user the pool lists, and only on an AD Connector, whose users exist beforehand).
Seat counts from the inventory are entitlements: at most that many named users per role and store.
"""

from __future__ import annotations

import ipaddress
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

import pulumi
import pulumi_aws as aws
import pulumi_openstack as openstack
import pulumi_random as random
from pydantic import AfterValidator, Field, model_validator

from storestack.common.patterns import AD_SERVICE_ACCOUNT, DIRECTORY_USER, anchored
from storestack.components.cloud_args import (
    DesktopFlowArgs,
    StoreFlowArgs,
    desktop_egress,
    refuse_desktop_flows_into,
)
from storestack.components.common import (
    FleetTags,
    FrozenModel,
    PrivateNetwork,
    Slug,
    check_public_address,
    component_tags,
    openstack_tags,
)
from storestack.components.network import network_slug, tcp_ingress_rules

COMPONENT = "desktop-pool"
HQ = "hq"
# OpenStack desktops are administered over RDP from the management ranges only.
DESKTOP_PORTS = (3389,)
# The OpenStack metadata service, which an instance reads at boot (cloudbase-init or cloud-init:
# hostname, keys, user data): "Instances access the metadata service at http://169.254.169.254"
# (Nova, "Metadata service"). Neutron answers it on the instance's own network (its router or
# DHCP namespace), so an instance whose egress is not all open needs a rule for it.
METADATA_SERVICE = ipaddress.IPv4Network("169.254.169.254/32")
METADATA_PORT = 80
WORKSPACES_ROLE = "workspaces_DefaultRole"
# What AWS changes on an existing AD Connector (engine property paths): its DNS addresses and the
# service account's user name, in the Directory Service console.
AD_CONNECTOR_UPDATED_IN_PLACE = ("connectSettings.customerDnsIps", "connectSettings.customerUsername")
WORKSPACES_ROLE_POLICIES = ("AmazonWorkSpacesServiceAccess", "AmazonWorkSpacesSelfServiceAccess")


def _check_public_network(network: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
    check_public_address(network.network_address)
    return network


PublicNetwork = Annotated[ipaddress.IPv4Network, AfterValidator(_check_public_network)]


class SeatRequest(FrozenModel):
    """Desktops one store (or HQ, when `store` is None) needs for one role."""

    role: Slug
    store: Slug | None = None
    region: Slug | None = Field(default=None, description="the store's operating region (for region-scoped roles)")
    count: int = Field(ge=0, le=500)


class DesktopUser(FrozenModel):
    """A named directory user who gets a WorkSpace: the user must already exist in the directory."""

    user_name: str = Field(pattern=anchored(DIRECTORY_USER))
    role: Slug
    store: Slug | None = None
    region: Slug | None = None


class DesktopBundleArgs(FrozenModel):
    """What a role's desktop is built from on each provider."""

    role: Slug
    aws_bundle_id: str | None = Field(
        default=None, pattern=r"^wsb-[a-z0-9]{9,}$", description="a custom bundle that already exists in the account"
    )
    aws_bundle_name: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._()-]{0,62}$",
        description="an Amazon-owned public bundle, looked up by name when no id is given",
    )
    aws_compute_type: Literal["VALUE", "STANDARD", "PERFORMANCE", "POWER", "POWERPRO"] = "STANDARD"
    openstack_image: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$")
    openstack_flavor: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
    root_volume_gib: int = Field(default=80, ge=20, le=2000)
    user_volume_gib: int = Field(default=50, ge=10, le=2000)


class DesktopPoolArgs(FrozenModel):
    name: Slug
    provider: Literal["aws", "openstack"]
    fleet: Slug
    tags: FleetTags
    seats: list[SeatRequest]
    bundles: list[DesktopBundleArgs] = Field(min_length=1)
    management_ranges: list[PrivateNetwork] = Field(min_length=1, description="the only sources of RDP")
    running_mode: Literal["AUTO_STOP", "ALWAYS_ON"] = "AUTO_STOP"
    # WorkspaceProperties RunningModeAutoStopTimeoutInMinutes: "Configured in 60-minute intervals".
    auto_stop_minutes: int = Field(default=60, ge=60, le=36000, multiple_of=60)
    # AWS
    directory_domain: str | None = Field(default=None, pattern=r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")
    directory_kind: Literal["managed-ad", "ad-connector"] = Field(
        default="managed-ad", description="where users come from: a new Managed AD, or the chain's AD via AD Connector"
    )
    ad_connector_dns_ips: list[ipaddress.IPv4Address] = Field(default_factory=list)
    ad_connector_service_account: str | None = Field(default=None, pattern=anchored(AD_SERVICE_ACCOUNT))
    users: list[DesktopUser] = Field(default_factory=list, description="named users who get a WorkSpace")
    client_public_ranges: list[PublicNetwork] = Field(
        default_factory=list,
        description="public egress ranges WorkSpaces clients connect from (IP access group); empty: no group",
    )
    volume_encryption_key: str = Field(default="alias/aws/workspaces", pattern=r"^(alias/[A-Za-z0-9/_-]+|arn:aws:kms:.+)$")
    store_supernet: PrivateNetwork | None = Field(default=None, description="where store flows come from")
    store_flows: list[StoreFlowArgs] = Field(
        default_factory=list, description="what stores may open towards these desktops (network intent)"
    )
    desktop_flows: list[DesktopFlowArgs] = Field(
        default_factory=list, description="what a desktop may open (network intent); empty: nothing"
    )
    # OpenStack
    encrypted_volume_type: str = Field(default="luks", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")

    @model_validator(mode="after")
    def _consistent(self) -> DesktopPoolArgs:
        bundles = {b.role: b for b in self.bundles}
        if len(bundles) != len(self.bundles):
            raise ValueError("one bundle per role")
        for seat in self.seats:
            bundle = bundles.get(seat.role)
            if bundle is None:
                raise ValueError(f"seats for role {seat.role!r} but the pool has no bundle for it")
            if self.provider == "aws" and not (bundle.aws_bundle_id or bundle.aws_bundle_name):
                raise ValueError(f"role {seat.role!r} has no aws_bundle_id or aws_bundle_name for an AWS pool")
            if self.provider == "openstack" and not (bundle.openstack_image and bundle.openstack_flavor):
                raise ValueError(f"role {seat.role!r} needs openstack_image and openstack_flavor")
        if self.provider == "aws" and not self.directory_domain:
            raise ValueError("an AWS pool needs directory_domain")
        if self.directory_kind == "ad-connector" and (
            len(self.ad_connector_dns_ips) < 2 or not self.ad_connector_service_account
        ):
            raise ValueError("an AD Connector needs two or more ad_connector_dns_ips and ad_connector_service_account")
        if self.users and self.provider == "aws" and self.directory_kind != "ad-connector":
            raise ValueError(
                "named WorkSpaces users need an AD Connector: a Managed AD this stack creates holds no users yet"
            )
        totals = self.seat_totals()
        for (role, store), count in Counter((u.role, u.store or HQ) for u in self.users).items():
            if count > totals.get((role, store), 0):
                raise ValueError(f"{count} users for role {role!r} at {store}, but only {totals.get((role, store), 0)} seats")
        for network in self.management_ranges:
            if network.prefixlen < 8:
                raise ValueError(f"{network} is too broad for desktop access")
        refuse_desktop_flows_into(self.desktop_flows, self.store_supernet)
        for flow in self.store_flows:
            if flow.protocol == "ip" or (flow.protocol == "tcp" and (not flow.ports or set(DESKTOP_PORTS) & set(flow.ports))):
                raise ValueError(
                    f"store flow {flow.why or flow.protocol!r} would open RDP into the desktops: RDP reaches "
                    "a desktop only from the management ranges (stores use the HTTPS gateway)"
                )
        return self

    def seat_totals(self) -> dict[tuple[str, str], int]:
        """Seats summed per (role, store); HQ seats are keyed by store 'hq'."""
        totals: dict[tuple[str, str], int] = defaultdict(int)
        for seat in self.seats:
            totals[(seat.role, seat.store or HQ)] += seat.count
        return {key: totals[key] for key in sorted(totals) if totals[key] > 0}


@dataclass(frozen=True)
class AwsDesktopNetwork:
    """Where WorkSpaces live: the region, the desktops VPC with its two subnets (in WorkSpaces AZ IDs),
    the desktops security group, and what the registration waits for (the workspaces_DefaultRole)."""

    region: str
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str] | None = None
    service_role: Sequence[pulumi.Resource] = ()


def workspaces_default_role(fleet_tags: dict[str, str], opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
    """The account's `workspaces_DefaultRole`, which WorkSpaces needs before any directory registers.

    It is account-wide: create it once per account (the core stack does), and import it if it
    already exists. Returns what a registration must wait for.
    """
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "workspaces.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = aws.iam.Role(
        "workspaces-default-role",
        name=WORKSPACES_ROLE,
        description="Lets Amazon WorkSpaces manage its network interfaces and the self-service actions",
        assume_role_policy=json.dumps(trust, sort_keys=True),
        tags=component_tags(fleet_tags, COMPONENT),
        opts=opts,
    )
    return [
        aws.iam.RolePolicyAttachment(
            f"workspaces-default-role-{policy}",
            role=role.name,
            policy_arn=f"arn:aws:iam::aws:policy/{policy}",
            opts=opts,
        )
        for policy in WORKSPACES_ROLE_POLICIES
    ]


@dataclass(frozen=True)
class OpenStackDesktopNetwork:
    provider: pulumi.ProviderResource | None
    network_id: pulumi.Input[str]


class DesktopPool(pulumi.ComponentResource):
    seat_counts: pulumi.Output[dict[str, dict[str, int]]]

    def __init__(
        self,
        name: str,
        args: DesktopPoolArgs,
        network: AwsDesktopNetwork | OpenStackDesktopNetwork,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("storestack:desktops:DesktopPool", name, None, opts)
        self._args = args
        self._name = name
        self._tags = component_tags(args.tags, COMPONENT, pool=args.name)
        totals = args.seat_totals()
        by_role: dict[str, dict[str, int]] = defaultdict(dict)
        for (role, store), count in totals.items():
            by_role[role][store] = count
        self.seat_counts = pulumi.Output.from_input({role: dict(stores) for role, stores in by_role.items()})
        if args.provider == "aws":
            if not isinstance(network, AwsDesktopNetwork):
                raise TypeError("an AWS desktop pool needs an AwsDesktopNetwork")
            seat_ids = self._aws(network, totals)
        else:
            if not isinstance(network, OpenStackDesktopNetwork):
                raise TypeError("an OpenStack desktop pool needs an OpenStackDesktopNetwork")
            seat_ids = self._openstack(network, totals)
        self.seat_ids = pulumi.Output.from_input(seat_ids)
        self.register_outputs(
            {
                "provider": args.provider,
                "seat_counts": self.seat_counts,
                "seat_ids": self.seat_ids,
                "management_ranges": [str(n) for n in self.management_ranges],
            }
        )

    @property
    def management_ranges(self) -> list[ipaddress.IPv4Network]:
        return sorted(set(self._args.management_ranges))

    def _aws(self, network: AwsDesktopNetwork, totals: dict[tuple[str, str], int]) -> dict[str, pulumi.Output[str]]:
        args = self._args
        child = pulumi.ResourceOptions(parent=self)
        region = network.region
        subnet_ids = list(network.subnet_ids)
        # The directory's password is create-only ("password ... ForceNew" in the provider's
        # aws_directory_service_directory; hashicorp/terraform-provider-aws#16745), and nothing
        # reads it back: a new value in the stack config (the AD Connector's service account
        # rotated at HQ) or a new RandomPassword replaced the directory, then the WorkSpaces
        # registration and every WorkSpace with its user volume. It is given once, at creation;
        # a rotation is told to the connector on AWS's side (README, "Desktop users").
        # The rest of a directory is create-only too (name, type, size, edition, VPC and subnets,
        # connect_settings: ForceNew in aws_directory_service_directory), and a replacement takes
        # the WorkSpaces with it, so the directory, its registration and every WorkSpace are
        # protected: an `up` that would delete one fails (Pulumi, "protect") instead. An AD
        # Connector's DNS addresses and service account AWS updates in place (Directory Service
        # guide, "Update the DNS address for your AD Connector", "Update your AD Connector service
        # account credentials"), so a new value in the inventory is left to that update (README).
        directory_opts = pulumi.ResourceOptions(parent=self, ignore_changes=["password"], protect=True)
        if args.directory_kind == "managed-ad":
            admin_password = random.RandomPassword(
                f"{self._name}-directory-admin", length=32, special=True, override_special="!#%+-=_", opts=child
            )
            directory_service = aws.directoryservice.Directory(
                f"{self._name}-directory",
                name=args.directory_domain,
                password=pulumi.Output.secret(admin_password.result),
                type="MicrosoftAD",
                edition="Standard",
                vpc_settings={"vpc_id": network.vpc_id, "subnet_ids": subnet_ids},
                region=region,
                tags=self._tags,
                opts=directory_opts,
            )
        else:
            # The service account's password never enters the inventory: it is stack config (secret).
            password = pulumi.Config("storestack").require_secret(f"{args.name}-ad-connector-password")
            directory_service = aws.directoryservice.Directory(
                f"{self._name}-directory",
                name=args.directory_domain,
                password=password,
                type="ADConnector",
                size="Small",
                connect_settings={
                    "customer_dns_ips": [str(ip) for ip in args.ad_connector_dns_ips],
                    "customer_username": args.ad_connector_service_account,
                    "subnet_ids": subnet_ids,
                    "vpc_id": network.vpc_id,
                },
                region=region,
                tags=self._tags,
                opts=pulumi.ResourceOptions.merge(
                    directory_opts,
                    pulumi.ResourceOptions(ignore_changes=list(AD_CONNECTOR_UPDATED_IN_PLACE)),
                ),
            )
        ip_group_ids: list[pulumi.Output[str]] = []
        if args.client_public_ranges:
            # IP access groups match the public address a client connects from (after NAT).
            ip_group = aws.workspaces.IpGroup(
                f"{self._name}-ip-access",
                name=f"{args.fleet}-{args.name}",
                description="storestack: WorkSpaces clients only from the chain's public egress ranges",
                rules=[{"source": str(n), "description": f"allow {n}"} for n in sorted(set(args.client_public_ranges))],
                region=region,
                tags=self._tags,
                opts=child,
            )
            ip_group_ids.append(ip_group.id)
        creation: dict[str, object] = {
            "enable_internet_access": False,
            "enable_maintenance_mode": True,
            "user_enabled_as_local_administrator": False,
        }
        if network.security_group_id is not None:
            creation["custom_security_group_id"] = network.security_group_id
        directory = aws.workspaces.Directory(
            f"{self._name}-workspaces",
            directory_id=directory_service.id,
            subnet_ids=subnet_ids,
            ip_group_ids=ip_group_ids,
            self_service_permissions={
                "change_compute_type": False,
                "increase_volume_size": False,
                "rebuild_workspace": False,
                "restart_workspace": True,
                "switch_running_mode": False,
            },
            workspace_creation_properties=creation,
            region=region,
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(network.service_role), protect=True),
        )
        bundles = {b.role: b for b in args.bundles}
        bundle_ids: dict[str, pulumi.Input[str]] = {}
        ids: dict[str, pulumi.Output[str]] = {}
        volume_key = self._volume_key_arn(region) if args.users else None
        for user in args.users:
            bundle = bundles[user.role]
            if user.role not in bundle_ids:
                bundle_ids[user.role] = bundle.aws_bundle_id or aws.workspaces.get_bundle_output(
                    name=bundle.aws_bundle_name,
                    owner="AMAZON",
                    region=region,
                    opts=pulumi.InvokeOutputOptions(parent=self),
                ).bundle_id
            extra = {"role": user.role, "store": user.store or HQ}
            if user.region:
                extra["region"] = user.region
            workspace = aws.workspaces.Workspace(
                f"{self._name}-{user.user_name}",
                directory_id=directory.directory_id,
                bundle_id=bundle_ids[user.role],
                user_name=user.user_name,
                root_volume_encryption_enabled=True,
                user_volume_encryption_enabled=True,
                volume_encryption_key=volume_key,
                workspace_properties={
                    "compute_type_name": bundle.aws_compute_type,
                    "root_volume_size_gib": bundle.root_volume_gib,
                    "user_volume_size_gib": bundle.user_volume_gib,
                    "running_mode": args.running_mode,
                    "running_mode_auto_stop_timeout_in_minutes": (
                        args.auto_stop_minutes if args.running_mode == "AUTO_STOP" else None
                    ),
                },
                region=region,
                tags=component_tags(args.tags, COMPONENT, pool=args.name, **extra),
                opts=pulumi.ResourceOptions(parent=self, protect=True),
            )
            ids[user.user_name] = workspace.id
        return ids

    def _volume_key_arn(self, region: str) -> pulumi.Input[str]:
        """The WorkSpaces volume key as the ARN of the key itself. WorkSpaces takes a key ARN
        (WorkspaceRequest `VolumeEncryptionKey`, "The ARN of the symmetric KMS key") and reads the
        key back as one, so an alias given as is would replace every WorkSpace, user volume and
        all, on the next `up` (hashicorp/terraform-provider-aws#16805). An alias is resolved here by
        DescribeKey, which takes an alias name or ARN and, for a predefined AWS alias such as
        alias/aws/workspaces, creates its AWS managed key if need be (KMS API, DescribeKey `KeyId`)."""
        key = self._args.volume_encryption_key
        if not key.startswith("alias/") and ":alias/" not in key:
            return key
        return aws.kms.get_key_output(key_id=key, region=region, opts=pulumi.InvokeOutputOptions(parent=self)).arn

    def _openstack(
        self, network: OpenStackDesktopNetwork, totals: dict[tuple[str, str], int]
    ) -> dict[str, pulumi.Output[str]]:
        args = self._args
        child = pulumi.ResourceOptions(parent=self, provider=network.provider)
        invoke = pulumi.InvokeOutputOptions(provider=network.provider)
        tags = openstack_tags(self._tags)
        group = openstack.compute.ServerGroup(
            f"{self._name}-servers", name=f"{args.fleet}-{args.name}", policies="soft-anti-affinity", opts=child
        )
        # Neutron gives a new group rules that let everything out (IPv4 and IPv6); deleted, the
        # desktops open exactly the network intent's desktop flows, as on AWS: no internet though
        # the site's router SNATs, nothing towards a store. Neutron's own port rules let the
        # instance's DHCP client through whatever the group says.
        security_group = openstack.networking.SecGroup(
            f"{self._name}-sg",
            name=f"{args.fleet}-{args.name}-desktops",
            description="storestack desktops: remote desktop from the management ranges only; out: the network intent",
            delete_default_rules=True,
            tags=tags,
            opts=child,
        )
        egress = [
            (protocol, low, high, destinations, f"desktops, network intent: {why}")
            for protocol, low, high, destinations, why in desktop_egress(args.desktop_flows)
        ]
        egress.append(("tcp", METADATA_PORT, METADATA_PORT, [METADATA_SERVICE], "OpenStack instance metadata, read at boot"))
        for protocol, low, high, destinations, why in egress:
            for destination in destinations:
                openstack.networking.SecGroupRule(
                    f"{self._name}-sg-out-{protocol}{low}-{high}-{network_slug(destination)}",
                    security_group_id=security_group.id,
                    direction="egress",
                    ethertype="IPv4",
                    protocol=protocol,
                    port_range_min=low,
                    port_range_max=high,
                    remote_ip_prefix=str(destination),
                    description=why[:255],
                    opts=child,
                )
        tcp_ingress_rules(
            f"{self._name}-sg",
            security_group_id=security_group.id,
            rules=[("remote-desktop", port, source) for port in DESKTOP_PORTS for source in self.management_ranges],
            opts=child,
        )
        # Stores open exactly the network intent's flows towards desktops (AWS: the VPC's group).
        for number, flow in enumerate(args.store_flows if args.store_supernet is not None else []):
            ports: list[int | None] = list(flow.ports) or [None]
            for port in ports:
                openstack.networking.SecGroupRule(
                    f"{self._name}-sg-stores-{number}-{flow.protocol}{port or ''}",
                    security_group_id=security_group.id,
                    direction="ingress",
                    ethertype="IPv4",
                    protocol=None if flow.protocol == "ip" else flow.protocol,
                    port_range_min=port,
                    port_range_max=port,
                    remote_ip_prefix=str(args.store_supernet),
                    description=f"stores, network intent: {flow.why}"[:255],
                    opts=child,
                )
        bundles = {b.role: b for b in args.bundles}
        images: dict[str, pulumi.Output[str]] = {}
        ids: dict[str, pulumi.Output[str]] = {}
        for user in args.users:
            role, store = user.role, user.store or HQ
            bundle = bundles[role]
            if role not in images:
                images[role] = openstack.images.get_image_output(
                    name=bundle.openstack_image, most_recent=True, opts=invoke
                ).id
            # One instance per named user (it joins the chain's domain; only that user logs on).
            seat = f"{store}-{user.user_name}"
            seat_tags = component_tags(args.tags, COMPONENT, pool=args.name, role=role, store=store, user=user.user_name)
            volume = openstack.blockstorage.Volume(
                f"{self._name}-{seat}-boot",
                name=f"{args.fleet}-{seat}-boot",
                size=bundle.root_volume_gib,
                image_id=images[role],
                volume_type=args.encrypted_volume_type,
                metadata=seat_tags,
                # The image is the newest upload of its name, and a volume's image is create-only
                # ("Changing this creates a new volume"): without this, an image refresh replaced
                # every desktop and its disk on the next up. New desktops take the newest image.
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(ignore_changes=["image_id"])),
            )
            instance = openstack.compute.Instance(
                f"{self._name}-{seat}",
                name=f"{args.fleet}-{seat}",
                flavor_name=bundle.openstack_flavor,
                block_devices=[
                    {
                        "uuid": volume.id,
                        "source_type": "volume",
                        "destination_type": "volume",
                        "boot_index": 0,
                        "delete_on_termination": False,
                    }
                ],
                networks=[{"uuid": network.network_id}],
                security_groups=[security_group.name],
                scheduler_hints=[{"group": group.id}],
                metadata=seat_tags,
                tags=openstack_tags(seat_tags),
                opts=child,
            )
            ids[user.user_name] = instance.id
        return ids
