"""The order a VRP remediation deletes and defines IKE peers, IPsec profiles, zones and VPN
instances around the lines that name them. The running or intended config is the rendered
dual-WAN store (its golden file), the other the same without one object and what names it."""

from __future__ import annotations

from pathlib import Path

from testsupport.rendering import assert_sent_in_order, config_without

from storestack.devices.configdiff import compute_diff

GOLDEN = (Path(__file__).parent / "golden" / "huawei_vrp" / "dual-wan.cfg").read_text(encoding="utf-8")


def _sent(running: str, intended: str) -> list[str]:
    return [line.strip() for line in compute_diff(running, intended, "huawei_vrp").remediation]


_HUB1 = r"^(ike peer HUB-1|ipsec profile HUB-1| ipsec profile HUB-1)$"


def test_a_removed_tunnel_chain_is_deleted_after_the_tunnel_stops_naming_it() -> None:
    sent = _sent(GOLDEN, config_without(GOLDEN, _HUB1))
    tunnel = sent.index("interface Tunnel0/0/1")
    assert sent[tunnel + 1] == "undo ipsec profile HUB-1"
    assert tunnel < sent.index("undo ipsec profile HUB-1", tunnel + 2)
    assert_sent_in_order(sent, "interface Tunnel0/0/1", "undo ike peer HUB-1")
    assert sent.index("undo ipsec profile HUB-1", tunnel + 2) < sent.index("undo ike peer HUB-1")


def test_an_added_tunnel_chain_is_defined_before_the_tunnel_names_it() -> None:
    sent = _sent(config_without(GOLDEN, _HUB1), GOLDEN)
    assert_sent_in_order(sent, "ike peer HUB-1", "ike-peer HUB-1", "interface Tunnel0/0/1")


def test_a_removed_zone_goes_after_its_interfaces_leave_it() -> None:
    intended = config_without(GOLDEN, r"^(firewall zone OVERLAY| zone OVERLAY)$")
    sent = _sent(GOLDEN, intended)
    assert_sent_in_order(sent, "undo zone OVERLAY", "undo firewall zone OVERLAY")
