"""common/addressing.py: the one home of collapsing and cutting IPv4 ranges."""

from __future__ import annotations

from ipaddress import IPv4Network as Net

from storestack.common.addressing import collapse, excluding


def test_collapse_gives_the_fewest_networks_in_address_order() -> None:
    nets = (Net("10.0.1.0/24"), Net("10.0.0.0/24"), Net("10.0.0.128/25"), Net("192.168.0.0/24"))
    assert collapse(iter(nets)) == (Net("10.0.0.0/23"), Net("192.168.0.0/24"))
    assert collapse([]) == ()


def test_excluding_cuts_holes_and_collapses_what_remains() -> None:
    assert excluding([Net("10.0.0.0/24"), Net("10.0.1.0/24")], [Net("10.0.0.0/25")]) == (
        Net("10.0.0.128/25"),
        Net("10.0.1.0/24"),
    )
