"""Shared pieces of the components: validated value types, tags and pre-shared keys."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Protocol

import pulumi
import pulumi_random as random
from pydantic import AfterValidator, BaseModel, ConfigDict

from storestack.common.addressing import is_rfc1918, public_address_problem
from storestack.common.errors import StackFamily, UsageError
from storestack.common.patterns import TAG

COMPONENT_TAG = "storestack:component"

_SLUG = re.compile(r"[a-z][a-z0-9-]{0,61}[a-z0-9]")
_TAG_KEY = re.compile(TAG)
_TAG_VALUE = re.compile(r"[A-Za-z0-9 ._:/=+@-]{0,256}")


class ComponentArgsError(StackFamily, UsageError, ValueError):
    """A component was given arguments that would build an unsafe or inconsistent cloud.

    A ValueError too: raised inside pydantic validators, it becomes a ValidationError."""


def _check_slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        raise ValueError(f"{value!r} is not a slug (lower-case letters, digits and '-', 2-63 chars)")
    return value


Slug = Annotated[str, AfterValidator(_check_slug)]


class FrozenModel(BaseModel):
    """Base of every args model: immutable, unknown fields rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def check_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """Validate fleet tags; the component tag is reserved for the components themselves."""
    for key, value in tags.items():
        if not _TAG_KEY.fullmatch(key):
            raise ValueError(f"tag key {key!r} has characters AWS and OpenStack tags do not accept")
        if not _TAG_VALUE.fullmatch(value):
            raise ValueError(f"tag {key!r}: value {value!r} has characters cloud tags do not accept")
        if key.startswith("storestack:"):
            raise ValueError(f"tag key {key!r}: the 'storestack:' prefix is reserved")
    return dict(sorted(tags.items()))


FleetTags = Annotated[dict[str, str], AfterValidator(check_tags)]


def component_tags(fleet_tags: Mapping[str, str], component: str, **extra: str) -> dict[str, str]:
    """The tags of one resource: fleet tags, the owning component, and resource-specific extras."""
    tags = dict(fleet_tags)
    tags[COMPONENT_TAG] = component
    for key, value in extra.items():
        tags[f"storestack:{key.replace('_', '-')}"] = value
    return tags


def openstack_tags(tags: Mapping[str, str]) -> list[str]:
    """OpenStack tags are plain strings, so each key/value pair becomes `key=value`."""
    return [f"{key}={value}" for key, value in sorted(tags.items())]


def check_private_network(network: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
    if not is_rfc1918(network):
        raise ValueError(f"{network} is not a private (RFC 1918) range")
    return network


def check_public_address(address: ipaddress.IPv4Address) -> ipaddress.IPv4Address:
    """An address a VPN peer can be reached at: not RFC 1918, CGNAT, loopback, link-local or multicast."""
    problem = public_address_problem(address)
    if problem is not None:
        raise ValueError(problem)
    return address


PublicAddress = Annotated[ipaddress.IPv4Address, AfterValidator(check_public_address)]


PrivateNetwork = Annotated[ipaddress.IPv4Network, AfterValidator(check_private_network)]


def split_network(network: ipaddress.IPv4Network, parts: int) -> list[ipaddress.IPv4Network]:
    """Split `network` into the first `parts` equal subnets large enough to hold them all."""
    if parts < 1:
        raise ComponentArgsError("cannot split a network into fewer than one part")
    extra_bits = (parts - 1).bit_length()
    if network.prefixlen + extra_bits > 28:
        raise ComponentArgsError(f"{network} is too small to split into {parts} subnets of /28 or larger")
    return list(network.subnets(prefixlen_diff=extra_bits))[:parts]


class TunnelKeys(Protocol):
    """Where a device-facing tunnel's pre-shared key comes from: one key per intent tunnel id.

    The stacks give the network intent's keys (`storestack.stacks.keys`), so the cloud end and
    the device end of a tunnel hold the same key without either reading the other's state."""

    def psk(self, tunnel_id: str) -> pulumi.Output[str]: ...


def pre_shared_key(
    name: str,
    parent: pulumi.Resource,
    *,
    keepers: Mapping[str, str] | None = None,
    aliases: Sequence[pulumi.Alias] = (),
) -> pulumi.Output[str]:
    """A generated IPsec pre-shared key, always a Pulumi secret: for tunnels whose both ends the
    same stack builds (an OpenStack gateway to AWS); device-facing tunnels use `TunnelKeys`.

    AWS accepts 8-64 characters of letters, digits, '.' and '_' and refuses a leading zero; a fixed
    letter prefix satisfies that rule without losing entropy.
    """
    password = random.RandomPassword(
        name,
        length=40,
        special=True,
        override_special="._",
        keepers=dict(keepers or {}),
        opts=pulumi.ResourceOptions(parent=parent, aliases=list(aliases)),
    )
    return pulumi.Output.secret(password.result.apply(lambda value: f"k{value}"))
