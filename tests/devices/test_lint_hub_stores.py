"""`hub-stores-conditional`: a hub with a beacon passes its stores' routes (`HubBeacon.stores`: the
store block and everything inside it, each served store's loopback) to the other hub only while
the beacon's condition holds. Without it, a hub that lost the DC core stays the other hub's, and
so the DC's, way back to its stores while they send through the other hub, and its stateful
firewall drops HQ's answers. Also: the route-maps a conditional advertisement names are checked
like every other reference (FortiOS `config conditional-advertise`, FRR `advertise-map`)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from lint_files import broken_files, rule_findings
from testsupport.rendering import on_platform

from storestack.devices.lint import ADVERTISEMENT_EXTRACTORS, ConfigFile, load_platform_rules
from storestack.devices.lint.run import config_files, lint_configs
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent

RULE = "hub-stores-conditional"
PLATFORMS = ("frr", "cisco_xe", "fortinet")
HUB = "hq-hub1.cfg"


@pytest.fixture(scope="module")
def served(fleet: Fleet) -> Callable[[str], tuple[Fleet, list[ConfigFile]]]:
    """The sample chain with its hubs on a platform (its stores as they are), and its files."""
    cache: dict[str, tuple[Fleet, list[ConfigFile]]] = {}

    def on(platform: str) -> tuple[Fleet, list[ConfigFile]]:
        if platform not in cache:
            hubs = fleet if platform == "frr" else on_platform(fleet, None, hubs=platform)
            cache[platform] = (hubs, config_files(hubs))
        return cache[platform]

    return on


def _other_hub(fleet: Fleet) -> str:
    (address,) = [str(s.peer_address) for s in NetworkIntent(fleet).hub("hq-hub1").sessions if s.kind == "hub-hub"]
    return address


def _loopback(fleet: Fleet) -> str:
    """A served store's loopback that HUB-STORES holds back (the last one)."""
    beacon = NetworkIntent(fleet).hub("hq-hub1").beacon
    assert beacon is not None and beacon.stores[-1].prefixlen == 32
    return str(beacon.stores[-1].network_address)


def _without_conditional(platform: str, peer: str) -> Callable[[str], str]:
    if platform == "fortinet":
        block = (
            '            config conditional-advertise\n                edit "HUB-STORES"\n'
            '                    set condition-routemap "BEACON-CONDITION"\n'
            "                next\n            end\n"
        )
        return lambda text: text.replace(block, "", 1)
    return lambda text: text.replace(f"  neighbor {peer} advertise-map HUB-STORES exist-map BEACON-CONDITION\n", "", 1)


def _in_fortios_hub_stores(text: str, change: Callable[[str], str]) -> str:
    """`change` applied to the rules of FortiOS's prefix list HUB-STORES only."""
    start = text.index('    edit "HUB-STORES"\n        config rule\n')
    end = text.index("        end\n    next\n", start)
    return text[:start] + change(text[start:end]) + text[end:]


def _without_loopback(platform: str, loopback: str) -> Callable[[str], str]:
    if platform == "fortinet":
        rule = rf"            edit \d+\n                set prefix {re.escape(loopback)} 255\.255\.255\.255\n(?:                .*\n)*?            next\n"
        return lambda text: _in_fortios_hub_stores(text, lambda rules: re.sub(rule, "", rules, count=1))
    line = rf"^ip prefix-list HUB-STORES seq \d+ permit {re.escape(loopback)}/32\n"
    return lambda text: re.sub(line, "", text, count=1, flags=re.M)


def _block_exact(platform: str) -> Callable[[str], str]:
    """HUB-STORES takes the store block itself, not the routes inside it."""
    if platform == "fortinet":
        return lambda text: _in_fortios_hub_stores(text, lambda rules: rules.replace("                set le 32\n", "                unset le\n", 1))
    return lambda text: re.sub(r"^(ip prefix-list HUB-STORES seq \d+ permit \S+) le 32$", r"\1", text, count=1, flags=re.M)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_rendered_hubs_hold_their_stores_routes_back_on_the_beacons_condition(
    served: Callable[[str], tuple[Fleet, list[ConfigFile]]], platform: str
) -> None:
    fleet, files = served(platform)
    hub = NetworkIntent(fleet).hub("hq-hub1")
    assert hub.beacon is not None and hub.beacon.stores
    # The rule reads the hub's conditional advertisement towards the other hub...
    load_platform_rules()
    facts = ADVERTISEMENT_EXTRACTORS[platform](next(f for f in files if f.name == HUB))
    assert [(c.advertise, c.conditions, c.exist) for c in facts.conditionals if c.neighbor == _other_hub(fleet)] == [
        ("HUB-STORES", ("BEACON-CONDITION",), True)
    ]
    # ...and finds it, and HUB-STORES, as the intent wants them.
    assert rule_findings(fleet, files, RULE) == []


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_hub_passing_its_stores_routes_to_the_other_hub_unconditionally_is_found(
    served: Callable[[str], tuple[Fleet, list[ConfigFile]]], platform: str
) -> None:
    fleet, files = served(platform)
    peer = _other_hub(fleet)
    findings = rule_findings(fleet, broken_files(files, HUB, _without_conditional(platform, peer)), RULE)
    assert [(f.file, f"neighbour {peer} (hq-hub2)" in f.message, "unconditionally" in f.message) for f in findings] == [
        (HUB, True, True)
    ]
    hub = next(f for f in files if f.name == HUB)
    assert findings[0].line > 0 and peer in hub.lines[findings[0].line - 1]


