"""The core stack's plan when a hub or an AWS region goes: the kept hubs' and regions' VPN
connections are not touched.

A VPN connection whose TunnelInsideCidr changes is replaced (ForceNew in terraform-provider-aws's
aws_vpn_connection, which pulumi-aws bridges): new tunnels, new outside addresses, every hub
dialling it down until it has its new config. IPAM pins the hubs', regions' and sites' slots
(`network/cloud.py`), so removing hq-hub2 changes none of hq-hub1's and hq-hub3's.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from testsupport.rendering import edited_sample_chain, hub_removed_chain, three_hub_chain

from storestack.inventory import load_fleet
from storestack.inventory.ipam import LOCK_FILE_NAME
from storestack.inventory.loader import load_fleet_with_allocations
from storestack.stacks.config import CoreStackConfig
from storestack.stacks.plan import ResourceChange, StackPlan, compare_and_save, make_tasks, plan_tasks
from storestack.stacks.render import plan_stacks

VPN = "aws:ec2/vpnConnection:VpnConnection"


def _core_plan(before: Path, after: Path, plans: Path) -> tuple[list[ResourceChange], StackPlan]:
    """The core stack's changes from `before` (committed with its lock) to `after` (its lock), and
    the plan of `after`."""
    load_fleet_with_allocations(before, write_lock=True)
    shutil.copy(before / LOCK_FILE_NAME, after / LOCK_FILE_NAME)
    changes: list[ResourceChange] = []
    for root in (before, after):
        _, configs = plan_stacks(load_fleet(root))
        core = {name: config for name, config in configs.items() if isinstance(config, CoreStackConfig)}
        (planned,) = plan_tasks(make_tasks(core), workers=1)
        (stack,) = compare_and_save([planned], plans, complete=False)
        changes = stack.changes
    return changes, planned


def _core_changes(before: Path, after: Path, plans: Path) -> list[ResourceChange]:
    return _core_plan(before, after, plans)[0]


def _gateway(changes: list[ResourceChange]) -> list[tuple[str, str, list[str], dict[str, str]]]:
    """The OpenStack site's gateway changes: its instance, port and peer config, by type."""
    return sorted(
        (c.urn.split("::")[-2].rsplit(":", 1)[-1], c.action, c.keys, dict(c.secrets))
        for c in changes
        if c.urn.endswith(("::ams-private-vpn-gateway", "::ams-private-vpn-gateway-peers"))
    )


def _peer_config(plan: StackPlan) -> dict[str, str]:
    """The gateway's peer config files as planned (the object's secret content), by path."""
    (content,) = [held["content"] for urn, held in plan.secret_inputs.items() if urn.endswith("::ams-private-vpn-gateway-peers")]
    return {f["path"]: f["content"] for f in json.loads(json.loads(content))["files"]}


def _named(changes: list[ResourceChange], *words: str) -> list[tuple[str, str, list[str]]]:
    return [
        (c.action, c.urn.rsplit("::", 1)[-1], c.keys)
        for c in changes
        if any(word in c.urn.rsplit("::", 1)[-1] for word in words)
    ]


def test_removing_a_hub_leaves_the_kept_hubs_vpn_connections_and_gateway_rules(tmp_path: Path) -> None:
    changes = _core_changes(
        three_hub_chain(tmp_path / "before"), hub_removed_chain(tmp_path / "after"), tmp_path / "plans"
    )
    vpns = [c for c in changes if f"{VPN}::" in c.urn]
    # Only hq-hub2's VPN connection goes; hq-hub1's and hq-hub3's are not touched.
    assert [(c.action, c.urn.rsplit("::", 1)[-1]) for c in vpns] == [("remove", "eu-west-1-hub-hq-hub2-vpn")]
    # The OpenStack gateway's rules for hq-hub3 (its slot's, hub3) stay; hq-hub2's (hub2) go.
    rules = _named(changes, "vpn-gateway-hub")
    assert rules and {action for action, _, _ in rules} == {"remove"}
    assert all("-hub2-" in name for _, name, _ in rules), rules


def test_removing_an_aws_region_leaves_the_other_regions_vpn_connections(tmp_path: Path) -> None:
    two = "regions: [eu-central-1, eu-west-1]"
    before = edited_sample_chain(tmp_path / "before", "regions: [eu-west-1]", two)
    after = edited_sample_chain(tmp_path / "after", "regions: [eu-west-1]", "regions: [eu-west-1]")
    changes = _core_changes(before, after, tmp_path / "plans")
    kept = [c for c in changes if f"{VPN}::" in c.urn and "eu-west-1" in c.urn]
    assert kept == [], [(c.action, c.urn.rsplit("::", 1)[-1], c.keys) for c in kept]
    # Nor the OpenStack gateway's rules for eu-west-1's tunnels: renamed, each would be made anew
    # beside the old one before that was deleted, and Neutron refuses a rule its group has
    # (SecurityGroupRuleExists, 409).
    rules = [(c.action, c.urn.rsplit("::", 1)[-1]) for c in changes if "vpn-gateway-aws" in c.urn and "eu-west-1" in c.urn]
    assert rules == []


