"""AWS tunnel inside addresses at fleet scale: IPAM pins a /29 per AWS-attached WAN link, per region.

AWS wants every tunnel's inside /30 unique on a gateway, and every store of a region attaches to
that region's transit gateway. A 10,000-store generated fleet, every store AWS-attached, is
allocated and checked for collisions, reserved blocks and stability; a region beyond the space
is refused with an error naming the file, field, line and limit.
"""

from __future__ import annotations

import ipaddress
import random
from collections import Counter
from functools import cache

import pytest

from storestack.inventory.errors import IpamExhaustedError
from storestack.inventory.generate import generate_fleet
from storestack.inventory.ipam import AllocationTable, allocate_fleet, aws_attached_links, parse_allocations
from storestack.inventory.models import FleetSpec, StoreSpec
from storestack.inventory.source import SourceDocument, parse_text
from storestack.network.cloud import (
    AWS_RESERVED_INSIDE,
    HUB_AWS_INSIDE_POOL,
    HUB_INSIDE_POOL,
    LINK_LOCAL,
    STORE_AWS_LINKS_PER_REGION,
    store_aws_inside,
)

STORES = 10_000


@cache
def generated() -> tuple[FleetSpec, SourceDocument, tuple[StoreSpec, ...]]:
    """The generated fleet with every store AWS-attached: its first WAN link made static."""
    fleet = generate_fleet(STORES, seed=7)
    files = dict(fleet.files())
    document = parse_text(files["fleet.yaml"], "fleet.yaml")
    spec = FleetSpec.model_validate(document.data)
    stores = []
    for index, data in enumerate(fleet.stores):
        first = data["wan"][0]
        if first.get("addressing") != "static":
            base = int(ipaddress.IPv4Address("198.18.0.0")) + 4 * index  # the generator's RFC 2544 /30s
            first.update(addressing="static", address=f"{ipaddress.IPv4Address(base + 2)}/30",
                         gateway=str(ipaddress.IPv4Address(base + 1)))  # fmt: skip
        stores.append(StoreSpec.model_validate(data))
    return spec, document, tuple(stores)


def aws_thirties(table: AllocationTable) -> list[tuple[str, ipaddress.IPv4Network, str]]:
    """(region, inside /30, owner) of every AWS tunnel the table pins."""
    return [
        (alloc.aws_region, store_aws_inside(block, number), f"{store_id}/{link}/{number}")
        for store_id, alloc in table.stores.items()
        if alloc.aws_region is not None
        for link, block in alloc.aws_inside.items()
        for number in (1, 2)
    ]


def assert_usable_and_unique(table: AllocationTable) -> None:
    thirties = aws_thirties(table)
    clashes = Counter((region, inside) for region, inside, _ in thirties)
    assert [key for key, count in clashes.items() if count > 1] == [], "an inside /30 is used twice in a region"
    for _region, inside, owner in thirties:
        assert inside.subnet_of(LINK_LOCAL) and inside.prefixlen == 30, owner
        assert inside not in AWS_RESERVED_INSIDE, f"{owner}: {inside} is reserved by AWS"
        assert not inside.overlaps(HUB_AWS_INSIDE_POOL) and not inside.overlaps(HUB_INSIDE_POOL), owner


def test_ten_thousand_aws_attached_stores_get_unique_unreserved_inside_addresses_per_region() -> None:
    spec, document, stores = generated()
    table = allocate_fleet(spec, document, list(stores), AllocationTable())

    attached = {(s.id, link) for s in stores for link in aws_attached_links(s)}
    pinned = {(store_id, link) for store_id, a in table.stores.items() for link in a.aws_inside}
    assert len({s for s, _ in attached}) == STORES and pinned == attached, "every AWS-attached link has a /29"
    per_region = Counter(region for region, _, _ in aws_thirties(table))
    # Far more than the 4,500 links where the old slot arithmetic wrapped, in each region.
    assert min(per_region.values()) // 2 > 4_500 and len(per_region) == len(spec.sites.aws[0].regions)
    assert_usable_and_unique(table)
    # Regions reuse one another's /29s only once the space is used up fleet-wide.
    blocks = [b for a in table.stores.values() for b in a.aws_inside.values()]
    assert len(blocks) > STORE_AWS_LINKS_PER_REGION and len(set(blocks)) == STORE_AWS_LINKS_PER_REGION
    # The lock file carries them: what is written is what is read back.
    reread, _ = parse_allocations(table.render(), "allocations.yaml")
    assert reread.stores == table.stores


def test_a_stores_inside_addresses_never_move_when_others_are_added_or_removed() -> None:
    spec, document, stores = generated()
    small = allocate_fleet(spec, document, list(stores[:2_000]), AllocationTable())
    blocks = [b for a in small.stores.values() for b in a.aws_inside.values()]
    assert len(set(blocks)) == len(blocks), "a fleet that fits the space gets distinct /29s in every region"
    first = allocate_fleet(spec, document, list(stores[:9_000]), AllocationTable())
    rng = random.Random(13)
    removed = set(rng.sample([s.id for s in stores[:9_000]], 900))
    # Removed stores leave, the last 1,000 arrive, in one load: nobody already pinned moves.
    later = [s for s in stores if s.id not in removed]
    second = allocate_fleet(spec, document, later, first)

    for store_id, alloc in first.stores.items():
        assert second.stores[store_id].aws_inside == alloc.aws_inside, store_id
    assert_usable_and_unique(second)
    # A removed store's /29s are not handed to an arriving store while configs may use them.
    arrived = {s.id for s in stores[9_000:]}
    kept = {(a.aws_region, b) for i, a in first.stores.items() if i in removed for b in a.aws_inside.values()}
    given = {(second.stores[i].aws_region, b) for i in arrived for b in second.stores[i].aws_inside.values()}
    assert kept and given and not kept & given


def test_a_region_beyond_the_inside_address_space_is_refused_naming_file_field_line_and_limit() -> None:
    spec, document, stores = generated()
    one_region = [s.model_copy(update={"cloud": s.cloud.model_copy(update={"aws_region": "eu-west-1"})}) for s in stores]
    assert sum(len(aws_attached_links(s)) for s in one_region) > STORE_AWS_LINKS_PER_REGION

    with pytest.raises(IpamExhaustedError) as caught:
        allocate_fleet(spec, document, one_region, AllocationTable())

    (issue,) = caught.value.issues
    regions = spec.sites.aws[0].regions
    field = f"sites.aws[0].regions[{regions.index('eu-west-1')}]"
    assert (issue.file, issue.field) == ("fleet.yaml", field)
    assert issue.line == document.line_of(("sites", "aws", 0, "regions", regions.index("eu-west-1"))) > 0
    assert f"at most {STORE_AWS_LINKS_PER_REGION} AWS-attached store WAN links" in issue.message
    assert "eu-west-1" in issue.message and "store '" in issue.message
