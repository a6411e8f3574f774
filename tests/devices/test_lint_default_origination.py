"""The lint route-filter readers know what default route a BGP speaker sends each neighbour
(`RouteFilters.defaults`, `sends_default`): one it originates whatever its table holds, one it
originates while a route its condition permits is in its table, or its table's own 0.0.0.0/0
through the outbound filter. Peer groups are resolved as the routers resolve them."""

from __future__ import annotations

import ipaddress

from storestack.devices.lint import ROUTE_FILTER_EXTRACTORS, ConfigFile, RouteFilters, load_platform_rules

DEFAULT = ipaddress.IPv4Network("0.0.0.0/0")
HQ = ipaddress.IPv4Network("10.0.0.0/16")
STORE = "100.64.0.1"


def _filters(platform: str, text: str) -> RouteFilters:
    load_platform_rules()
    return ROUTE_FILTER_EXTRACTORS[platform](ConfigFile("hub.cfg", platform, "hub", "hub", text))


FRR = """router bgp 65000
 neighbor STORES peer-group
 neighbor 100.64.0.1 remote-as 4200000000
 neighbor 100.64.0.1 peer-group STORES
 !
 address-family ipv4 unicast
  neighbor STORES default-originate{condition}
  neighbor STORES route-map TO-STORES out
 exit-address-family
exit
ip prefix-list TO-STORES seq 5 permit 10.0.0.0/16
ip prefix-list DC-DEFAULT seq 5 permit 0.0.0.0/0
route-map TO-STORES permit 10
 match ip address prefix-list TO-STORES
exit
route-map DC-DEFAULT permit 10
 match ip address prefix-list DC-DEFAULT
exit
"""


def test_an_frr_group_default_originated_on_a_condition_follows_the_table() -> None:
    filters = _filters("frr", FRR.format(condition=" route-map DC-DEFAULT"))
    origination = filters.defaults[STORE]
    assert (origination.condition, origination.route_map, origination.line) == ("DC-DEFAULT", "DC-DEFAULT", 7)
    assert filters.sends_default(STORE, [HQ]) is False
    assert filters.sends_default(STORE, [HQ, DEFAULT]) is True


def test_an_frr_group_default_originated_unconditionally_is_sent_whatever_the_table_holds() -> None:
    filters = _filters("frr", FRR.format(condition=""))
    assert filters.defaults[STORE].condition is None
    assert filters.sends_default(STORE, []) is True


def test_without_origination_only_the_tables_own_default_goes_out_and_only_through_the_filter() -> None:
    text = FRR.format(condition="").replace("  neighbor STORES default-originate\n", "")
    filters = _filters("frr", text)
    assert STORE not in filters.defaults
    assert filters.sends_default(STORE, [HQ, DEFAULT]) is False  # TO-STORES refuses it
    passing = _filters("frr", text.replace("seq 5 permit 10.0.0.0/16", "seq 5 permit 10.0.0.0/16\nip prefix-list TO-STORES seq 10 permit 0.0.0.0/0"))
    assert passing.sends_default(STORE, [HQ]) is False
    assert passing.sends_default(STORE, [HQ, DEFAULT]) is True


def test_vrp_reads_a_group_default_and_its_condition() -> None:
    text = """bgp 65000
 group STORES external
 peer 100.64.0.1 as-number 4200000000
 #
 ipv4-family unicast
  peer STORES enable
  peer STORES default-route-advertise{condition}
  peer 100.64.0.1 group STORES
#
"""
    unconditional = _filters("huawei_vrp", text.format(condition=" route-policy SET"))
    assert unconditional.defaults[STORE].condition is None  # a route-policy sets attributes only
    assert unconditional.sends_default(STORE, []) is True
    conditional = _filters("huawei_vrp", text.format(condition=" conditional-route-match-any 0.0.0.0 0"))
    assert conditional.defaults[STORE].condition == "conditional-route-match-any 0.0.0.0 0"
    assert conditional.sends_default(STORE, []) is None  # a list of routes, not read here


def test_fortios_reads_the_neighbours_default_and_its_route_map() -> None:
    text = """config router bgp
    set as 65000
    config neighbor
        edit "100.64.0.1"
            set remote-as 4200000000
            set capability-default-originate enable
{routemap}            set route-map-out "TO-STORES"
        next
    end
end
"""
    plain = _filters("fortinet", text.format(routemap=""))
    assert plain.defaults[STORE].condition is None and plain.defaults[STORE].line == 6
    mapped = _filters("fortinet", text.format(routemap='            set default-originate-routemap "DC-DEFAULT"\n'))
    assert mapped.defaults[STORE].route_map == "DC-DEFAULT"