@pytest.mark.parametrize("platform", ["frr", "fortinet"])
def test_a_hub_passing_its_stores_routes_on_another_condition_is_found(
    served: Callable[[str], tuple[Fleet, list[ConfigFile]]], platform: str
) -> None:
    # Only while the beacon's condition holds: not while it does not, nor on the beacon itself.
    fleet, files = served(platform)
    if platform == "fortinet":
        head = '                edit "HUB-STORES"\n                    set condition-routemap '
        changes = [
            lambda t: t.replace(head + '"BEACON-CONDITION"', head + '"BEACON"', 1),
            # `condition-type exist` is FortiOS's default, left out: a `non-exist` line turns it round.
            lambda t: t.replace(head + '"BEACON-CONDITION"', head + '"BEACON-CONDITION"\n                    set condition-type non-exist', 1),
        ]
    else:
        changes = [
            lambda t: t.replace("advertise-map HUB-STORES exist-map BEACON-CONDITION", "advertise-map HUB-STORES exist-map BEACON", 1),
            lambda t: t.replace("advertise-map HUB-STORES exist-map BEACON-CONDITION", "advertise-map HUB-STORES non-exist-map BEACON-CONDITION", 1),
        ]
    for change in changes:
        findings = rule_findings(fleet, broken_files(files, HUB, change), RULE)
        assert [(f.file, "not while BEACON-CONDITION does" in f.message) for f in findings] == [(HUB, True)]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_hub_stores_missing_a_store_loopback_is_found(
    served: Callable[[str], tuple[Fleet, list[ConfigFile]]], platform: str
) -> None:
    fleet, files = served(platform)
    loopback = _loopback(fleet)
    findings = rule_findings(fleet, broken_files(files, HUB, _without_loopback(platform, loopback)), RULE)
    assert [(f.file, f"loopback {loopback}/32" in f.message) for f in findings] == [(HUB, True)]
    assert findings[0].line > 0


@pytest.mark.parametrize("platform", PLATFORMS)
def test_hub_stores_taking_the_store_block_but_not_the_routes_inside_it_is_found(
    served: Callable[[str], tuple[Fleet, list[ConfigFile]]], platform: str
) -> None:
    fleet, files = served(platform)
    block = fleet.spec.ip_plan.stores
    findings = rule_findings(fleet, broken_files(files, HUB, _block_exact(platform)), RULE)
    assert [(f.file, f"store block {block} le 32" in f.message) for f in findings] == [(HUB, True)]


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        # The hub-hub neighbour's advertised route-map, a store neighbour's condition, and the
        # beacon a store neighbour is given.
        ('                edit "HUB-STORES"\n', '                edit "HUB-STORE"\n', "HUB-STORE"),
        ('set condition-routemap "BEACON-CONDITION"', 'set condition-routemap "BEACON-CONDITON"', "BEACON-CONDITON"),
        ('                edit "BEACON"\n', '                edit "BEACONS"\n', "BEACONS"),
    ],
)
def test_fortios_conditional_advertisement_naming_an_undefined_route_map_is_found(
    served: Callable[[str], tuple[Fleet, list[ConfigFile]]], old: str, new: str, named: str
) -> None:
    fleet, files = served("fortinet")
    broken = broken_files(files, HUB, lambda t: t.replace(old, new, 1))
    undefined = [f for f in lint_configs(broken, NetworkIntent(fleet)).findings if f.rule == "fortios-undefined-reference"]
    assert [(f.file, f.message) for f in undefined] == [(HUB, f"route-map {named!r} is referenced but not defined")]
    hub = next(f for f in broken if f.name == HUB)
    assert f'"{named}"' in hub.lines[undefined[0].line - 1]  # the line that names it


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("advertise-map HUB-STORES exist-map BEACON-CONDITION", "advertise-map HUB-STORES exist-map BEACON-CONDITON"),
        ("advertise-map BEACON exist-map BEACON-CONDITION", "advertise-map BEACONS exist-map BEACON-CONDITION"),
    ],
)
def test_frr_advertise_map_naming_an_undefined_route_map_is_found(
    served: Callable[[str], tuple[Fleet, list[ConfigFile]]], old: str, new: str
) -> None:
    fleet, files = served("frr")
    findings = lint_configs(broken_files(files, HUB, lambda t: t.replace(old, new, 1)), NetworkIntent(fleet)).findings
    undefined = [(f.file, f.message) for f in findings if f.rule == "undefined-reference"]
    misspelt = next(word for word in new.split() if word not in old.split())
    assert undefined == [(HUB, f"route-map {misspelt} is used but never defined")]
