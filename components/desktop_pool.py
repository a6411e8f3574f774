"""`DesktopPool`: cloud desktops for a set of staff roles and stores, on AWS WorkSpaces or OpenStack."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws
import pulumi_openstack as openstack
import pulumi_random as random
from pydantic import Field, model_validator

from storestack.components.common import (
    FleetTags,
    FrozenModel,
    PrivateNetwork,
    Slug,
    component_tags,
    openstack_tags,
)
from storestack.components.network import tcp_ingress_rules

COMPONENT = "desktop-pool"
HQ = "hq"
# OpenStack desktops are reached over RDP; WorkSpaces clients are gated by the IP access group instead.
DESKTOP_PORTS = (3389,)


class SeatRequest(FrozenModel):
    """Desktops one store (or HQ, when `store` is None) needs for one role."""

    role: Slug
    store: Slug | None = None
    count: int = Field(ge=0, le=500)


class DesktopBundleArgs(FrozenModel):
    """What a role's desktop is built from on each provider."""

    role: Slug
    aws_bundle_id: str | None = Field(default=None, pattern=r"^wsb-[a-z0-9]{9,}$")
    aws_bundle_name: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._()-]{0,62}$", description="looked up when no id is given"
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
    allowed_ranges: list[PrivateNetwork] = Field(min_length=1, description="store and HQ ranges only")
    running_mode: Literal["AUTO_STOP", "ALWAYS_ON"] = "AUTO_STOP"
    auto_stop_minutes: int = Field(default=60, ge=60, le=36000)
    # AWS
    directory_domain: str | None = Field(default=None, pattern=r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")
    volume_encryption_key: str = Field(default="alias/aws/workspaces", pattern=r"^(alias/[A-Za-z0-9/_-]+|arn:aws:kms:.+)$")
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
        for network in self.allowed_ranges:
            if network.prefixlen < 8:
                raise ValueError(f"{network} is too broad for desktop access")
        return self

    def seat_totals(self) -> dict[tuple[str, str], int]:
        """Seats summed per (role, store); HQ seats are keyed by store 'hq'."""
        totals: dict[tuple[str, str], int] = defaultdict(int)
        for seat in self.seats:
            totals[(seat.role, seat.store or HQ)] += seat.count
        return {key: totals[key] for key in sorted(totals) if totals[key] > 0}


@dataclass(frozen=True)
class AwsDesktopNetwork:
    """Where WorkSpaces live: the region and the desktops VPC with subnets in two AZs."""

    region: str
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]


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
                "allowed_ranges": [str(n) for n in self.allowed_ranges],
            }
        )

    @property
    def allowed_ranges(self) -> list[ipaddress.IPv4Network]:
        return sorted(set(self._args.allowed_ranges))

    def _seats(self, totals: dict[tuple[str, str], int]) -> list[tuple[str, str, int]]:
        return [(role, store, n) for (role, store), count in totals.items() for n in range(1, count + 1)]

    def _aws(self, network: AwsDesktopNetwork, totals: dict[tuple[str, str], int]) -> dict[str, pulumi.Output[str]]:
        args = self._args
        child = pulumi.ResourceOptions(parent=self)
        region = network.region
        admin_password = random.RandomPassword(
            f"{self._name}-directory-admin", length=32, special=True, override_special="!#%+-=_", opts=child
        )
        directory_service = aws.directoryservice.Directory(
            f"{self._name}-directory",
            name=args.directory_domain,
            password=pulumi.Output.secret(admin_password.result),
            type="SimpleAD",
            size="Small",
            vpc_settings={"vpc_id": network.vpc_id, "subnet_ids": list(network.subnet_ids)},
            region=region,
            tags=self._tags,
            opts=child,
        )
        ip_group = aws.workspaces.IpGroup(
            f"{self._name}-ip-access",
            name=f"{args.fleet}-{args.name}",
            description="storestack: desktops reachable from stores and HQ only",
            rules=[{"source": str(n), "description": f"allow {n}"} for n in self.allowed_ranges],
            region=region,
            tags=self._tags,
            opts=child,
        )
        directory = aws.workspaces.Directory(
            f"{self._name}-workspaces",
            directory_id=directory_service.id,
            subnet_ids=list(network.subnet_ids),
            ip_group_ids=[ip_group.id],
            self_service_permissions={
                "change_compute_type": False,
                "increase_volume_size": False,
                "rebuild_workspace": False,
                "restart_workspace": True,
                "switch_running_mode": False,
            },
            workspace_creation_properties={
                "enable_internet_access": False,
                "enable_maintenance_mode": True,
                "user_enabled_as_local_administrator": False,
            },
            region=region,
            tags=self._tags,
            opts=child,
        )
        bundles = {b.role: b for b in args.bundles}
        bundle_ids: dict[str, pulumi.Input[str]] = {}
        ids: dict[str, pulumi.Output[str]] = {}
        for role, store, number in self._seats(totals):
            bundle = bundles[role]
            if role not in bundle_ids:
                bundle_ids[role] = bundle.aws_bundle_id or aws.workspaces.get_bundle_output(
                    name=bundle.aws_bundle_name, region=region, opts=pulumi.InvokeOutputOptions(parent=self)
                ).bundle_id
            seat = f"{store}-{role}-{number:02d}"
            workspace = aws.workspaces.Workspace(
                f"{self._name}-{seat}",
                directory_id=directory.directory_id,
                bundle_id=bundle_ids[role],
                user_name=seat,
                root_volume_encryption_enabled=True,
                user_volume_encryption_enabled=True,
                volume_encryption_key=args.volume_encryption_key,
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
                tags=component_tags(args.tags, COMPONENT, pool=args.name, role=role, store=store),
                opts=child,
            )
            ids[seat] = workspace.id
        return ids

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
        security_group = openstack.networking.SecGroup(
            f"{self._name}-sg",
            name=f"{args.fleet}-{args.name}-desktops",
            description="storestack desktops: remote desktop from stores and HQ only",
            tags=tags,
            opts=child,
        )
        tcp_ingress_rules(
            f"{self._name}-sg",
            security_group_id=security_group.id,
            rules=[("remote-desktop", port, source) for port in DESKTOP_PORTS for source in self.allowed_ranges],
            opts=child,
        )
        bundles = {b.role: b for b in args.bundles}
        images: dict[str, pulumi.Output[str]] = {}
        ids: dict[str, pulumi.Output[str]] = {}
        for role, store, number in self._seats(totals):
            bundle = bundles[role]
            if role not in images:
                images[role] = openstack.images.get_image_output(
                    name=bundle.openstack_image, most_recent=True, opts=invoke
                ).id
            seat = f"{store}-{role}-{number:02d}"
            seat_tags = component_tags(args.tags, COMPONENT, pool=args.name, role=role, store=store)
            volume = openstack.blockstorage.Volume(
                f"{self._name}-{seat}-boot",
                name=f"{args.fleet}-{seat}-boot",
                size=bundle.root_volume_gib,
                image_id=images[role],
                volume_type=args.encrypted_volume_type,
                metadata=seat_tags,
                opts=child,
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
            ids[seat] = instance.id
        return ids
