"""`devices lint`: BFD agreed at both ends of every store-hub tunnel. A store tracking its hub
with BFD that the hub does not run (or the reverse) never brings the session up, and FRR's
storestack-steer then judges the path down; timers that differ give another detection time than
the SLA class's. Both ends are read through peer-groups (FRR, IOS-XE) and IOS-XE session
templates; on FortiOS, the BGP neighbour's `set bfd enable` with the tunnel interface's override or,
without one, `config system settings`."""

from __future__ import annotations

import dataclasses
import re

import pytest
from testsupport.rendering import hubs_on

from storestack.devices.lint import ConfigFile, Finding
from storestack.devices.lint.cross import BFD_MISMATCH
from storestack.devices.lint.run import config_files, lint_configs
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent


def ios_hubs(fleet: Fleet) -> Fleet:
    """The fleet with its hubs on IOS-XE (they run no BFD with stores) and its stores as is."""
    return hubs_on(fleet, "cisco_xe")


@pytest.fixture(scope="module")
def frr_hubs(fleet: Fleet) -> tuple[list[ConfigFile], NetworkIntent]:
    """The sample chain as it is: FRR hubs, stores on every platform."""
    return config_files(fleet), NetworkIntent(fleet)


@pytest.fixture(scope="module")
def fortios_hubs(fleet: Fleet) -> tuple[list[ConfigFile], NetworkIntent]:
    """FortiOS hubs (BFD with every store, on the tunnel interface's timers), stores as is."""
    mixed = hubs_on(fleet, "fortinet")
    return config_files(mixed), NetworkIntent(mixed)


@pytest.fixture(scope="module")
def cisco_hubs(fleet: Fleet) -> tuple[list[ConfigFile], NetworkIntent]:
    mixed = ios_hubs(fleet)
    return config_files(mixed), NetworkIntent(mixed)


def _edit(files: list[ConfigFile], name: str, change: re.Pattern[str] | str, new: str, count: int = 1) -> list[ConfigFile]:
    """`files` with one appliance config's text changed (`change`: a literal or a pattern)."""
    result = []
    for config in files:
        if config.name == name and not config.suffix:
            if isinstance(change, str):
                assert change in config.text, f"{change!r} is not in {name}"
                text = config.text.replace(change, new, count)
            else:
                text, made = change.subn(new, config.text, count)
                assert made, f"{change.pattern!r} is not in {name}"
            config = dataclasses.replace(config, text=text, companions={**config.companions, "": text})
        result.append(config)
    return result


def _bfd(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.rule == BFD_MISMATCH]


def test_what_storestack_renders_agrees_on_bfd(frr_hubs: tuple[list[ConfigFile], NetworkIntent],
                                               fortios_hubs: tuple[list[ConfigFile], NetworkIntent],
                                               cisco_hubs: tuple[list[ConfigFile], NetworkIntent]) -> None:  # fmt: skip
    """FRR and FortiOS hubs run BFD with every store on the store's own timers (an FRR store's SLA
    class, a vendor store's link profile); towards IOS-XE hubs no store runs any."""
    for files, intent in (frr_hubs, fortios_hubs, cisco_hubs):
        assert lint_configs(files, intent).findings == []


def test_frr_hub_peer_group_without_bfd_is_found(frr_hubs: tuple[list[ConfigFile], NetworkIntent]) -> None:
    """The hub's store peer-group loses `bfd`: every store in it that tracks the hub with BFD is
    named (the neighbour itself says nothing: it is resolved through its peer-group)."""
    files, intent = frr_hubs
    broken = _edit(files, "hq-hub1.cfg", " neighbor STORES-SLA-REALTIME bfd\n neighbor STORES-SLA-REALTIME bfd profile SLA-REALTIME\n", "")
    found = _bfd(lint_configs(broken, intent).findings)
    store_end = [f for f in found if f.file.startswith("nw-0001-edge1.") and "nw-0001-wan1-hq-hub1" in f.message]
    assert store_end and "BFD runs on the store end only, not on the hub hq-hub1:" in store_end[0].message, found
    # the hub end against the intent, too
    assert any(f.file.startswith("hq-hub1") and "does not track its peer with BFD" in f.message for f in found), found
    # only hub1's tunnels
    assert not any("hq-hub2" in f.message for f in found), found


