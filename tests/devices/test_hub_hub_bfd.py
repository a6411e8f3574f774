"""BFD between the hubs on the DC LAN (`network/model.py` `SESSION_BFD`, `BgpSession.bfd_timers`).

A hub that dies is noticed by its partner hub within BFD's detection (300 ms x3), not the iBGP
hold time (9 s): until then the partner keeps the dead hub's paths to the stores and, on FRR, its
partner loopback route (flows handed over to the dead hub black-hole). Every hub platform renders
it from the intent, towards the other hubs only (the DC core is the customer's router: no BFD on
the hub-dc sessions), lets the partner's BFD control packets in on its DC port, and mixed-platform
pairs agree. Lint `hub-hub-bfd` reads both ends of each hub-hub session and names an end without
BFD, or timers that do not meet."""

from __future__ import annotations

import dataclasses
import re

import pytest
from testsupport.rendering import make_links_static

from storestack.common.platforms import HUB_NO_UPLINK_QUEUES, HUB_STATIC_PEERS_ONLY, Platform
from storestack.devices.lint import ConfigFile, Finding
from storestack.devices.lint.cross import HUB_HUB_BFD
from storestack.devices.lint.run import config_files, lint_configs
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent

HUB1, HUB2 = "10.0.0.3", "10.0.0.4"  # the sample chain's hubs' DC addresses


def hub_pair(fleet: Fleet, first: Platform, second: Platform) -> Fleet:
    """The fleet with hq-hub1 on `first`, hq-hub2 on `second`, the stores as they are (all their
    links static where either hub serves statically addressed stores only)."""
    hubs = {}
    for name, hub in fleet.hubs.items():
        platform = first if name == "hq-hub1" else second
        update: dict[str, object] = {"platform": platform}
        if platform in HUB_NO_UPLINK_QUEUES:
            update["uplink_mbps"] = None
        hubs[name] = hub.model_copy(update=update)
    result = Fleet(fleet.spec, hubs, {store.id: store for store in fleet}, fleet.root)
    return make_links_static(result) if {first, second} & set(HUB_STATIC_PEERS_ONLY) else result


PAIRS: tuple[tuple[Platform, Platform], ...] = (("frr", "cisco_xe"), ("huawei_vrp", "fortinet"))


@pytest.fixture(scope="module", params=PAIRS, ids=lambda pair: "-".join(pair))
def pair(request: pytest.FixtureRequest, fleet: Fleet) -> tuple[list[ConfigFile], NetworkIntent]:
    mixed = hub_pair(fleet, *request.param)
    return config_files(mixed), NetworkIntent(mixed)


def _hub(files: list[ConfigFile], name: str, suffix: str = "") -> ConfigFile:
    return next(f for f in files if f.hostname == name and f.suffix == suffix)


def _edit(files: list[ConfigFile], hostname: str, old: str, new: str) -> list[ConfigFile]:
    result = []
    for config in files:
        if config.hostname == hostname and not config.suffix:
            assert old in config.text, f"{old!r} is not in {config.name}"
            text = config.text.replace(old, new, 1)
            config = dataclasses.replace(config, text=text, companions={**config.companions, "": text})
        result.append(config)
    return result


def _found(files: list[ConfigFile], intent: NetworkIntent) -> list[Finding]:
    return [f for f in lint_configs(files, intent).findings if f.rule == HUB_HUB_BFD]


def test_the_intent_runs_bfd_on_hub_hub_sessions_only(fleet: Fleet) -> None:
    sessions = NetworkIntent(fleet).hub("hq-hub1").sessions
    hub = next(s for s in sessions if s.kind == "hub-hub")
    assert hub.bfd == "HUBS"
    assert hub.bfd_timers is not None
    assert (hub.bfd_timers.interval_ms, hub.bfd_timers.multiplier) == (300, 3)
    assert hub.bfd_timers.detection_ms < hub.timers.hold * 1000 / 5
    assert all(s.bfd is None and s.bfd_timers is None for s in sessions if s.kind == "hub-dc")


