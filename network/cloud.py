"""Addressing of the cloud tunnels, one rule each, shared by every place that needs it.

- Hub to OpenStack gateway: `components/openstack_site.py` builds the cloud end (the site's
  strongSwan + FRR gateway) and `network/build.py` the hub end from `hub_openstack_inside`, so
  the two ends cannot disagree on the inside /30 of a tunnel.
- AWS tunnel inside /30s: storestack chooses them (`tunnelN_inside_cidr`), AWS requires them to be
  /30s of 169.254.0.0/16, unique per gateway and none of `AWS_RESERVED_INSIDE`. Hub tunnels take
  theirs from `HUB_AWS_INSIDE_POOL`; every AWS-attached store WAN link gets a /29 (its tunnels 1 and
  2) that IPAM pins per region in the lock file (`inventory/ipam.py`), from what the hub pools, the
  OpenStack gateways' pool and the reserved blocks leave (`STORE_AWS_INSIDE_RESERVED`): unique in
  its region, and distinct fleet-wide until the space is used up. An OpenStack site gateway's
  tunnels to each region take theirs from `OPENSTACK_AWS_INSIDE_POOL` (`openstack_aws_inside`).
- Slots: a hub's, an AWS region's and an OpenStack site's place in the rules above is a slot IPAM
  pins in the lock file (`inventory/ipam.py`, `hubs.<name>.slot`, `aws_regions`, `openstack_sites`),
  as it pins the store links' /29s; so is each OpenStack gateway's /29 towards each region
  (`openstack_aws_block`). Adding or removing a hub, a region or a site moves no kept tunnel: in
  AWS a new `TunnelInsideCidr` replaces the VPN connection. A slot is first the place the fleet
  order gave (what a fleet deployed before slots were pinned holds), else the lowest free one.
- Planned outside addresses: until a stack is live, AWS's end of a tunnel is `planned_aws_outside`
  of its inside /30, and an OpenStack gateway's `planned_openstack_gateway`. The network intent
  plans with them and the Pulumi mocks answer with them, so an offline plan (and the lab's cloud
  VPN stand-in configured from it) and the configs rendered from planned values agree.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from storestack.common.addressing import LINK_LOCAL as LINK_LOCAL

# Inside /30s of the hub tunnels: 169.254.252.0/22 (256 /30s), eight hubs per site.
HUB_INSIDE_POOL = ipaddress.IPv4Network("169.254.252.0/22")
HUBS_PER_SITE = 8

# AWS's TunnelInsideCidr constraint (VpnTunnelOptionsSpecification): these /30s cannot be used.
AWS_RESERVED_INSIDE = frozenset(
    ipaddress.IPv4Network(n) for n in (*(f"169.254.{k}.0/30" for k in range(6)), "169.254.169.252/30")
)
# Inside /30s of the hub tunnels to AWS: 256 /30s, two per hub and region (see `hub_aws_inside`).
HUB_AWS_INSIDE_POOL = ipaddress.IPv4Network("169.254.248.0/22")
HUB_AWS_REGIONS = 16  # regions per hub in the pool's layout
# The slots IPAM hands out (`inventory/ipam.py`): a hub's (its OpenStack /30 and its AWS /30s, eight
# hubs in both pools), an AWS region's, an OpenStack site's (HUB_INSIDE_POOL: eight hubs each).
HUB_SLOTS = min(HUBS_PER_SITE, HUB_AWS_INSIDE_POOL.num_addresses // 4 // (2 * HUB_AWS_REGIONS))
AWS_REGION_SLOTS = HUB_AWS_REGIONS
OPENSTACK_SITE_SLOTS = HUB_INSIDE_POOL.num_addresses // 4 // HUBS_PER_SITE
# Inside /30s of the OpenStack site gateways' tunnels to AWS: two per site and region (see
# `openstack_aws_inside`). Left to AWS, each is a random /30 of 169.254.0.0/16 ("Default: a size
# /30 CIDR block from the 169.254.0.0/16 range", VpnTunnelOptionsSpecification), which may be a
# hub tunnel's /30 on the same gateway, or another region's tunnel's: two XFRM interfaces in one
# subnet, and the BGP session of one of them goes out of the other.
OPENSTACK_AWS_INSIDE_POOL = ipaddress.IPv4Network("169.254.244.0/22")
OPENSTACK_AWS_SITES = OPENSTACK_AWS_INSIDE_POOL.num_addresses // 4 // (2 * HUB_AWS_REGIONS)
# The hubs' ranks towards the clouds (`NetworkIntent.cloud_rank`): each hub's is stated in the
# inventory (`cloud_rank`) or pinned by IPAM in the lock file (`hubs.<name>.cloud_rank`; first the
# hub's place in the fleet, what a fleet ranked before the pins deployed, then after every rank
# taken), never its place in fleet.yaml, so a reorder moves no flow and a removal only the removed
# hub's (`inventory/ipam.py` `_allocate_cloud_ranks`, `Fleet.hub_cloud_rank`). Hub firewalls keep
# state (FortiOS passes answers by its session table only), so a store's or HQ's flow to a cloud
# and the cloud's answers must pass one hub. Per cloud site the
# best-ranked hub whose VPN to it is up carries both directions, active/standby by BGP
# attributes, as vendors' designs for stateful hubs do: a hub of rank k > 0 prepends its own
# ASN k times on what it announces over its cloud sessions (the clouds answer through the
# shortest AS path: AWS Site-to-Site VPN "route priority"; the OpenStack gateway's FRR alike)
# and takes what its own cloud sessions teach at BGP_DEFAULT_LOCAL_PREF - k *
# CLOUD_RANK_LOCAL_PREF_STEP, so it prefers rank 0's routes (iBGP carries local preference) and
# relays the stores' cloud traffic across the DC LAN to rank 0. A hub holds it once, as
# `HubIntent.cloud_rank` (`CloudRank`); rank 0 keeps BGP's defaults and renders nothing.
BGP_DEFAULT_LOCAL_PREF = 100
CLOUD_RANK_LOCAL_PREF_STEP = 10
CLOUD_RANKS = BGP_DEFAULT_LOCAL_PREF // CLOUD_RANK_LOCAL_PREF_STEP  # ranks 0-9 keep a local preference
# A store WAN link's two AWS tunnels share one /29: tunnel 1 the lower /30, tunnel 2 the upper.
STORE_AWS_INSIDE_PREFIX = 29
# What store links never get: the /29s holding a reserved /30, both hub pools and the OpenStack
# gateways' pool (their AWS tunnels end on the same transit gateways as the stores').
STORE_AWS_INSIDE_RESERVED = (
    *sorted(n.supernet(new_prefix=STORE_AWS_INSIDE_PREFIX) for n in AWS_RESERVED_INSIDE),
    OPENSTACK_AWS_INSIDE_POOL,
    HUB_AWS_INSIDE_POOL,
    HUB_INSIDE_POOL,
)
# AWS-attached store WAN links one region holds: every /29 of 169.254.0.0/16 but the above.
STORE_AWS_LINKS_PER_REGION = (LINK_LOCAL.num_addresses >> (32 - STORE_AWS_INSIDE_PREFIX)) - sum(
    n.num_addresses >> (32 - STORE_AWS_INSIDE_PREFIX) for n in STORE_AWS_INSIDE_RESERVED
)

_LINK_LOCAL_SPAN = (int(LINK_LOCAL.network_address), int(LINK_LOCAL.broadcast_address))
# The first address of every /29 a store link may not take.
_STORE_RESERVED_BLOCKS = frozenset(
    int(block.network_address)
    for reserved in STORE_AWS_INSIDE_RESERVED
    for block in reserved.subnets(new_prefix=STORE_AWS_INSIDE_PREFIX)
)

# Planned outside addresses come from TEST-NET-1 (RFC 5737), which no fleet or lab address uses:
# stores .1-.160, OpenStack gateways .161-.190 (counting down), hubs' AWS tunnels .191-.254. A
# fleet with more continues in 198.19.0.0/18 (RFC 2544 benchmarking space; the lab's own
# addresses are in 198.18.0.0/16 and 198.19.255.0/24): the store /30 with index i (its place in
# 169.254.0.0/16) at 198.19.0.0 + i, hub slot j at 198.19.64.0 + j, OpenStack site k at
# 198.19.65.0 + k. Every planned outside address is thus distinct, however many links and hubs.
_TEST_NET_1 = int(ipaddress.IPv4Address("192.0.2.0"))
_STORE_OUTSIDE = 160
_HUB_OUTSIDE = 64
_OPENSTACK_OUTSIDE = 30
_OVERFLOW = int(ipaddress.IPv4Address("198.19.0.0"))
_STORE_OVERFLOW = _OVERFLOW
_HUB_OVERFLOW = _OVERFLOW + 64 * 256
_OPENSTACK_OVERFLOW = _HUB_OVERFLOW + 256


@dataclass(frozen=True, slots=True)
class HubOpenStackInside:
    """The inside /30 of one hub's tunnel to one OpenStack site's gateway."""

    network: ipaddress.IPv4Network

    @property
    def hub(self) -> ipaddress.IPv4Interface:
        """The hub's end: the first address of the /30."""
        return ipaddress.IPv4Interface((self.network[1], self.network.prefixlen))

    @property
    def gateway(self) -> ipaddress.IPv4Interface:
        """The OpenStack gateway's end: the second address of the /30."""
        return ipaddress.IPv4Interface((self.network[2], self.network.prefixlen))