def test_store_with_bfd_towards_an_ios_xe_hub_is_found(cisco_hubs: tuple[list[ConfigFile], NetworkIntent]) -> None:
    """An IOS-XE hub runs no BFD with stores (HUB_NO_STORE_BFD): an FRR store that tracks it with
    BFD anyway would never see the session up."""
    files, intent = cisco_hubs
    broken = _edit(
        files, "nw-0001-edge1.cfg", " neighbor 100.64.0.0 description hq-hub1 via wan1 primary\n",
        " neighbor 100.64.0.0 description hq-hub1 via wan1 primary\n neighbor 100.64.0.0 bfd\n",
    )  # fmt: skip
    found = _bfd(lint_configs(broken, intent).findings)
    messages = [f.message for f in found if f.file.startswith("nw-0001-edge1.")]
    assert any("nw-0001-wan1-hq-hub1: BFD runs on the store end only" in m for m in messages), found
    assert any("nw-0001-wan1-hq-hub1: BGP tracks its peer with BFD; the intent says no BFD" in m for m in messages), found


def test_ios_xe_hub_bfd_through_peer_group_or_session_template_is_found(
    cisco_hubs: tuple[list[ConfigFile], NetworkIntent],
) -> None:
    files, intent = cisco_hubs
    hub = next(f.text for f in files if f.name == "hq-hub1.cfg")
    # nw-0003 (an IOS-XE store: its links' profiles, WIRED and CELLULAR, name the hub's groups)
    group = re.search(r"^ neighbor 100\.64\.0\.9 peer-group (\S+)$", hub, re.M)
    lte_group = re.search(r"^ neighbor 100\.64\.255\.243 peer-group (\S+)$", hub, re.M)
    assert group and lte_group and group[1] != lte_group[1]
    # nw-0003 wan1's peer-group
    broken = _edit(files, "hq-hub1.cfg", f" neighbor {group[1]} peer-group\n",
                   f" neighbor {group[1]} peer-group\n neighbor {group[1]} fall-over bfd\n")  # fmt: skip
    found = _bfd(lint_configs(broken, intent).findings)
    assert any("nw-0003-wan1-hq-hub1: BFD runs on the hub end only" in f.message for f in found), found
    assert not any("nw-0003-lte1-hq-hub1" in f.message for f in found), found  # another group: no BFD
    # one neighbour through a session template that inherits one with `fall-over bfd`
    broken = _edit(
        files, "hq-hub1.cfg", re.compile(r"(router bgp \d+\n bgp router-id \S+\n)"),
        r"\1 template peer-session BFD\n  fall-over bfd\n exit-peer-session\n"
        r" template peer-session STORE\n  inherit peer-session BFD\n exit-peer-session\n",
    )  # fmt: skip
    broken = _edit(broken, "hq-hub1.cfg", f" neighbor 100.64.0.9 peer-group {group[1]}\n",
                   " neighbor 100.64.0.9 inherit peer-session STORE\n")  # fmt: skip
    found = _bfd(lint_configs(broken, intent).findings)
    assert [f.message.split(":")[0] for f in found if "the hub end only" in f.message] == ["tunnel nw-0003-wan1-hq-hub1"], found


def test_bfd_timers_that_differ_between_the_ends_are_found(frr_hubs: tuple[list[ConfigFile], NetworkIntent]) -> None:
    files, intent = frr_hubs
    broken = _edit(files, "hq-hub1.cfg", re.compile(r"( profile SLA-REALTIME\n  transmit-interval )200\n"), r"\g<1>300\n")
    found = _bfd(lint_configs(broken, intent).findings)
    assert any(
        f.file.startswith("nw-0001-edge1.")
        and "nw-0001-wan1-hq-hub1: BFD timers differ" in f.message
        and "store 200/200 x3, hub 300/200 x3" in f.message
        for f in found
    ), found


