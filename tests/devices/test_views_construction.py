"""Views are records: same fields and defaults, compared and hashed by value."""

from __future__ import annotations

import dataclasses

from storestack.devices.views import AclRule, IfAddr, Net, StoreApplianceView, ViewBuilder
from storestack.inventory import Fleet


def test_views_compare_and_hash_by_value() -> None:
    net = Net.at(0x0A400000, 26)
    assert net == Net("10.64.0.0/26", "10.64.0.0", 26, "255.255.255.192", "0.0.0.63")
    assert hash(net) == hash(Net(cidr="10.64.0.0/26", address="10.64.0.0", prefixlen=26,
                                 netmask="255.255.255.192", wildcard="0.0.0.63"))
    assert AclRule("permit", "ip") == AclRule("permit", "ip", None, None, None, None, None)
    assert dataclasses.replace(net, prefixlen=27).prefixlen == 27
    assert IfAddr.at(0x0A400001, 26).network == net


def test_defaulted_lists_are_fresh_per_view(fleet: Fleet) -> None:
    store = fleet.store("nw-0002")
    built = ViewBuilder(fleet).store_view(store, store.appliances[0].hostname)
    defaulted = ("cellular_links", "wired_links", "aws_links")
    given = {f.name: getattr(built, f.name) for f in dataclasses.fields(built) if f.name not in defaulted}
    first, second = StoreApplianceView(**given), StoreApplianceView(**given)
    assert first.cellular_links == [] and first.aws_links == []
    assert first.cellular_links is not second.cellular_links
    assert first.store_id == built.store_id and first.segments is built.segments