def hub_openstack_inside(site_index: int, hub_index: int) -> HubOpenStackInside:
    """The inside /30 of hub `hub_index`'s tunnel to OpenStack site `site_index` (fleet order)."""
    if not 0 <= hub_index < HUBS_PER_SITE:
        raise ValueError(f"hub index {hub_index}: at most {HUBS_PER_SITE} hubs per OpenStack site")
    slot = site_index * HUBS_PER_SITE + hub_index
    slots = HUB_INSIDE_POOL.num_addresses // 4
    if not 0 <= slot < slots:
        raise ValueError(f"OpenStack site index {site_index}: {HUB_INSIDE_POOL} holds {slots // HUBS_PER_SITE} sites")
    return HubOpenStackInside(ipaddress.IPv4Network((int(HUB_INSIDE_POOL.network_address) + 4 * slot, 30)))


def aws_inside_usable(block: ipaddress.IPv4Network) -> bool:
    """Whether `block` is a /29 a store link's AWS tunnels may take (in 169.254.0.0/16, clear of
    AWS's reserved /30s and the hub and OpenStack gateway tunnels' ranges)."""
    # A set lookup: a lock file checks thousands of these on every load.
    first = int(block.network_address)
    return (
        block.prefixlen == STORE_AWS_INSIDE_PREFIX
        and _LINK_LOCAL_SPAN[0] <= first <= _LINK_LOCAL_SPAN[1]
        and first not in _STORE_RESERVED_BLOCKS
    )


