"""BGP prefix limits in the network intent: every store-hub session takes at most twice what its
far end may announce (a store's segments and loopbacks; a hub's default route, summaries,
loopbacks and beacons), above what the sample chain and a generated fleet really announce; the
hubs' sessions to each other and to the clouds and a store's own AWS sessions are sized the same
way, the DC core's not at all."""

from __future__ import annotations

import ipaddress
import json

import pytest
from click.testing import CliRunner
from testsupport.rendering import on_platform

from storestack.cli.main import cli
from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.inventory.generate import generate_fleet, write_fleet
from storestack.network.build import NetworkIntent
from storestack.network.model import PREFIX_LIMIT_FLOOR, PREFIX_LIMIT_HEADROOM
from storestack.network.show import hub_report, store_report


@pytest.fixture(scope="module")
def sample() -> Fleet:
    return load_fleet(sample_chain_path())


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    root = tmp_path_factory.mktemp("fleet") / "fleet"
    write_fleet(generate_fleet(200, seed=5), root)
    return load_fleet(root)


def _store_hub_counts(fleet: Fleet) -> list[tuple[str, int, int, int, int]]:
    """Per store-hub tunnel: (id, what the store announces, the hub's limit on it, what the hub
    announces with its default route, the store's limit on that)."""
    intent = NetworkIntent(fleet)
    rows = []
    for store in fleet:
        if store.state == "decommissioned":
            continue
        for session in intent.store(store.id).sessions:
            if session.kind != "store-hub":
                continue
            far = next(s for s in intent.hub(session.peer).sessions if s.tunnel == session.tunnel)
            assert session.prefix_limit is not None and far.prefix_limit is not None
            rows.append(
                (
                    str(session.tunnel),
                    len(session.announces),
                    far.prefix_limit.maximum,
                    len(far.announces) + int(far.default_originate),
                    session.prefix_limit.maximum,
                )
            )
    return rows


@pytest.mark.parametrize("which", ["sample", "generated"])
def test_every_store_hub_session_announces_well_under_the_far_end_s_limit(which: str, request: pytest.FixtureRequest) -> None:
    fleet = request.getfixturevalue(which)
    rows = _store_hub_counts(fleet)
    assert rows
    for tunnel, from_store, hub_limit, from_hub, store_limit in rows:
        # headroom: a store or a hub may grow to twice what it announces before its far end acts
        assert PREFIX_LIMIT_HEADROOM * from_store <= hub_limit, tunnel
        assert PREFIX_LIMIT_HEADROOM * from_hub <= store_limit, tunnel
        assert min(hub_limit, store_limit) >= PREFIX_LIMIT_FLOOR


def test_a_leaking_store_is_stopped_at_the_hub_long_before_it_reaches_a_dc_sized_table(sample: Fleet) -> None:
    """One limit for every store link (the hubs' peer groups), tight enough that a store
    redistributing a few hundred routes trips it, and a restart after minutes, never idle forever."""
    intent = NetworkIntent(sample)
    for hub in sample.hubs:
        limits = {s.prefix_limit for s in intent.hub(hub).sessions if s.kind == "store-hub"}
        assert len(limits) == 1
        (limit,) = limits
        assert limit is not None and limit.maximum < 100 and 1 <= limit.restart_minutes <= 30


def test_the_dc_core_sessions_carry_no_limit_and_the_hub_and_cloud_sessions_are_sized(sample: Fleet) -> None:
    intent = NetworkIntent(sample)
    sessions = intent.hub("hq-hub1").sessions
    assert all(s.prefix_limit is None for s in sessions if s.kind == "hub-dc")
    cloud = [s for s in sessions if s.kind in ("hub-aws", "hub-openstack")]
    hub = next(s for s in sessions if s.kind == "hub-hub")
    assert cloud and hub.prefix_limit is not None
    # Each cloud site's filter takes its own slots le 24 (AWS eu-west-1 10.16.0.0/18 and
    # 10.20.0.0/20, the OpenStack site 10.16.64.0/18 and 10.20.16.0/20), not the whole ranges.
    assert {s.prefix_limit.allowed for s in cloud if s.prefix_limit} == {127 + 31}
    # the other hub passes on every store's routes and what its own cloud VPNs learn
    stores = sum(len(s.advertised_prefixes) + len(s.appliances) for s in sample if s.state != "decommissioned")
    assert hub.prefix_limit.allowed >= stores + 2047 + 511


def test_a_store_s_aws_sessions_take_no_more_than_twice_what_its_aws_filter_passes(sample: Fleet) -> None:
    """AWS announces the region's workloads VPC to a store; a propagation misconfigured on the
    transit gateway could send it any number of routes: each store-aws session is limited to twice
    what the store's own filter takes from AWS (its region's workloads slot and its subnets up to /24), the
    same limit for every AWS session of every store, restarting after minutes."""
    intent = NetworkIntent(sample)
    sessions = [s for store in sample if store.cloud.aws_region for s in intent.store(store.id).sessions if s.kind == "store-aws"]
    assert len(sessions) >= 8  # two tunnels per link of each AWS store
    limits = {s.prefix_limit for s in sessions}
    assert len(limits) == 1
    (limit,) = limits
    assert limit is not None
    # the filter: eu-west-1's workloads slot 10.16.0.0/18 le 24, all each session accepts
    assert {s.accepts for s in sessions} == {(ipaddress.IPv4Network("10.16.0.0/18"),)}
    assert (limit.allowed, limit.maximum, limit.restart_minutes) == (127, PREFIX_LIMIT_HEADROOM * 127, 5)


def test_network_show_prints_each_session_s_limit(sample: Fleet) -> None:
    store = json.loads(CliRunner().invoke(cli, ["network", "show", "nw-0001", "--json"]).output)
    limits = {p["kind"]: p["prefix_limit"] for p in store["peers"]}
    closes = {"restart_minutes": 5, "logged_only_because": None}
    assert limits["store-hub"] == {"maximum": PREFIX_LIMIT_FLOOR, "allowed": 8, **closes}
    # what the store's AWS-ROUTES passes: its region's workloads slot 10.16.0.0/18 le 24
    assert limits["store-aws"] == {"maximum": 2 * 127, "allowed": 127, **closes}
    text = CliRunner().invoke(cli, ["network", "show", "hq-hub1"]).output
    assert "store links: 17, each max 20 prefixes (sized from 5), over it closed 5 min" in text
    assert "no prefix limit" in text  # the DC core's



def test_network_show_says_a_fortios_appliance_only_logs_over_its_limit(sample: Fleet) -> None:
    """FortiOS renders its limits warning-only (it has no timer that reopens a closed session):
    `network show` must not promise an engineer that a FortiGate closes the session."""
    fortios = NetworkIntent(on_platform(sample, "fortinet"))
    for report in (store_report(fortios, "nw-0001"), hub_report(fortios, "hq-hub1")):
        limits = [p["prefix_limit"] for p in report["peers"] if p["prefix_limit"]]
        assert limits and all("logs" in limit["logged_only_because"] for limit in limits)
    frr = NetworkIntent(sample)
    assert all(
        p["prefix_limit"]["logged_only_because"] is None for p in store_report(frr, "nw-0001")["peers"] if p["prefix_limit"]
    )
