"""Names shared between the rendered configs and whatever builds the links they run on.

The lab creates a veth pair per store WAN link; the hub side of that pair must carry the
same name the hub config uses, so both sides call `hub_interface_name`.
"""

from __future__ import annotations

import functools
import re

from storestack.common.names import shortened

LINUX_IFNAMSIZ = 15  # IFNAMSIZ (16) minus the terminating NUL


def short_ifname(full: str, limit: int = LINUX_IFNAMSIZ) -> str:
    """`full` when it fits in `limit` characters, else a readable prefix plus a short hash of the
    full name (`shortened`), so two long names that share a prefix never collide."""
    return shortened(full, limit)


def hub_interface_name(store_id: str, link_name: str) -> str:
    """The hub-side interface of one store WAN link: `<store-id>-<link>`, at most 15 characters.

    FRR hubs carry the overlay address on this interface, FortiOS hubs name the IPsec tunnel
    after it, and the lab names the hub end of the link's veth pair with it.
    """
    return short_ifname(f"{store_id}-{link_name}")


def _strcmp(left: str, right: str) -> int:
    return (left > right) - (left < right)


def _text_run(text: str) -> int:
    """Length of the leading run without digits (C `strcspn(text, "0123456789")`)."""
    for index, char in enumerate(text):
        if char in _DIGITS:
            return index
    return len(text)


def _digit_run(text: str) -> int:
    for index, char in enumerate(text):
        if char not in _DIGITS:
            return index
    return len(text)


_DIGITS = frozenset("0123456789")


def frr_compare_interface_names(left: str, right: str) -> int:
    """FRR's `if_cmp_name_func`: text runs compared as text, digit runs as numbers.

    FRR lists interfaces in this order in `show running-config`; rendering them in the same
    order keeps an intended config textually identical to what the router shows.
    """
    p1, p2 = left, right
    while p1 and p2:
        l1, l2 = _text_run(p1), _text_run(p2)
        if l1 != l2:
            return _strcmp(p1, p2)
        if p1[:l1] != p2[:l1]:
            return _strcmp(p1[:l1], p2[:l1])
        p1, p2 = p1[l1:], p2[l1:]
        if not p1 and not p2:
            return 0
        if not p1:
            return -1
        if not p2:
            return 1
        d1, d2 = _digit_run(p1), _digit_run(p2)
        x1, x2 = int(p1[:d1]), int(p2[:d2])
        if x1 != x2:
            return -1 if x1 < x2 else 1
        if d1 != d2:
            return _strcmp(p1, p2)
        p1, p2 = p1[d1:], p2[d2:]
    if p1:
        return 1
    if p2:
        return -1
    return 0


frr_interface_order = functools.cmp_to_key(frr_compare_interface_names)


# A name as its runs: (text without digits, the digits after it), the last pair empty.
_RUNS = re.compile(r"([^0-9]*)([0-9]*)")
# A digit run of two or more zeros: the one case `_approximate_key` orders unlike FRR.
_ZERO_RUN = re.compile(r"(?<![0-9])00+(?![0-9])")


def _approximate_key(name: str) -> tuple[tuple[str, int, int], ...]:
    """A tuple key that orders like `if_cmp_name_func` except between digit runs of value zero
    and different lengths ("0", "00": FRR compares what follows them as text), so the exact sort
    after it has little or nothing to do.

    A text run followed by digits sorts as if followed by a digit character (FRR falls back to
    strcmp when runs differ in length); equal numbers: more leading zeros first (strcmp puts
    the first nonzero digit after a zero)."""
    return tuple(
        (text + "0" if digits else text, int(digits) if digits else -1, -len(digits))
        for text, digits in _RUNS.findall(name)
        if text or digits
    )


def sort_frr_interfaces(names: list[str]) -> list[str]:
    """`names` in FRR's display order, exactly: a fast key sort, then, only where a name holds
    a zero run ("00") the key may misplace, FRR's own comparison, which on the already (nearly)
    ordered list costs only about one comparison per name.

    Stores of one shape share their interface names, so the order is remembered per list."""
    return list(_sorted_interfaces(tuple(names)))


@functools.lru_cache(maxsize=1024)
def _sorted_interfaces(names: tuple[str, ...]) -> tuple[str, ...]:
    ordered = sorted(names, key=_approximate_key)
    if _ZERO_RUN.search("\n".join(names)) is None:
        return tuple(ordered)  # the key orders these names exactly as FRR does
    return tuple(sorted(ordered, key=frr_interface_order))
