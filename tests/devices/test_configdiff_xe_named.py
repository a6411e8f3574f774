"""The order an IOS-XE remediation defines and deletes IKEv2 keyrings, proposals and profiles,
IPsec transform-sets and profiles, security zones, VRFs and route-maps around the lines that
name them: each is defined before the first line that names it and deleted after the last.

The running or intended config is the rendered dual-WAN store (its golden file), the other the
same without one of these objects and the lines that name it.
"""

from __future__ import annotations

from pathlib import Path

from testsupport.rendering import assert_sent_in_order, config_without

from storestack.devices.configdiff import compute_diff, remediation_lines

GOLDEN = (Path(__file__).parent / "golden" / "cisco_xe" / "dual-wan.cfg").read_text(encoding="utf-8")


def _sent(running: str, intended: str) -> list[str]:
    diff = compute_diff(running, intended, "cisco_xe")
    assert remediation_lines(running, intended, "cisco_xe") == diff.remediation
    return [line.strip() for line in diff.remediation]


# One tunnel's IPsec chain: the tunnel's protection names the IPsec profile, the IPsec profile
# the IKEv2 profile, the IKEv2 profile the keyring.
_TUNNEL = r"HUB-wan1-hq-hub2$"


def test_a_removed_tunnel_chain_is_deleted_after_what_names_it() -> None:
    sent = _sent(GOLDEN, config_without(GOLDEN, _TUNNEL))
    assert_sent_in_order(
        sent,
        "no tunnel protection ipsec profile HUB-wan1-hq-hub2",
        "no crypto ipsec profile HUB-wan1-hq-hub2",
        "no crypto ikev2 profile HUB-wan1-hq-hub2",
        "no crypto ikev2 keyring HUB-wan1-hq-hub2",
    )


def test_an_added_tunnel_chain_is_defined_before_what_names_it() -> None:
    sent = _sent(config_without(GOLDEN, _TUNNEL), GOLDEN)
    assert_sent_in_order(
        sent,
        "crypto ikev2 keyring HUB-wan1-hq-hub2",
        "crypto ikev2 profile HUB-wan1-hq-hub2",
        "crypto ipsec profile HUB-wan1-hq-hub2",
        "tunnel protection ipsec profile HUB-wan1-hq-hub2",
    )


_CBC = r"^(crypto ikev2 proposal STORESTACK-CBC| proposal STORESTACK-CBC)$"


def test_a_removed_ikev2_proposal_goes_after_the_policy_stops_naming_it() -> None:
    sent = _sent(GOLDEN, config_without(GOLDEN, _CBC))
    assert_sent_in_order(sent, "no proposal STORESTACK-CBC", "no crypto ikev2 proposal STORESTACK-CBC")


def test_an_added_ikev2_proposal_is_defined_before_the_policy_names_it() -> None:
    sent = _sent(config_without(GOLDEN, _CBC), GOLDEN)
    assert_sent_in_order(sent, "crypto ikev2 proposal STORESTACK-CBC", "proposal STORESTACK-CBC")


def test_an_added_transform_set_is_defined_before_the_ipsec_profiles_name_it() -> None:
    running = config_without(GOLDEN, r"^(crypto ipsec transform-set STORESTACK .*| set transform-set STORESTACK)$")
    sent = _sent(running, GOLDEN)
    assert_sent_in_order(sent, "crypto ipsec transform-set STORESTACK esp-gcm 256", "set transform-set STORESTACK")


_IOT_ZONE = r"^(zone security IOT| zone-member security IOT|zone-pair security IOT-.*)$"


def test_a_removed_zone_goes_after_its_members_and_zone_pairs() -> None:
    sent = _sent(GOLDEN, config_without(GOLDEN, _IOT_ZONE))
    assert_sent_in_order(sent, "no zone-member security IOT", "no zone security IOT")
    assert_sent_in_order(sent, "no zone-pair security IOT-TO-SELF source IOT destination self", "no zone security IOT")


