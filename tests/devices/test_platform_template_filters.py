"""The platform modules' template filters spell rules as the vendors' CLIs show them."""

from __future__ import annotations

from storestack.devices.platforms import cisco_xe, fortinet, huawei_vrp
from storestack.devices.views import AclRule, FlowView, Net

POS = Net("10.64.0.0/26", "10.64.0.0", 26, "255.255.255.192", "0.0.0.63")
DNS = Net("10.0.0.53/32", "10.0.0.53", 32, "255.255.255.255", "0.0.0.0")
OFFICE = Net("10.64.0.64/26", "10.64.0.64", 26, "255.255.255.192", "0.0.0.63")


def test_ios_rules_use_host_any_wildcards_and_port_names() -> None:
    assert cisco_xe.acl_rule(AclRule("permit", "udp", POS, DNS, 53)) == "permit udp 10.64.0.0 0.0.0.63 host 10.0.0.53 eq domain"
    assert cisco_xe.acl_rule(AclRule("deny", "ip", None, OFFICE)) == "deny ip any 10.64.0.64 0.0.0.63"
    assert cisco_xe.acl_rule(AclRule("permit", "tcp", None, None, 8000, 8010)) == "permit tcp any any range 8000 8010"
    assert (
        cisco_xe.acl_rule(AclRule("permit", "udp", None, None, 68, source_port=67))
        == "permit udp any eq bootps any eq bootpc"
    )
    # Names are per protocol: BGP is a TCP keyword only, BOOTP a UDP one.
    assert cisco_xe.acl_rule(AclRule("permit", "udp", None, None, 179)) == "permit udp any any eq 179"
    assert cisco_xe.acl_rule(AclRule("permit", "tcp", None, None, 67)) == "permit tcp any any eq 67"


def test_vrp_rules_name_source_and_destination_and_write_a_host_wildcard_as_0() -> None:
    assert (
        huawei_vrp.acl_rule(AclRule("permit", "udp", POS, DNS, 53))
        == "permit udp source 10.64.0.0 0.0.0.63 destination 10.0.0.53 0 destination-port eq dns"
    )
    assert huawei_vrp.acl_rule(AclRule("deny", "ip")) == "deny ip"
    # The keyword lists differ by protocol: TCP 53 is `domain`, UDP 53 `dns`; BGP is TCP only.
    assert huawei_vrp.acl_rule(AclRule("permit", "tcp", None, DNS, 53)).endswith("destination-port eq domain")
    assert huawei_vrp.acl_rule(AclRule("permit", "udp", None, None, 179)).endswith("destination-port eq 179")
    assert (
        huawei_vrp.acl_rule(AclRule("permit", "tcp", None, OFFICE, 8000, 8010))
        == "permit tcp destination 10.64.0.64 0.0.0.63 destination-port range 8000 8010"
    )


def test_fortios_policies_group_rules_in_first_match_order() -> None:
    rules = [
        AclRule("deny", "ip", POS, OFFICE),
        AclRule("permit", "udp", POS, DNS, 53),
        AclRule("deny", "ip", POS, DNS),
        AclRule("permit", "tcp", POS, DNS, 53),
        AclRule("permit", "ip", POS, None),
    ]
    assert fortinet.policy_groups(rules) == [
        ("deny", "ip", None, ("10.64.0.64/26", "10.0.0.53/32")),
        ("permit", "udp", 53, ("10.0.0.53/32",)),
        ("permit", "tcp", 53, ("10.0.0.53/32",)),
        ("permit", "ip", None, ()),  # anywhere: "all"
    ]
    flows = [FlowView("POS-TO-OVERLAY", "POS", "OVERLAY", rules)]
    assert fortinet.flow_services(flows) == [("udp", 53), ("tcp", 53)]
    assert [net.cidr for net in fortinet.flow_destinations(flows)] == ["10.64.0.64/26", "10.0.0.53/32"]