def store_aws_inside(block: ipaddress.IPv4Network, number: int) -> ipaddress.IPv4Network:
    """The inside /30 of AWS tunnel `number` (1 or 2) of the store WAN link pinned to `block` (/29)."""
    if block.prefixlen != STORE_AWS_INSIDE_PREFIX or number not in (1, 2):
        raise ValueError(f"{block} tunnel {number}: a link's AWS tunnels are 1 and 2 of a /{STORE_AWS_INSIDE_PREFIX}")
    return ipaddress.IPv4Network((int(block.network_address) + 4 * (number - 1), 30))


def hub_aws_inside(hub_index: int, region_index: int, number: int) -> ipaddress.IPv4Network:
    """The inside /30 of hub `hub_index`'s AWS tunnel `number` to region `region_index` (fleet order)."""
    if not 0 <= region_index < HUB_AWS_REGIONS:
        raise ValueError(f"AWS region index {region_index}: a hub reaches at most {HUB_AWS_REGIONS} regions")
    slot = (hub_index * HUB_AWS_REGIONS + region_index) * 2 + number - 1
    if not 0 <= slot < HUB_AWS_INSIDE_POOL.num_addresses // 4:
        raise ValueError(f"hub index {hub_index}: {HUB_AWS_INSIDE_POOL} holds the AWS tunnels of 8 hubs")
    return ipaddress.IPv4Network((int(HUB_AWS_INSIDE_POOL.network_address) + 4 * slot, 30))


