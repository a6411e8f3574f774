"""The core stack's plan when a hub or an AWS region goes: the kept hubs' and regions' VPN
connections are not touched.

A VPN connection whose TunnelInsideCidr changes is replaced (ForceNew in terraform-provider-aws's
aws_vpn_connection, which pulumi-aws bridges): new tunnels, new outside addresses, every hub
dialling it down until it has its new config. IPAM pins the hubs', regions' and sites' slots
(`network/cloud.py`), so removing hq-hub2 changes none of hq-hub1's and hq-hub3's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from testsupport.rendering import edited_sample_chain, hub_removed_chain, three_hub_chain

from storestack.inventory import load_fleet
from storestack.inventory.ipam import LOCK_FILE_NAME
from storestack.inventory.loader import load_fleet_with_allocations
from storestack.stacks.config import CoreStackConfig
from storestack.stacks.plan import ResourceChange, compare_and_save, make_tasks, plan_tasks
from storestack.stacks.render import plan_stacks

VPN = "aws:ec2/vpnConnection:VpnConnection"


def _core_changes(before: Path, after: Path, plans: Path) -> list[ResourceChange]:
    """The core stack's changes from `before` (committed with its lock) to `after` (its lock)."""
    load_fleet_with_allocations(before, write_lock=True)
    shutil.copy(before / LOCK_FILE_NAME, after / LOCK_FILE_NAME)
    changes: list[ResourceChange] = []
    for root in (before, after):
        _, configs = plan_stacks(load_fleet(root))
        core = {name: config for name, config in configs.items() if isinstance(config, CoreStackConfig)}
        plans_made = plan_tasks(make_tasks(core), workers=1)
        (stack,) = compare_and_save(plans_made, plans, complete=False)
        changes = stack.changes
    return changes


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
    changes = _core_changes(before, after, tmp_path / "plans")
    networks = ("openstack:networking/subnet:Subnet::", "openstack:networking/network:Network::")
    touched = [(c.action, c.urn.rsplit("::", 1)[-1], c.keys) for c in changes if any(t in c.urn for t in networks)]
    assert touched == []
    # The gateway forwards the new region's ranges too: its port's allowed pairs grow, in place.
    # The region's tunnels are new peers in the gateway's user data (secret, seen by its digest):
    # a new gateway instance.
    gateway = sorted((c.urn.split("::")[-2].rsplit(":", 1)[-1], c.action, c.keys) for c in changes if c.urn.endswith("::ams-private-vpn-gateway"))
    assert gateway == [("Instance", "replace", ["userData"]), ("Port", "change", ["allowedAddressPairs"])]


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