# nw-0006 is the sample chain's FortiOS store: its tunnel to hq-hub1 over wan1 has the hub's inside
# address 100.64.0.22 as BGP neighbour, and the tunnel interface with BFD on the link's timers.
_FORTI_STORE = "nw-0006-edge1.cfg"
_FORTI_NEIGHBOR = 'edit "100.64.0.22"\n            set bfd enable\n'


def _forti_interface(tunnel: str) -> re.Pattern[str]:
    """A FortiOS store's tunnel interface BFD override (groups: the lines before the timers, tx,
    rx, the multiplier's line, absent at FortiOS's default 3, and the rest up to the tunnel's
    description)."""
    return re.compile(
        r"(        set bfd enable\n        set bfd-desired-min-tx )(\d+)(\n        set bfd-required-min-rx )(\d+)"
        rf"((?:\n        set bfd-detect-mult \d+)?)(\n        set description \"ipsec {tunnel} )"
    )


def test_fortios_store_neighbour_without_bfd_is_found(frr_hubs: tuple[list[ConfigFile], NetworkIntent]) -> None:
    """The FortiOS store's BGP neighbour loses `set bfd enable` while its FRR hub keeps BFD: the
    tunnel interface still says `set bfd enable`, but BGP asks for no session."""
    files, intent = frr_hubs
    broken = _edit(files, _FORTI_STORE, _FORTI_NEIGHBOR, 'edit "100.64.0.22"\n')
    found = _bfd(lint_configs(broken, intent).findings)
    store_end = [f for f in found if f.file == _FORTI_STORE and "nw-0006-wan1-hq-hub1" in f.message]
    assert any("BFD runs on the hub end only, not on the store nw-0006-edge1:" in f.message for f in store_end), found
    assert any("does not track its peer with BFD; the intent says BFD profile" in f.message for f in store_end), found
    assert not any("nw-0006-wan1-hq-hub2" in f.message or "nw-0006-lte1" in f.message for f in found), found


def test_fortios_store_interface_timers_that_differ_from_the_hub_are_found(
    frr_hubs: tuple[list[ConfigFile], NetworkIntent],
) -> None:
    files, intent = frr_hubs
    broken = _edit(files, _FORTI_STORE, _forti_interface("nw-0006-wan1-hq-hub1"), r"\g<1>300\3\4\5\6")
    found = _bfd(lint_configs(broken, intent).findings)
    assert [f.message.split(" (")[0] for f in found] == ["tunnel nw-0006-wan1-hq-hub1: BFD timers differ between the ends"], found
    assert "store 300/200 x3, hub 200/200 x3" in found[0].message


def test_fortios_interface_without_its_override_runs_the_vdom_settings(
    frr_hubs: tuple[list[ConfigFile], NetworkIntent],
) -> None:
    """Without its own `set bfd enable` (`bfd global`, FortiOS's default) the tunnel interface
    runs `config system settings`'s timers; `set bfd disable` turns BFD off on it whatever the
    neighbour asks."""
    files, intent = frr_hubs
    lte = _forti_interface("nw-0006-lte1-hq-hub1")
    # the LTE link's 500 ms x5 override removed: the VDOM's 200 ms x3 runs against the hub's 500 x5
    inherited = _edit(files, _FORTI_STORE, lte, r"\6")
    found = _bfd(lint_configs(inherited, intent).findings)
    assert [f.message.split(" (")[0] for f in found] == ["tunnel nw-0006-lte1-hq-hub1: BFD timers differ between the ends"], found
    assert "store 200/200 x3, hub 500/500 x5" in found[0].message
    # the VDOM's own timers set to the link's: the same interface agrees again
    vdom = re.compile(
        r"(config system settings\n    set bfd enable\n    set bfd-desired-min-tx )200(\n    set bfd-required-min-rx )200\n"
    )
    settings_500 = _edit(inherited, _FORTI_STORE, vdom, r"\g<1>500\g<2>500\n    set bfd-detect-mult 5\n")
    found = _bfd(lint_configs(settings_500, intent).findings)
    # ... while the wired tunnels, which override with 200 ms x3, keep their own timers
    assert found == [], found
    disabled = _edit(files, _FORTI_STORE, lte, r"        set bfd disable\6")
    found = _bfd(lint_configs(disabled, intent).findings)
    assert any("nw-0006-lte1-hq-hub1: BFD runs on the hub end only" in f.message for f in found), found


