"""Each cloud BGP session takes in only its own cloud site's ranges (`BgpSession.accepts`): a
hub's sessions to an AWS region its workloads and desktops slots, to an OpenStack site that
site's; a store's to its AWS region that region's workloads VPC. Neither cloud may announce
the other's ranges, HQ's or the stores' and be believed."""

from __future__ import annotations

import ipaddress

import pytest

from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.network.build import NetworkIntent
from storestack.stacks.mapping import core_config

Net = ipaddress.IPv4Network
CLOUDS = ("hub-aws", "hub-openstack")


@pytest.fixture(scope="module")
def sample() -> Fleet:
    return load_fleet(sample_chain_path())


def test_each_hub_cloud_session_accepts_only_its_own_site(sample: Fleet) -> None:
    intent = NetworkIntent(sample)
    plan = sample.spec.ip_plan
    for hub in sample.hubs:
        sessions = [s for s in intent.hub(hub).sessions if s.kind in CLOUDS]
        by_kind = {kind: {net for s in sessions if s.kind == kind for net in s.accepts} for kind in CLOUDS}
        assert by_kind["hub-aws"] == {Net("10.16.0.0/18"), Net("10.20.0.0/20")}
        assert by_kind["hub-openstack"] == {Net("10.16.64.0/18"), Net("10.20.16.0/20")}
        for session in sessions:
            site = session.peer.rsplit(":", 1)[0] if session.kind == "hub-aws" else session.peer
            assert session.accepts == intent.cloud_site_ranges[site]
            others = [net for s in sessions if s.kind != session.kind for net in s.accepts]
            foreign = [*others, *plan.hq, plan.stores, plan.loopbacks, *plan.management]
            assert not any(own.overlaps(net) for own in session.accepts for net in foreign), session.peer


def test_a_stores_aws_sessions_accept_only_its_regions_workloads(sample: Fleet) -> None:
    intent = NetworkIntent(sample)
    aws = [(store.id, s) for store in sample for s in intent.store(store.id).sessions if s.kind == "store-aws"]
    assert aws
    openstack = [net for key, nets in intent.cloud_site_ranges.items() if key.startswith("openstack:") for net in nets]
    for store, session in aws:
        region = sample.stores[store].cloud.aws_region
        assert session.accepts == intent.cloud_site_ranges[f"aws:{region}"][:1], store
        assert not any(own.overlaps(net) for own in session.accepts for net in openstack), store


def test_the_core_stack_builds_each_site_in_the_ranges_its_sessions_accept(sample: Fleet) -> None:
    intent = NetworkIntent(sample)
    config = core_config(sample)
    built = {f"aws:{r.region}": (r.workloads_cidr, r.desktops_cidr) for r in config.hybrid_cloud.aws_regions}
    built |= {f"openstack:{s.name}": (s.workloads_cidr, s.desktops_cidr) for s in config.hybrid_cloud.openstack_sites}
    assert built == {key: tuple(nets) for key, nets in intent.cloud_site_ranges.items()}


def test_each_cloud_sessions_prefix_limit_is_sized_from_its_own_site(sample: Fleet) -> None:
    intent = NetworkIntent(sample)
    for session in intent.hub("hq-hub1").sessions:
        if session.kind in CLOUDS:
            # its two slots, a /18 and a /20, and their subnets up to /24: 127 + 31
            assert session.prefix_limit is not None and session.prefix_limit.allowed == 127 + 31
