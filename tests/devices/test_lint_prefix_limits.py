"""`devices lint` `prefix-limit`: what each end of a store-hub session announces stays under the
prefix limit the other end's config gives it (IOS-XE and FRR `maximum-prefix`, VRP `route-limit`,
FortiOS `maximum-prefix`). Over it the receiver closes the session: a store whose hub limit is
below what the hubs announce loses every hub, a hub whose store limit is below what a store
announces drops that store. Clean on the sample chain (FRR hubs, then each vendor hub) and on a
generated 200-store fleet; each platform's limit, lowered, is found. A store's own AWS sessions
carry the limit the intent sizes from what the store's AWS filter passes: missing, or below that,
it is found on every platform."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from lint_files import broken_files, rule_findings
from testsupport.rendering import on_platform

from storestack.common.platforms import HUB_STATIC_PEERS_ONLY
from storestack.devices.lint import ConfigFile
from storestack.devices.lint.cross import cross_check
from storestack.devices.lint.run import config_files
from storestack.inventory import Fleet, load_fleet
from storestack.inventory.generate import generate_fleet, write_fleet
from storestack.network.build import NetworkIntent
from storestack.network.model import BgpSession

RULE = "prefix-limit"


def _found(fleet: Fleet, files: list[ConfigFile], name: str, change: Callable[[str], str]) -> list[str]:
    return [f"{f.file}:{f.line}:{f.message}" for f in rule_findings(fleet, broken_files(files, name, change), RULE)]


def _lowered(pattern: str, to: str) -> Callable[[str], str]:
    return lambda text: re.sub(pattern, to, text)


@pytest.fixture(scope="module")
def rendered(fleet: Fleet) -> list[ConfigFile]:
    return config_files(fleet)


def test_the_sample_chain_announces_under_every_limit(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    assert not rule_findings(fleet, rendered, RULE)


@pytest.mark.parametrize(
    ("store", "pattern"),
    [
        ("nw-0001-edge1.cfg", r"maximum-prefix 20 restart 5"),  # FRR
        ("nw-0003-edge1.cfg", r"maximum-prefix 20 restart 5"),  # IOS-XE
        ("nw-0005-edge1.cfg", r"route-limit 20 idle-timeout 5"),  # VRP
        ("nw-0006-edge1.cfg", r"set maximum-prefix 20\b"),  # FortiOS
    ],
)
def test_a_store_limit_below_what_its_hubs_announce_is_found(
    fleet: Fleet, rendered: list[ConfigFile], store: str, pattern: str
) -> None:
    lowered = pattern.replace("20", "4").replace(r"\b", "")
    findings = _found(fleet, rendered, store, _lowered(pattern, lowered))
    tunnels = [s for s in NetworkIntent(fleet).store(store.removesuffix("-edge1.cfg")).sessions if s.kind == "store-hub"]
    assert len(findings) == len(tunnels) >= 4  # every hub tunnel of every link
    assert all(m.startswith(f"{store}:") and "the hub announces" in m and "more than the 4 the store takes" in m for m in findings)
    assert all(int(m.split(":")[1]) > 0 for m in findings)  # at the limit's own line


def test_an_frr_hub_limit_below_what_a_store_announces_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    # every store link of the hub's peer groups: the group's limit is every member's
    findings = _found(fleet, rendered, "hq-hub1.cfg", _lowered(r"(STORES-\S+) maximum-prefix 20 restart 5", r"\1 maximum-prefix 3 restart 5"))
    intent = NetworkIntent(fleet)
    links = [s for s in intent.hub("hq-hub1").sessions if s.kind == "store-hub"]
    assert len(findings) == len(links) and all("the store announces" in m and "more than the 3 the hub takes" in m for m in findings)


@pytest.mark.parametrize(
    ("platform", "pattern", "lowered"),
    [
        ("cisco_xe", r"(STORES-\S+) maximum-prefix 20 restart 5", r"\1 maximum-prefix 3 restart 5"),
        ("huawei_vrp", r"(STORES-\S+) route-limit 20 idle-timeout 5", r"\1 route-limit 3 idle-timeout 5"),
        ("fortinet", r"set maximum-prefix 20\n", "set maximum-prefix 3\n"),
    ],
)
def test_a_vendor_hub_limit_below_what_a_store_announces_is_found(fleet: Fleet, platform: str, pattern: str, lowered: str) -> None:
    hubs = on_platform(fleet, None, hubs=platform)  # type: ignore[arg-type]
    files = config_files(hubs)
    assert not rule_findings(hubs, files, RULE)
    findings = _found(hubs, files, "hq-hub1.cfg", _lowered(pattern, lowered))
    links = [s for s in NetworkIntent(hubs).hub("hq-hub1").sessions if s.kind == "store-hub"]
    assert len(findings) == len(links)
    assert all(m.startswith("hq-hub1.cfg:") and "more than the 3 the hub takes" in m for m in findings)


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        ("nw-0003-edge1.cfg", r"  neighbor 100\.64\.0\.8 maximum-prefix 20 restart 5\n"),  # IOS-XE store, one hub tunnel
        ("nw-0005-edge1.cfg", r"  peer 100\.64\.0\.18 route-limit 20 idle-timeout 5\n"),  # VRP store, one hub tunnel
        ("hq-hub1.cfg", r"  neighbor STORES-\S+ maximum-prefix 20 restart 5\n"),  # FRR hub, every store link
    ],
)
def test_a_limit_the_intent_has_and_the_config_lacks_is_found(
    fleet: Fleet, rendered: list[ConfigFile], name: str, pattern: str
) -> None:
    findings = _found(fleet, rendered, name, _lowered(pattern, ""))
    assert findings and all(m.startswith(f"{name}:0:") and "takes any number of prefixes from" in m for m in findings)
    if name == "hq-hub1.cfg":
        assert len(findings) == len([s for s in NetworkIntent(fleet).hub("hq-hub1").sessions if s.kind == "store-hub"])
    else:
        assert len(findings) == 1


def test_a_generated_fleet_is_clean_and_a_hub_limit_its_stores_outgrew_is_found(tmp_path: Path) -> None:
    write_fleet(generate_fleet(200, seed=5), tmp_path / "fleet")
    fleet = load_fleet(tmp_path / "fleet")
    intent = NetworkIntent(fleet)
    files = config_files(fleet)
    assert not [f for f in cross_check(files, intent) if f.rule == RULE]
    # the hubs' store limit lowered below the largest store's announcement
    largest = max(
        len(s.announces)
        for store in fleet
        if store.state != "decommissioned"
        for s in intent.store(store.id).sessions
        if s.kind == "store-hub"
    )
    broken = broken_files(files, "hq-hub1.cfg", _lowered(r"(STORES-\S+) maximum-prefix 20 ", rf"\1 maximum-prefix {largest - 1} "))
    found = [f for f in cross_check(broken, intent) if f.rule == RULE]
    assert found and all(f.file == "hq-hub1.cfg" and f"the store announces {largest} prefixes" in f.message for f in found)


# A store's own AWS sessions, per platform: the AWS store nw-0001 on it (its hubs as its golden
# files have them), and the line(s) that give each AWS neighbour its limit.
AWS_LIMITS = {
    "frr": r"  neighbor 169\.254\.\S+ maximum-prefix {n} restart 5\n",
    "cisco_xe": r"  neighbor 169\.254\.\S+ maximum-prefix {n} restart 5\n",
    "huawei_vrp": r"  peer 169\.254\.\S+ route-limit {n} idle-timeout 5\n",
    "fortinet": r"            set maximum-prefix {n}\n            set maximum-prefix-warning-only enable\n",
}


@pytest.fixture(scope="module", params=sorted(AWS_LIMITS))
def aws_store(request: pytest.FixtureRequest, fleet: Fleet) -> tuple[str, Fleet, list[ConfigFile]]:
    platform = request.param
    on = on_platform(fleet, platform, hubs="frr" if platform in HUB_STATIC_PEERS_ONLY else None)  # type: ignore[arg-type]
    # nw-0001 alone on the platform: the other stores' shapes may not fit it (VRP redirects guest
    # Wi-Fi only to a static gateway), and its AWS sessions are all this reads
    moved = Fleet(on.spec, on.hubs, {"nw-0001": on.stores["nw-0001"]}, on.root)
    return platform, moved, config_files(moved)


def _aws_sessions(fleet: Fleet) -> list[BgpSession]:
    return [s for s in NetworkIntent(fleet).store("nw-0001").sessions if s.kind == "store-aws"]


def test_a_store_s_aws_sessions_are_limited_and_clean(aws_store: tuple[str, Fleet, list[ConfigFile]]) -> None:
    platform, fleet, files = aws_store
    sessions = _aws_sessions(fleet)
    assert sessions and all(s.prefix_limit is not None for s in sessions)
    limit = sessions[0].prefix_limit
    assert limit is not None
    text = next(f for f in files if f.name == "nw-0001-edge1.cfg").text
    assert len(re.findall(AWS_LIMITS[platform].format(n=limit.maximum), text)) == len(sessions)
    assert not [f for f in rule_findings(fleet, files, RULE) if f.file == "nw-0001-edge1.cfg"]


def test_an_aws_session_without_its_limit_is_found(aws_store: tuple[str, Fleet, list[ConfigFile]]) -> None:
    platform, fleet, files = aws_store
    sessions = _aws_sessions(fleet)
    limit = sessions[0].prefix_limit
    assert limit is not None
    findings = _found(fleet, files, "nw-0001-edge1.cfg", _lowered(AWS_LIMITS[platform].format(n=limit.maximum), ""))
    assert len(findings) == len(sessions)
    peers = {str(s.peer_address) for s in sessions}
    assert all(m.startswith("nw-0001-edge1.cfg:0:") and "the store takes any number of prefixes from" in m for m in findings)
    assert {m.split(" from ")[1].split(",")[0] for m in findings} == peers


def test_an_aws_limit_below_what_the_store_s_aws_filter_passes_is_found(aws_store: tuple[str, Fleet, list[ConfigFile]]) -> None:
    platform, fleet, files = aws_store
    sessions = _aws_sessions(fleet)
    limit = sessions[0].prefix_limit
    assert limit is not None
    pattern, maximum = AWS_LIMITS[platform].format(n=limit.maximum), str(limit.maximum)
    # the limit's number only, never the same digits in the neighbour's 169.254 address
    def lowered(text: str) -> str:
        return re.sub(pattern, lambda m: re.sub(rf"(maximum-prefix|route-limit) {maximum}\b", r"\1 100", m[0]), text)

    findings = _found(fleet, files, "nw-0001-edge1.cfg", lowered)
    assert len(findings) == len(sessions)
    assert all(f"AWS may announce {limit.allowed} prefixes" in m and "more than the 100 the store takes" in m for m in findings)
    assert all(int(m.split(":")[1]) > 0 for m in findings)  # at the limit's own line
