"""A hub's cloud filters keep their names when the inventory adds an AWS region ahead of the others.

Each cloud site's inbound filter (its prefix list and route-map, CLOUD-IN-AWS<n> and
CLOUD-IN-OPENSTACK<n>) and its anti-spoofing ACL (FROM-CLOUD-<site>) were numbered by the site's
place among the hub's sites: a region listed (or sorting) first took over CLOUD-IN-AWS1 and the
push rewrote every later filter, a window in which a live cloud session ran under another site's
filter. Now `n` is the site's slot, pinned by IPAM in the lock (`Fleet.aws_region_slot`,
`Fleet.openstack_site_slot`), as its tunnels' inside addresses are: every filter of a kept site is
the same lines, bound to the same sessions, before and after."""

from __future__ import annotations

import re

import pytest
from testsupport.rendering import edited_sample_chain, on_platform

from storestack.devices.render import render_hub
from storestack.inventory import Fleet, load_fleet

HUB = "hq-hub1"
PLATFORMS = ("frr", "cisco_xe", "huawei_vrp", "fortinet")
# A kept site's BGP filter (prefix list and route-map), its inbound ACL (IOS-XE, VRP) or the
# address group of its sources its policies take (FortiOS; FRR keys its nftables set by interface).
_FILTER = re.compile(r"\bCLOUD-IN-[A-Z]+\d+\b")
_ACL = re.compile(r"\b(?:FROM-CLOUD|CLOUD-SOURCES)-[A-Z]+\d+\b")


def _named_lines(text: str, name: str) -> list[tuple[str, ...]]:
    """Every line naming `name` (whole word), with the block headers it sits in, and every line of
    a block whose header names it: what the hub does with the filter and where it applies it."""
    word = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])")
    found: list[tuple[str, ...]] = []
    stack: list[tuple[int, str]] = []
    owner: int | None = None  # the depth of a header naming `name` whose block we are in
    for raw in text.splitlines():
        if not raw.strip() or raw.strip() in ("!", "#", "next", "end", "quit"):
            continue
        depth = len(raw) - len(raw.lstrip())
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if owner is not None and depth <= owner:
            owner = None
        line = raw.strip()
        if owner is not None or word.search(line):
            found.append((*(h for _, h in stack), line))
            if owner is None:
                owner = depth
        stack.append((depth, line))
    return sorted(found)


def _hub(chain: Fleet, platform: str) -> str:
    return render_hub(on_platform(chain, platform), HUB).text


@pytest.fixture(scope="module")
def with_region(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    """A second AWS region, listed (and sorting) before eu-west-1."""
    root = edited_sample_chain(tmp_path_factory.mktemp("aws-region"), "regions: [eu-west-1]", "regions: [eu-central-1, eu-west-1]")
    return load_fleet(root)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_region_added_first_renames_no_kept_sites_filter(fleet: Fleet, with_region: Fleet, platform: str) -> None:
    before, after = _hub(fleet, platform), _hub(with_region, platform)
    kept = sorted(set(_FILTER.findall(before)))
    assert any(n.startswith("CLOUD-IN-AWS") for n in kept) and any(n.startswith("CLOUD-IN-OPENSTACK") for n in kept), kept
    added = sorted(set(_FILTER.findall(after)) - set(kept))
    assert any(n.startswith("CLOUD-IN-AWS") for n in added), f"no filter for the new region: {added}"
    for name in kept:
        lines = _named_lines(before, name)
        assert lines, name
        assert _named_lines(after, name) == lines, f"{platform}: {name} changed"


@pytest.mark.parametrize("platform", ["cisco_xe", "huawei_vrp", "fortinet"])
def test_a_region_added_first_keeps_each_kept_sites_acl_rules(fleet: Fleet, with_region: Fleet, platform: str) -> None:
    """A kept site's FROM-CLOUD-<site> (CLOUD-SOURCES-<site>) holds the same rules or members (the
    lines of its block; where it is applied and, on VRP, its number are the tunnels' and the ACL
    plan's, not the name's)."""
    before, after = _hub(fleet, platform), _hub(with_region, platform)
    names = sorted(set(_ACL.findall(before)))
    assert len(names) >= 2, names
    for name in names:
        rules = [line[-1] for line in _named_lines(before, name) if name not in line[-1]]
        assert rules, name
        assert [line[-1] for line in _named_lines(after, name) if name not in line[-1]] == rules, f"{platform}: {name} changed"