def openstack_aws_inside(site_index: int, region_index: int, number: int) -> ipaddress.IPv4Network:
    """The inside /30 of OpenStack site `site_index`'s AWS tunnel `number` to region `region_index`
    (fleet order): AWS takes the first host, the site's gateway the second."""
    if not 0 <= region_index < HUB_AWS_REGIONS:
        raise ValueError(f"AWS region index {region_index}: an OpenStack site reaches at most {HUB_AWS_REGIONS} regions")
    if not 0 <= site_index < OPENSTACK_AWS_SITES:
        raise ValueError(
            f"OpenStack site index {site_index}: {OPENSTACK_AWS_INSIDE_POOL} holds the AWS tunnels of "
            f"{OPENSTACK_AWS_SITES} sites"
        )
    if number not in (1, 2):
        raise ValueError(f"AWS tunnel {number}: a VPN connection has tunnels 1 and 2")
    slot = (site_index * HUB_AWS_REGIONS + region_index) * 2 + number - 1
    return ipaddress.IPv4Network((int(OPENSTACK_AWS_INSIDE_POOL.network_address) + 4 * slot, 30))


def openstack_aws_block(site_slot: int, region_index: int) -> ipaddress.IPv4Network:
    """The /29 holding both inside /30s of `openstack_aws_inside(site_slot, region_index, n)`: what a
    site's VPN connection to a region took before IPAM pinned it, and what it takes first."""
    return openstack_aws_inside(site_slot, region_index, 1).supernet(new_prefix=STORE_AWS_INSIDE_PREFIX)


def openstack_aws_peer(site_slot: int, block: ipaddress.IPv4Network) -> str:
    """The name of an OpenStack gateway's peer for its VPN connection to a region pinned to
    `block` (its interfaces and security group rules are named after it): `aws<r>`, the region's
    place in the layout `openstack_aws_block` gave before IPAM pinned the blocks (the name a
    gateway built then has, kept), else `awsb<k>`, the block's place in the pool. Never the
    region's place in the fleet: a region removed renames no other's (a rule named anew is made
    before the old one is deleted, and Neutron refuses a rule the group already has)."""
    k = _openstack_aws_block_index(block)
    r = k - site_slot * HUB_AWS_REGIONS
    if site_slot < OPENSTACK_AWS_SITES and 0 <= r < HUB_AWS_REGIONS:
        return f"aws{r}"
    return f"awsb{k}"


def _openstack_aws_block_index(block: ipaddress.IPv4Network) -> int:
    """`block`'s place among the /29s of `OPENSTACK_AWS_INSIDE_POOL`."""
    return (int(block.network_address) - int(OPENSTACK_AWS_INSIDE_POOL.network_address)) >> (32 - STORE_AWS_INSIDE_PREFIX)


# An OpenStack gateway's XFRM interfaces, one per tunnel, each bound by its if_id to one swanctl
# CHILD_SA (`components/vpn_gateway.py`): numbered by what IPAM pins, never by the order the
# tunnels are added, so a hub, region or site added or removed renumbers no kept tunnel's
# interface. A hub's tunnel takes its slot's (1-8: what its place in the fleet gave before), an
# AWS tunnel its /29's and number's after them. Never 0: the kernel refuses an XFRM interface of
# if_id 0 (Linux "xfrm: interface with if_id 0 should return error", 8dce43919566), which on a
# state or policy means no interface.
def openstack_hub_if_id(hub_slot: int) -> int:
    """The if_id of an OpenStack gateway's tunnel to the hub in slot `hub_slot`."""
    if not 0 <= hub_slot < HUB_SLOTS:
        raise ValueError(f"hub slot {hub_slot}: an OpenStack gateway takes hub slots 0-{HUB_SLOTS - 1}")
    return 1 + hub_slot