def test_fortios_hub_without_bfd_or_with_other_timers_is_found(
    fortios_hubs: tuple[list[ConfigFile], NetworkIntent],
) -> None:
    """A FortiOS hub's end of nw-0001's (FRR store) wan1 tunnel: its neighbour without
    `set bfd enable`, then its tunnel interface on other timers."""
    files, intent = fortios_hubs
    no_bfd = _edit(files, "hq-hub1.cfg", 'edit "100.64.0.1"\n            set bfd enable\n', 'edit "100.64.0.1"\n')
    found = _bfd(lint_configs(no_bfd, intent).findings)
    store_end = [f for f in found if "nw-0001-wan1-hq-hub1" in f.message]
    assert any(
        f.file.startswith("nw-0001-edge1.") and "BFD runs on the store end only, not on the hub hq-hub1:" in f.message
        for f in store_end
    ), found
    assert any(f.file == "hq-hub1.cfg" and "does not track its peer with BFD" in f.message for f in store_end), found
    assert not any("hq-hub2" in f.message or "lte1" in f.message for f in found), found
    hub_interface = re.compile(
        r"(    edit \"nw-0001-wan1\"\n(?:        set (?!bfd)[^\n]*\n)*        set bfd enable\n        set bfd-desired-min-tx )200\n"
    )
    slower = _edit(files, "hq-hub1.cfg", hub_interface, r"\g<1>1000\n")
    found = _bfd(lint_configs(slower, intent).findings)
    assert [f.message.split(" (")[0] for f in found] == ["tunnel nw-0001-wan1-hq-hub1: BFD timers differ between the ends"], found
    assert "store 200/200 x3, hub 1000/200 x3" in found[0].message


def _sessions(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.rule == "frr-bfd-session"]


def test_an_frr_hub_without_its_configured_bfd_sessions_is_found(frr_hubs: tuple[list[ConfigFile], NetworkIntent]) -> None:
    """A hub whose store sessions bgpd alone registers: bfdd frees each one when bgpd registers it
    again as BGP comes up, and the store's end goes down with it. Each store link is named."""
    files, intent = frr_hubs
    hub = next(config for config in files if config.name == "hq-hub1.cfg")
    block = re.compile(r"^ peer \S+ local-address \S+ interface nw-\S+\n  profile \S+\n exit\n", re.M)
    count = len(block.findall(hub.text))
    assert count >= 10, hub.text
    found = _sessions(lint_configs(_edit(files, "hq-hub1.cfg", block, "", count=0), intent).findings)
    assert len(found) == count and all(f.file == "hq-hub1.cfg" for f in found), found
    assert "BGP tracks 100.64.0.1 on nw-0001-wan1 with BFD" in " ".join(f.message for f in found), found


def test_an_frr_store_session_on_another_interface_is_found(frr_hubs: tuple[list[ConfigFile], NetworkIntent]) -> None:
    """A store's configured session on the wrong tunnel is not the one bgpd registers."""
    files, intent = frr_hubs
    broken = _edit(files, "nw-0001-edge1.cfg", re.compile(r"(local-address \S+ interface )xfrm1$", re.M), r"\1xfrm2")
    found = _sessions(lint_configs(broken, intent).findings)
    assert [f.file for f in found] == ["nw-0001-edge1.cfg"], found
    assert "interface xfrm1" in found[0].message, found
