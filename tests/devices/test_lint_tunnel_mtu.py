"""Lint `tunnel-mtu`: each tunnel's MTU, with the fleet's ESP-in-UDP overhead, fits the MTU of
the transport it rides on, both ends of a store link agree, and the MSS clamp fits the MTU. Each
platform's config is broken the way the old fixed values broke an LTE link: a 1400-byte tunnel
over a carrier's 1428 (1400 + 65 = 1465), or an MSS clamp a full-size segment does not fit."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from lint_files import broken_files, files_on_platform, rule_findings

from storestack.common.platforms import Platform
from storestack.devices.lint import ConfigFile
from storestack.inventory import Fleet

RULE = "tunnel-mtu"
# nw-0002: fiber (tunnels 1432 / MSS 1392) and LTE (1360 / 1320)
STORE = "nw-0002"
LTE_TUNNEL = "nw-0002-lte1-hq-hub2"


@pytest.fixture(scope="module", params=["cisco_xe", "huawei_vrp", "fortinet", "frr"])
def chain(request: pytest.FixtureRequest, fleet: Fleet) -> tuple[Platform, Fleet, list[ConfigFile]]:
    platform: Platform = request.param
    changed, files = files_on_platform(fleet, platform)
    return platform, changed, files


def _once(old: str, new: str) -> Callable[[str], str]:
    def change(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    return change


# What each platform spells for the LTE link's tunnel, and the same with the old fixed MTU or a
# fleet MSS too large for LTE, in the store's file and (the hub's end of the same link) the hub's.
BREAKS: dict[Platform, tuple[tuple[str, str, str], ...]] = {
    "cisco_xe": (
        (f"{STORE}-edge1.cfg", " ip mtu 1360\n", " ip mtu 1400\n"),
        (f"{STORE}-edge1.cfg", " ip tcp adjust-mss 1320\n", " ip tcp adjust-mss 1360\n"),
        ("hq-hub2.cfg", ' attribute type interface-config "ip mtu 1360"\n', ' attribute type interface-config "ip mtu 1400"\n'),
    ),
    "huawei_vrp": (
        (f"{STORE}-edge1.cfg", " mtu 1360\n", " mtu 1400\n"),
        (f"{STORE}-edge1.cfg", " tcp adjust-mss 1320\n", " tcp adjust-mss 1360\n"),
        ("hq-hub2.cfg", " mtu 1360\n", " mtu 1400\n"),
    ),
    "fortinet": (
        (f"{STORE}-edge1.cfg", "        set tcp-mss 1320\n", "        set tcp-mss 1360\n"),
        ("hq-hub2.cfg", "        set tcp-mss 1320\n", "        set tcp-mss 1360\n"),
    ),
    "frr": (
        (f"{STORE}-edge1.routing", " mtu 1360 up\n", " mtu 1400 up\n"),
        ("hq-hub2.routing", " mtu 1360 up\n", " mtu 1400 up\n"),
    ),
}


def test_the_rendered_chain_has_no_findings(chain: tuple[Platform, Fleet, list[ConfigFile]]) -> None:
    _, fleet, files = chain
    assert not rule_findings(fleet, files, RULE)


def test_an_lte_tunnel_sized_for_a_wired_link_is_found(chain: tuple[Platform, Fleet, list[ConfigFile]]) -> None:
    platform, fleet, files = chain
    for name, old, new in BREAKS[platform]:
        findings = rule_findings(fleet, broken_files(files, name, _once(old, new)), RULE)
        messages = [f"{f.file}: {f.message}" for f in findings]
        assert messages, (platform, name, new)
        # the end that was broken says why against its transport or its MSS ...
        if "mtu 1400" in new:
            assert any("1400 + 65 bytes of ESP in UDP = 1465 exceeds its transport's MTU of 1428" in m for m in messages), messages
        else:
            assert any("MSS of 1360, more than its MTU less 40 (1320)" in m for m in messages), messages
        # ... and the store link's two ends no longer agree
        assert any("the ends disagree" in m for m in messages), messages


def test_a_tunnel_without_a_clamp_is_found(chain: tuple[Platform, Fleet, list[ConfigFile]]) -> None:
    """No `ip mtu` / `tcp adjust-mss` / `tcp-mss` on the store's LTE tunnel (FRR: no clamp rule
    in the forward chain): the platform's default MTU, and TCP left to PMTUD."""
    platform, fleet, files = chain
    name, old = {
        "cisco_xe": (f"{STORE}-edge1.cfg", " ip tcp adjust-mss 1320\n"),
        "huawei_vrp": (f"{STORE}-edge1.cfg", " tcp adjust-mss 1320\n"),
        "fortinet": (f"{STORE}-edge1.cfg", "        set tcp-mss 1320\n"),
        "frr": (f"{STORE}-edge1.nftables.conf", "        tcp flags syn tcp option maxseg size set rt mtu\n"),
    }[platform]
    findings = rule_findings(fleet, broken_files(files, name, _once(old, "")), RULE)
    assert any("clamps no TCP MSS; the intent says 1320" in f.message for f in findings), [f.message for f in findings]


def test_a_fortios_lte_port_left_at_1500_is_found(fleet: Fleet) -> None:
    """FortiOS sizes the ESP of what it forwards into a tunnel from the path MTU, which starts at
    the phase 1's port (Fortinet KB 193388): the store's LTE port without the carrier's 1428
    sends UDP and ICMP that fit the 1360-byte tunnel out larger than the carrier carries, though
    every `tcp-mss` is right. Both tunnels over that port (to each hub) say so; none over fibre."""
    fleet, files = files_on_platform(fleet, "fortinet")
    broken = broken_files(files, f"{STORE}-edge1.cfg", _once("        set mtu-override enable\n        set mtu 1428\n", ""))
    messages = [f.message for f in rule_findings(fleet, broken, RULE)]
    assert messages and all(
        "its port's MTU is 1500, its transport's 1428, and the ESP of forwarded traffic is sized from the port's" in m
        for m in messages
    ), messages
    assert any(LTE_TUNNEL in m for m in messages) and not any("fiber" in m for m in messages), messages
