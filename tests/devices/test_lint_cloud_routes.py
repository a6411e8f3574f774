"""A hub takes from each cloud (an AWS region, an OpenStack site) only that cloud's own ranges,
and a store from its AWS region only that region's workloads VPC: read the way a router reads
its config (each platform's lint route-filter reader), an announcement by AWS of OpenStack's
range, HQ's or a store's is refused, and the other way round. Lint `cloud-routes` finds one
shared filter for both clouds (what every hub platform rendered before) coming back."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from lint_files import broken_files, files_on_platform, rule_findings

from storestack.common.platforms import PLATFORM_NAMES, Platform
from storestack.devices.lint import ROUTE_FILTER_EXTRACTORS, ConfigFile, load_platform_rules
from storestack.devices.lint.cross import foreign_prefixes
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent

RULE = "cloud-routes"
HUB = "hq-hub1"
AWS = ipaddress.IPv4Network("10.16.0.0/18")  # eu-west-1's workloads VPC
OPENSTACK = ipaddress.IPv4Network("10.16.64.0/18")  # the OpenStack site's workloads
HQ = ipaddress.IPv4Network("10.0.0.0/16")


@dataclass(frozen=True)
class _Chain:
    platform: Platform
    fleet: Fleet  # the sample chain with every appliance on `platform`
    files: list[ConfigFile]  # its rendered files, as `devices lint` reads them


@pytest.fixture(scope="module", params=PLATFORM_NAMES)
def chain(request: pytest.FixtureRequest, fleet: Fleet) -> _Chain:
    """The sample chain on each platform in turn: a test taking it runs once per platform, with
    the platforms' lint readers loaded."""
    load_platform_rules()
    return _Chain(request.param, *files_on_platform(fleet, request.param))


def _hub_cloud_peers(fleet: Fleet) -> dict[str, str]:
    return {str(s.peer_address): s.kind for s in NetworkIntent(fleet).hub(HUB).sessions if s.kind in ("hub-aws", "hub-openstack")}


def test_a_hub_takes_from_each_cloud_only_its_own_ranges(chain: _Chain) -> None:
    filters = ROUTE_FILTER_EXTRACTORS[chain.platform](next(f for f in chain.files if f.name == f"{HUB}.cfg"))
    peers = _hub_cloud_peers(chain.fleet)
    assert sorted(peers.values()) == ["hub-aws", "hub-aws", "hub-openstack"]
    for peer, kind in peers.items():
        own, other = (AWS, OPENSTACK) if kind == "hub-aws" else (OPENSTACK, AWS)
        assert filters.refusal(peer, "in", own) is None, (peer, own)
        assert filters.refusal(peer, "in", ipaddress.IPv4Network((int(own.network_address), 24))) is None
        for hijack in (other, ipaddress.IPv4Network((int(other.network_address), 24)), HQ):
            assert filters.refusal(peer, "in", hijack) is not None, (peer, hijack)


def test_a_stores_aws_tunnels_take_only_its_regions_vpc(chain: _Chain) -> None:
    intent = NetworkIntent(chain.fleet)
    checked = 0
    for config in chain.files:
        if config.store_id is None or config.suffix:
            continue
        sessions = [s for s in intent.store(config.store_id, config.hostname).sessions if s.kind == "store-aws"]
        if not sessions:
            continue
        filters = ROUTE_FILTER_EXTRACTORS[chain.platform](config)
        for session in sessions:
            peer = str(session.peer_address)
            assert filters.refusal(peer, "in", AWS) is None
            for hijack in (OPENSTACK, HQ, ipaddress.IPv4Network("10.20.0.0/20")):
                assert filters.refusal(peer, "in", hijack) is not None, (config.name, hijack)
            checked += 1
    assert checked


def test_every_platform_is_clean(chain: _Chain) -> None:
    assert not rule_findings(chain.fleet, chain.files, RULE)


