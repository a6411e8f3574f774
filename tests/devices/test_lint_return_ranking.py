"""The hubs' return-path lints (`frr-`, `cisco-`, `vrp-`, `fortios-return-path`) judge the
route-maps a hub binds inbound to its store sessions, read from the neighbour and peer-group
bindings, whatever they are called: a store's routes tagged degraded rank below its paths in SLA
there. A route-map that sets a local preference but is bound to a cloud session (the hub's cloud
rank, `cloud-return-path`'s business) or to no session at all ranks no store's routes."""

from __future__ import annotations

import re

import pytest
from lint_files import broken_files, files_per_platform, rule_findings

from storestack.common.platforms import PLATFORM_NAMES, Platform
from storestack.devices.lint import ConfigFile
from storestack.devices.lint.run import lint_configs
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent

RULES = {
    "frr": "frr-return-path",
    "cisco_xe": "cisco-return-path",
    "huawei_vrp": "vrp-return-path",
    "fortinet": "fortios-return-path",
}
# hq-hub2 is of cloud rank 1: its AWS route-map (CLOUD-IN-AWS1) sets local preference 90.
CLOUD_MAP, RENAMED = "CLOUD-IN-AWS1", "AWS-SITE-1"
# hq-hub1's route-map for nw-0001's wan1 ranks that store's routes; its first entry takes them
# tagged degraded.
STORE_MAP, DISGUISED = "FROM-nw-0001-wan1", "CLOUD-IN-NW1"
_TAGGED = {
    "frr": " match community RETURN-DEGRADED\n",
    "cisco_xe": " match community RETURN-DEGRADED\n",
    "huawei_vrp": " if-match community-filter RETURN-DEGRADED\n",
    "fortinet": '                set match-community "RETURN-DEGRADED"\n',
}
# How each platform binds a route-map inbound to a neighbour.
_BINDING = {
    "frr": "route-map {} in",
    "cisco_xe": "route-map {} in",
    "huawei_vrp": "route-policy {} import",
    "fortinet": 'set route-map-in "{}"',
}


@pytest.fixture(scope="module")
def per_platform(fleet: Fleet) -> dict[Platform, tuple[Fleet, list[ConfigFile]]]:
    return files_per_platform(fleet)


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_a_cloud_route_map_under_any_name_is_not_store_ranking(
    per_platform: dict[Platform, tuple[Fleet, list[ConfigFile]]], platform: Platform
) -> None:
    """The second hub's AWS route-map, renamed: still bound to the AWS sessions only, so the fleet
    lints clean (the old lint, skipping `CLOUD-IN-*` by name, took it for a store's ranking that
    takes nothing tagged degraded)."""
    fleet, files = per_platform[platform]
    renamed = broken_files(files, "hq-hub2.cfg", lambda text: text.replace(CLOUD_MAP, RENAMED))
    assert lint_configs(renamed, NetworkIntent(fleet)).findings == []


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_a_ranking_route_map_bound_to_no_session_is_not_judged(
    per_platform: dict[Platform, tuple[Fleet, list[ConfigFile]]], platform: Platform
) -> None:
    """The renamed AWS route-map, bound to nothing: it ranks no store's routes."""
    fleet, files = per_platform[platform]
    binding = re.escape(_BINDING[platform].format(RENAMED))

    def unbound(text: str) -> str:
        text = text.replace(CLOUD_MAP, RENAMED)
        assert re.search(binding, text)
        return re.sub(rf"\n[^\n]*{binding}(?=\n)", "", text)

    changed = broken_files(files, "hq-hub2.cfg", unbound)
    assert RENAMED in next(f for f in changed if f.name == "hq-hub2.cfg").text
    assert rule_findings(fleet, changed, RULES[platform]) == []


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_a_store_route_map_under_a_cloud_name_is_judged(
    per_platform: dict[Platform, tuple[Fleet, list[ConfigFile]]], platform: Platform
) -> None:
    """nw-0001 wan1's route-map on the first hub, renamed CLOUD-IN-…, no longer takes the routes
    tagged degraded: it is bound to a store session, so it is judged (the old lint skipped it by
    its name)."""
    fleet, files = per_platform[platform]

    def disguised(text: str) -> str:
        return text.replace(STORE_MAP, DISGUISED).replace(_TAGGED[platform], "", 1)

    changed = broken_files(files, "hq-hub1.cfg", disguised)
    assert [f.message for f in rule_findings(fleet, changed, RULES[platform])] == [
        f"{DISGUISED}: nothing takes the store's routes tagged degraded, so traffic back to the store stays on "
        "a path out of its SLA"
    ]