def openstack_aws_if_id(block: ipaddress.IPv4Network, number: int) -> int:
    """The if_id of an OpenStack gateway's AWS tunnel `number` of the VPN connection pinned to `block`."""
    if number not in (1, 2):
        raise ValueError(f"AWS tunnel {number}: a VPN connection has tunnels 1 and 2")
    return 1 + HUB_SLOTS + 2 * _openstack_aws_block_index(block) + number - 1


def planned_aws_outside(inside: ipaddress.IPv4Network) -> ipaddress.IPv4Address:
    """AWS's outside address of the tunnel with inside /30 `inside`, until the stack is live.

    A function of the inside /30 alone, which storestack chooses and hands to AWS: the Pulumi
    mocks see it in the `VpnConnection`'s inputs and answer with this same address. Distinct for
    every /30 of 169.254.0.0/16 (store links and hub tunnels alike): the first 160 store /30s
    and 64 hub tunnels in TEST-NET-1, the rest in 198.19.0.0/18."""
    offset = int(inside.network_address) - int(HUB_AWS_INSIDE_POOL.network_address)
    if 0 <= offset < HUB_AWS_INSIDE_POOL.num_addresses:
        slot = offset // 4
        if slot < _HUB_OUTSIDE:
            return ipaddress.IPv4Address(_TEST_NET_1 + 254 - slot)
        return ipaddress.IPv4Address(_HUB_OVERFLOW + slot)
    index = (int(inside.network_address) - int(LINK_LOCAL.network_address)) // 4
    if not 0 <= index < LINK_LOCAL.num_addresses // 4:
        raise ValueError(f"{inside}: an AWS tunnel's inside /30 is in {LINK_LOCAL}")
    if index < _STORE_OUTSIDE:
        return ipaddress.IPv4Address(_TEST_NET_1 + 1 + index)
    return ipaddress.IPv4Address(_STORE_OVERFLOW + index)


def planned_openstack_gateway(site_index: int) -> ipaddress.IPv4Address:
    """An OpenStack site gateway's floating IP until the core stack has bound it (distinct per site)."""
    if site_index < _OPENSTACK_OUTSIDE:
        return ipaddress.IPv4Address(_TEST_NET_1 + 190 - site_index)
    return ipaddress.IPv4Address(_OPENSTACK_OVERFLOW + site_index)


# Cloud sites' address ranges: each AWS region or OpenStack site takes one slot, a 1/2**CLOUD_SLOT_BITS
# share of `ip_plan.cloud` (its workloads) and of `ip_plan.desktops` (its desktops), which IPAM pins
# (`ranges` in the lock file; first its `cloud_site_keys` place). The core stack builds each site's networks in its slot
# (`stacks/mapping.py`), and the network intent takes from each site's BGP sessions only that
# site's slots (`BgpSession.accepts` of hub-aws / hub-openstack sessions).
CLOUD_SLOT_BITS = 4
CLOUD_SITE_SLOTS = 2**CLOUD_SLOT_BITS  # the shares IPAM hands the sites (`inventory/ipam.py`)


def cloud_site_keys(aws_regions: Iterable[str], openstack_sites: Iterable[str]) -> list[str]:
    """Keys of every cloud site in slot order: `aws:<region>` then `openstack:<name>`."""
    return [*(f"aws:{region}" for region in aws_regions), *(f"openstack:{name}" for name in openstack_sites)]


def cloud_slot(supernet: ipaddress.IPv4Network, index: int) -> ipaddress.IPv4Network | None:
    """The cloud site `index`'s share of `supernet` (`CLOUD_SLOT_BITS`); None past the last slot."""
    if not 0 <= index < 2**CLOUD_SLOT_BITS:
        return None
    return next(itertools.islice(supernet.subnets(prefixlen_diff=CLOUD_SLOT_BITS), index, None))