def test_an_added_zone_is_defined_before_its_members_and_zone_pairs() -> None:
    sent = _sent(config_without(GOLDEN, _IOT_ZONE), GOLDEN)
    assert_sent_in_order(sent, "zone security IOT", "zone-member security IOT")
    assert_sent_in_order(sent, "zone security IOT", "zone-pair security IOT-TO-SELF source IOT destination self")


def test_an_added_vrf_is_defined_before_the_interface_and_tunnels_use_it() -> None:
    running = config_without(GOLDEN, r"^(vrf definition INET-lte1| vrf forwarding INET-lte1| tunnel vrf INET-lte1)$")
    sent = _sent(running, GOLDEN)
    assert_sent_in_order(sent, "vrf definition INET-lte1", "vrf forwarding INET-lte1")
    assert_sent_in_order(sent, "vrf definition INET-lte1", "tunnel vrf INET-lte1")


def test_a_removed_vrf_goes_after_the_tunnels_stop_using_it() -> None:
    intended = config_without(GOLDEN, r"^(vrf definition INET-lte1| tunnel vrf INET-lte1| match fvrf INET-lte1)$")
    sent = _sent(GOLDEN, intended)
    assert_sent_in_order(sent, "no tunnel vrf INET-lte1", "no vrf definition INET-lte1")
    assert_sent_in_order(sent, "no match fvrf INET-lte1", "no vrf definition INET-lte1")


def test_a_removed_route_map_goes_after_the_bgp_neighbour_stops_naming_it() -> None:
    intended = config_without(GOLDEN, r"^(route-map RETURN-ADVERTISE .*|  neighbor \S+ advertise-map RETURN-ADVERTISE .*)$")
    sent = _sent(GOLDEN, intended)
    assert_sent_in_order(
        sent,
        "no neighbor 100.64.0.4 advertise-map RETURN-ADVERTISE exist-map RETURN-VIA-1",
        "no route-map RETURN-ADVERTISE permit 10",
    )


def test_an_interface_moved_to_another_vrf_gets_its_address_again() -> None:
    """IOS removes an interface's IP addresses when `vrf forwarding` is entered or removed: the
    unchanged `ip address` goes again after the VRF change, or the uplink is left without one."""
    intended = GOLDEN.replace(" vrf forwarding INET-lte1\n", " vrf forwarding INET-wan1\n")
    sent = _sent(GOLDEN, intended)
    assert_sent_in_order(sent, "no vrf forwarding INET-lte1", "vrf forwarding INET-wan1", "ip address dhcp")
    back = [line.strip() for line in compute_diff(GOLDEN, intended, "cisco_xe").rollback]
    assert_sent_in_order(back, "vrf forwarding INET-lte1", "ip address dhcp")


def test_an_interface_taken_out_of_its_vrf_gets_its_address_again() -> None:
    intended = GOLDEN.replace(" vrf forwarding INET-wan1\n", "")
    sent = _sent(GOLDEN, intended)
    assert_sent_in_order(sent, "no vrf forwarding INET-wan1", "ip address 198.51.100.6 255.255.255.252")


def test_a_removed_local_policy_route_map_goes_after_the_local_policy_stops_naming_it() -> None:
    """The guest breakout's local policy (`ip local policy route-map BREAKOUT-LOCAL`, the mall
    store's golden file) is taken off before its route-map is deleted."""
    golden = (Path(__file__).parent / "golden" / "cisco_xe" / "mall-guest.cfg").read_text(encoding="utf-8")
    intended = config_without(golden, r"^(route-map BREAKOUT-LOCAL .*|ip local policy route-map BREAKOUT-LOCAL)$")
    sent = _sent(golden, intended)
    assert_sent_in_order(sent, "no ip local policy route-map BREAKOUT-LOCAL", "no route-map BREAKOUT-LOCAL permit 10")
