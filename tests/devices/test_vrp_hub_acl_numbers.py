"""A VRP hub's advanced ACLs never share a number: an AR takes two `acl name` lines of one number
as one ACL (or refuses the second), so a cloud site's FROM-CLOUD filter numbered into WAN-ECHO,
FROM-STORES or HUB-WAN-IN would police or filter with the wrong rules. The per-site filters are
numbered around the fixed ones (`hub_cloud_filter_numbers`), the sample chain keeps its numbers,
and a hub whose sites would run out of the advanced range is refused by name."""

from __future__ import annotations

import collections
import re

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.platforms.huawei_vrp import (
    HUB_FIXED_ACLS,
    HUB_REBUILD_NUMBERS,
    hub_cloud_filter_numbers,
)
from storestack.devices.render import render_hub, render_store
from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.network.errors import NetworkIntentError

HUB = "hq-hub1"


def _with_cloud_sites(fleet: Fleet, count: int) -> Fleet:
    """The sample chain with `count` cloud sites: its AWS region and OpenStack site, then more
    OpenStack sites like its own."""
    sites = fleet.spec.sites
    regions = sum(len(account.regions) for account in sites.aws)
    first = sites.openstack[0]
    extra = [first.model_copy(update={"name": f"site{n:02d}"}) for n in range(count - regions - 1)]
    spec = fleet.spec.model_copy(update={"sites": sites.model_copy(update={"openstack": [first, *extra]})})
    return Fleet(spec, fleet.hubs, {store.id: store for store in fleet}, fleet.root)


def test_the_cloud_filters_are_numbered_around_the_fixed_acls() -> None:
    assert hub_cloud_filter_numbers(HUB, 2) == [3080, 3081]  # the sample chain's, unchanged
    numbers = hub_cloud_filter_numbers(HUB, 16)
    fixed = {number for _, number in HUB_FIXED_ACLS}
    assert len(set(numbers)) == 16 and not fixed & set(numbers)
    assert all(3000 <= number <= 3999 for number in numbers)
    assert numbers[-2:] == [3094, 3096]  # WAN-ECHO's 3095 skipped


def test_a_hub_whose_sites_run_out_of_advanced_acl_numbers_is_refused() -> None:
    # every advanced number from 3080 up but the fixed ACLs' and the top kept for rebuilds
    spare = range(HUB_REBUILD_NUMBERS[0], HUB_REBUILD_NUMBERS[1] + 1)
    assert spare and spare[-1] == 3999
    free = 3999 - 3080 + 1 - len(HUB_FIXED_ACLS) - len(spare)
    assert len(numbers := hub_cloud_filter_numbers(HUB, free)) == free
    assert not set(numbers) & set(spare)
    with pytest.raises(NetworkIntentError, match=rf"hub {HUB} \(huawei_vrp\): {free + 1} cloud sites"):
        hub_cloud_filter_numbers(HUB, free + 1)


def test_a_hub_with_sixteen_cloud_sites_numbers_every_acl_once() -> None:
    """16 cloud sites (as many as ip_plan.cloud holds): the 16th site's filter took WAN-ECHO's
    3095 before, so the DC port's `qos car inbound acl 3095` policed with that site's rules."""
    fleet = on_platform(_with_cloud_sites(load_fleet(sample_chain_path()), 16), "huawei_vrp")
    text = render_hub(fleet, HUB).text
    acls = re.findall(r"(?m)^acl name (\S+) (\d+)$", text)
    assert sum(name.startswith("FROM-CLOUD-") for name, _ in acls) == 16
    counts = collections.Counter(number for _, number in acls)
    assert [(name, number) for name, number in acls if counts[number] > 1] == []
    assert ("WAN-ECHO", "3095") in acls and " qos car inbound acl 3095 cir " in text


# Where a VRP config applies an ACL: by name (`traffic-filter inbound|outbound acl name`), or by
# number (`qos car inbound acl`, a classifier's `if-match acl`, an interzone's `packet-filter`,
# `nat outbound`, the SNMP group's and the web server's `acl`, a VTY's `acl N inbound`).
_BY_NAME = re.compile(r"(?m)^ traffic-filter (?:inbound|outbound) acl name (\S+)$")
_BY_NUMBER = re.compile(
    r"(?m)(?:^ qos car inbound acl|^ if-match acl|^ packet-filter|^ nat outbound|privacy acl|^http acl|^ acl) (\d+)\b"
)


def _unapplied_acls(text: str) -> list[tuple[str, str]]:
    names = set(_BY_NAME.findall(text))
    numbers = set(_BY_NUMBER.findall(text))
    return [
        (name, number)
        for name, number in re.findall(r"(?m)^acl name (\S+) (\d+)$", text)
        if name not in names and number not in numbers
    ]


def test_every_acl_a_vrp_config_defines_is_applied(fleet: Fleet) -> None:
    """An ACL that no interface, interzone, classifier or service applies only takes an AR's ACL
    resources and push time. A VRP hub defined FROM-STORES (all stores' sources, about a dozen
    rules per store) though every store tunnel filters with its own FROM-STORE-<id>: on a hub of
    200 stores some 2,000 rules, rewritten by every store added or removed, that filtered
    nothing."""
    platform_fleet = on_platform(fleet, "huawei_vrp")
    assert _unapplied_acls(render_hub(platform_fleet, HUB).text) == []
    for store in SHAPES.values():
        (config,) = render_store(on_platform(fleet, "huawei_vrp", hubs="frr"), store)
        assert _unapplied_acls(config.text) == [], store
