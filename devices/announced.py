"""The numbers of what a store announces, the same on every platform and on both ends."""

from __future__ import annotations

from typing import TYPE_CHECKING

from storestack.devices.errors import RenderError
from storestack.inventory.models import SEGMENT_KINDS

if TYPE_CHECKING:
    from storestack.devices.views import Net, StoreApplianceView

# What a store announces, each entry numbered by what it is, on every platform: its prefix lists'
# sequence numbers (IOS-XE and FRR `ip prefix-list ... seq N`, VRP `ip ip-prefix ... index N`), on
# the store (STORE-PREFIXES) and on its hubs (STORE-<id>), and FortiOS's BGP network and rule ids.
# A segment: its kind's place in SEGMENT_KINDS past SEGMENT_ENTRY (a kind added at the end of that
# tuple takes the next number); the store's loopback: LOOPBACK_ENTRY, on a hub each further
# appliance's one below it (its place among the store's appliances). Numbered by place (5, 10, ...
# then the loopback), a segment added or removed moved every later entry, the loopback's too: the
# push deleted and added again entries of the live list that filters the store's announcements,
# and for a moment the store's loopback, its management address, was not in it. Every entry is an
# exact permit of a distinct prefix, so the order the numbers give them matches nothing
# differently. Within every platform's range: IOS-XE 1-4294967294, VRP 1-4294967295 (`ip
# ip-prefix`, `index index-number`), FRR below 4294967295 (FRR user guide, "Filtering").
SEGMENT_ENTRY = 100
LOOPBACK_ENTRY = SEGMENT_ENTRY


def segment_entry_id(kind: str) -> int:
    """The number of a segment of `kind`'s entries (see SEGMENT_ENTRY)."""
    return SEGMENT_ENTRY + 1 + SEGMENT_KINDS.index(kind)


def loopback_entry_id(place: int) -> int:
    """The number of the loopback of the store's appliance at `place` (from 0) in its list."""
    if not 0 <= place < LOOPBACK_ENTRY:
        raise RenderError(f"a store's appliance at place {place} has no announced entry number")
    return LOOPBACK_ENTRY - place


def advertised_entries(view: StoreApplianceView) -> list[tuple[int, Net]]:
    """Each prefix the store announces with its number (`segment_entry_id`, its own loopback's
    `LOOPBACK_ENTRY`), in announcement order."""
    kinds = {segment.net.cidr: segment.kind for segment in view.segments}
    entries: list[tuple[int, Net]] = []
    for prefix in view.advertised:
        if prefix.cidr in kinds:
            entries.append((segment_entry_id(kinds[prefix.cidr]), prefix))
        elif prefix.prefixlen == 32 and prefix.address == view.loopback.ip:
            entries.append((LOOPBACK_ENTRY, prefix))
        else:
            raise RenderError(f"store {view.store_id}: announced prefix {prefix.cidr} is neither a segment nor the loopback")
    return entries


def numbered_announcements(view: StoreApplianceView) -> list[tuple[int, Net]]:
    """`advertised_entries` by number, as IOS-XE, VRP and FRR print a prefix list's entries."""
    return sorted(advertised_entries(view))