# Each cloud filter widened to the whole cloud range (10.16.0.0/14 le 24), as it was before each
# cloud had its own, per platform: (pattern, replacement). "hub": the OpenStack site's filter, as
# the one CLOUD-IN every hub had for both clouds; "store": a store's AWS-ROUTES.
_WIDENED: dict[str, dict[Platform, tuple[str, str]]] = {
    "hub": {
        "frr": (r"ip prefix-list CLOUD-IN-OPENSTACK1 seq 5 permit 10\.16\.64\.0/18 le 24", "ip prefix-list CLOUD-IN-OPENSTACK1 seq 5 permit 10.16.0.0/14 le 24"),
        "cisco_xe": (r"ip prefix-list CLOUD-IN-OPENSTACK1 seq 5 permit 10\.16\.64\.0/18 le 24", "ip prefix-list CLOUD-IN-OPENSTACK1 seq 5 permit 10.16.0.0/14 le 24"),
        "huawei_vrp": (r"ip ip-prefix CLOUD-IN-OPENSTACK1 index 5 permit 10\.16\.64\.0 18 greater-equal 18 less-equal 24", "ip ip-prefix CLOUD-IN-OPENSTACK1 index 5 permit 10.16.0.0 14 greater-equal 14 less-equal 24"),
        "fortinet": (r'(edit "CLOUD-IN-OPENSTACK1"\n\s+config rule\n\s+edit \d+\n\s+set prefix) 10\.16\.64\.0 255\.255\.192\.0', r"\1 10.16.0.0 255.252.0.0"),
    },
    "store": {
        "frr": (r"AWS-ROUTES seq 5 permit 10\.16\.0\.0/18 le 24", "AWS-ROUTES seq 5 permit 10.16.0.0/14 le 24"),
        "cisco_xe": (r"AWS-ROUTES seq 5 permit 10\.16\.0\.0/18 le 24", "AWS-ROUTES seq 5 permit 10.16.0.0/14 le 24"),
        "huawei_vrp": (r"AWS-ROUTES index 5 permit 10\.16\.0\.0 18 greater-equal 18", "AWS-ROUTES index 5 permit 10.16.0.0 14 greater-equal 14"),
        "fortinet": (r'(edit "AWS-ROUTES"\n\s+config rule\n\s+edit 1\n\s+set prefix) 10\.16\.0\.0 255\.255\.192\.0', r"\1 10.16.0.0 255.252.0.0"),
    },
}  # fmt: skip


def _widened(which: str, platform: Platform) -> Callable[[str], str]:
    """What turns a rendered config's `which` ("hub" or "store") cloud filter into the shared one."""
    pattern, replacement = _WIDENED[which][platform]
    return lambda text: re.sub(pattern, replacement, text)


def test_one_filter_shared_by_both_clouds_is_found(chain: _Chain) -> None:
    broken = broken_files(chain.files, f"{HUB}.cfg", _widened("hub", chain.platform))
    messages = [f.message for f in rule_findings(chain.fleet, broken, RULE)]
    openstack = next(peer for peer, kind in _hub_cloud_peers(chain.fleet).items() if kind == "hub-openstack")
    # the OpenStack site could draw AWS's workloads VPC from HQ and every store
    assert messages and all(f"hub-openstack session with {openstack}" in m for m in messages), messages
    assert any(f"passes {AWS}, which the intent gives to aws:eu-west-1" in m for m in messages), messages


def test_a_store_taking_the_whole_cloud_range_from_aws_is_found(chain: _Chain) -> None:
    intent = NetworkIntent(chain.fleet)
    store = next(
        f
        for f in chain.files
        if f.store_id and not f.suffix and any(s.kind == "store-aws" for s in intent.store(f.store_id, f.hostname).sessions)
    )
    broken = broken_files(chain.files, store.name, _widened("store", chain.platform))
    messages = [f.message for f in rule_findings(chain.fleet, broken, RULE)]
    assert messages and all("store-aws session" in m for m in messages), messages
    assert any(f"passes {OPENSTACK}, which the intent gives to openstack:" in m for m in messages), messages


def test_every_owner_of_a_range_is_named(fleet: Fleet) -> None:
    owners = foreign_prefixes(NetworkIntent(fleet))
    assert owners[AWS] == "aws:eu-west-1" and owners[OPENSTACK].startswith("openstack:") and owners[HQ] == "HQ"