def test_adding_an_aws_region_leaves_the_openstack_sites_networks(tmp_path: Path) -> None:
    """The region's VPCs take a share of the cloud ranges no other site holds: the OpenStack
    site's networks (listed after the regions) keep theirs, no subnet replaced."""
    before = edited_sample_chain(tmp_path / "before", "regions: [eu-west-1]", "regions: [eu-west-1]")
    after = edited_sample_chain(tmp_path / "after", "regions: [eu-west-1]", "regions: [eu-west-1, eu-central-1]")
    changes, planned = _core_plan(before, after, tmp_path / "plans")
    networks = ("openstack:networking/subnet:Subnet::", "openstack:networking/network:Network::")
    touched = [(c.action, c.urn.rsplit("::", 1)[-1], c.keys) for c in changes if any(t in c.urn for t in networks)]
    assert touched == []
    # The gateway forwards the new region's ranges too: its port's allowed pairs grow, in place.
    # The region's tunnels are new peers in the gateway's peer config (secret, seen by its
    # digest), written in place: the instance, and every tunnel it holds, stays.
    assert _gateway(changes) == [
        ("ContainerObject", "change", ["content"], {"content": "changed"}),
        ("Port", "change", ["allowedAddressPairs"], {}),
    ]
    # Both regions' tunnels and both hubs' are in what the gateway applies.
    swanctl = _peer_config(planned)["/etc/swanctl/conf.d/storestack.conf"]
    connections = swanctl.split("secrets {", 1)[0]
    assert connections.count("        version = 2\n") == 6, connections
    assert swanctl.count("    ike-") == 6 and swanctl.count('secret = "') == 6


def test_adding_a_hub_adds_its_tunnel_to_the_gateways_peer_config_in_place(tmp_path: Path) -> None:
    """A new hub is a new peer of the OpenStack gateway: its tunnel joins the peer config, written
    in place; the gateway instance is not replaced, so the AWS and other hubs' tunnels stay up."""
    before = edited_sample_chain(tmp_path / "before", "regions: [eu-west-1]", "regions: [eu-west-1]")
    changes, planned = _core_plan(before, three_hub_chain(tmp_path / "after"), tmp_path / "plans")
    assert _gateway(changes) == [("ContainerObject", "change", ["content"], {"content": "changed"})]
    files = _peer_config(planned)
    for hub in ("hub1", "hub2", "hub3"):
        assert f"    {hub} {{\n" in files["/etc/swanctl/conf.d/storestack.conf"], hub
        assert f" x-{hub} " in files["/usr/local/sbin/storestack-tunnels"], hub
    assert files["/etc/frr/frr.conf"].count(" remote-as ") == 5  # two AWS tunnels, three hubs
    # The new hub's IKE and ESP are let in: new rules, none of the kept ones touched.
    rules = _named(changes, "vpn-gateway-hub")
    assert rules and all(action == "add" and "-hub3-" in name for action, name, _ in rules), rules


def test_reordering_the_hubs_and_the_regions_changes_nothing_in_the_core_stack(tmp_path: Path) -> None:
    """The staff data bucket's region, the regions' peering and the OpenStack gateway's tunnels are
    what IPAM pins (`data_region`, the slots), not the first or the order of fleet.yaml's lists:
    listed the other way round, nothing is replaced, not even changed."""
    before = edited_sample_chain(tmp_path / "before", "regions: [eu-west-1]", "regions: [eu-central-1, eu-west-1]")
    after = edited_sample_chain(tmp_path / "after", "regions: [eu-west-1]", "regions: [eu-west-1, eu-central-1]")
    fleet = after / "fleet.yaml"
    text = fleet.read_text()
    first = text[text.index("      - hostname: hq-hub1\n") : text.index("      - hostname: hq-hub2\n")]
    second = text[text.index("      - hostname: hq-hub2\n") : text.index("  openstack:\n")]
    fleet.write_text(text.replace(first + second, second + first))
    changes = _core_changes(before, after, tmp_path / "plans")
    assert [(c.action, c.urn.rsplit("::", 1)[-1], c.keys) for c in changes] == []