def _rendered(config: ConfigFile, peer: str, own: str) -> list[str]:
    """The lines that put BFD on the session with `peer` (and let its packets in)."""
    text = config.text
    if config.platform == "frr":
        return [
            f" neighbor {peer} bfd",
            f" neighbor {peer} bfd profile HUBS",
            f" peer {peer} local-address {own} interface dc\n  profile HUBS\n exit",
            " profile HUBS\n exit",
        ]
    if config.platform == "cisco_xe":
        assert re.search(rf"permit udp host {peer} host {own} eq 3784$", text, re.M), "HUB-INFRASTRUCTURE"
        return [
            f" neighbor {peer} fall-over bfd",
            f" ip address {own} 255.255.255.240\n ip access-group HUB-INFRASTRUCTURE in\n no ip redirects\n"
            " no ip proxy-arp\n bfd interval 300 min_rx 300 multiplier 3\n no bfd echo\n",
        ]
    if config.platform == "huawei_vrp":
        assert re.search(rf"permit udp source {peer} 0 destination {own} 0 destination-port eq 3784$", text, re.M)
        return [
            f" peer {peer} bfd min-tx-interval 300 min-rx-interval 300 detect-multiplier 3",
            f" peer {peer} bfd enable",
            "\nbfd\n#\n",
        ]
    assert config.platform == "fortinet"
    return [
        f'        edit "{peer}"\n            set bfd enable\n',
        f"        set ip {own} 255.255.255.240\n        set allowaccess ping\n        set bfd enable\n"
        "        set bfd-desired-min-tx 300\n        set bfd-required-min-rx 300\n        set role lan\n",
        f'        set srcaddr "DC-PEER-{peer}"\n        set dstaddr "DC-ADDRESS"\n        set action accept\n'
        '        set service "BFD"\n',
    ]


def test_every_hub_platform_renders_bfd_towards_the_other_hub(pair: tuple[list[ConfigFile], NetworkIntent]) -> None:
    files, _ = pair
    for name, peer, own in (("hq-hub1", HUB2, HUB1), ("hq-hub2", HUB1, HUB2)):
        config = _hub(files, name)
        for line in _rendered(config, peer, own):
            assert line in config.text, f"{config.name} ({config.platform}): {line!r}"


def test_frr_hub_lets_the_other_hubs_bfd_in_on_its_dc_port(fleet: Fleet) -> None:
    files = config_files(fleet)
    nftables = _hub(files, "hq-hub1", "nftables.conf").text
    assert f'iifname "dc" ip saddr {{ {HUB2} }} ip daddr {HUB1} udp dport 3784 accept' in nftables


def test_no_bfd_with_the_dc_core(pair: tuple[list[ConfigFile], NetworkIntent]) -> None:
    """The core routers' sessions register no BFD (the customer's router runs none)."""
    files, intent = pair
    routers = [str(s.peer_address) for s in intent.hub("hq-hub1").sessions if s.kind == "hub-dc"]
    for name in ("hq-hub1", "hq-hub2"):
        text = _hub(files, name).text
        for router in routers:
            assert f" neighbor {router} fall-over bfd" not in text
            assert f" neighbor {router} bfd" not in text
            assert f" peer {router} bfd enable" not in text


def test_mixed_hub_pairs_agree(pair: tuple[list[ConfigFile], NetworkIntent]) -> None:
    files, intent = pair
    assert _found(files, intent) == []


def test_an_end_without_bfd_is_found(pair: tuple[list[ConfigFile], NetworkIntent]) -> None:
    files, intent = pair
    for name, peer in (("hq-hub1", HUB2), ("hq-hub2", HUB1)):
        config = _hub(files, name)
        old, new = {
            "frr": (f" neighbor {peer} bfd\n neighbor {peer} bfd profile HUBS\n", ""),
            "cisco_xe": (f" neighbor {peer} fall-over bfd\n", ""),
            "huawei_vrp": (f" peer {peer} bfd enable\n", ""),
            "fortinet": (f'        edit "{peer}"\n            set bfd enable\n', f'        edit "{peer}"\n'),
        }[config.platform]
        found = _found(_edit(files, name, old, new), intent)
        assert [f.file for f in found] == [config.name], found
        assert f"BGP neighbour {peer} (hub-hub): no BFD" in found[0].message
        assert "the partner's BFD session never comes up" in found[0].message


def test_timers_that_differ_are_found(pair: tuple[list[ConfigFile], NetworkIntent]) -> None:
    files, intent = pair
    for name, peer in (("hq-hub1", HUB2), ("hq-hub2", HUB1)):
        config = _hub(files, name)
        old, new = {
            "frr": (" profile HUBS\n exit\n", " profile HUBS\n  detect-multiplier 5\n exit\n"),
            "cisco_xe": (" bfd interval 300 min_rx 300 multiplier 3\n", " bfd interval 500 min_rx 500 multiplier 3\n"),
            "huawei_vrp": (
                f" peer {peer} bfd min-tx-interval 300 min-rx-interval 300 detect-multiplier 3\n",
                f" peer {peer} bfd min-tx-interval 1000 min-rx-interval 1000 detect-multiplier 3\n",
            ),
            "fortinet": ("        set bfd-desired-min-tx 300\n        set bfd-required-min-rx 300\n        set role lan\n",
                         "        set bfd-desired-min-tx 300\n        set bfd-required-min-rx 300\n"
                         "        set bfd-detect-mult 6\n        set role lan\n"),
        }[config.platform]  # fmt: skip
        found = _found(_edit(files, name, old, new), intent)
        assert len(found) == 1 and "BFD timers differ between the hubs" in found[0].message, found
