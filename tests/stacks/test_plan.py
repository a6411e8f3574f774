"""`storestack plan`: golden plan of the sample chain, change lists, checks."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_openstack as openstack
import pytest
from click.testing import CliRunner
from stack_harness import GOLDEN, copy_sample_chain, edit_store

from storestack.cli.main import cli
from storestack.inventory import load_fleet, sample_chain_path
from storestack.stacks.checks import CheckContext, Finding, run_checks
from storestack.stacks.mocks import run_program_under_mocks
from storestack.stacks.plan import PlanReport, compare_and_save, make_tasks, plan_tasks, planned_store_outputs
from storestack.stacks.render import plan_stacks

UPDATE = os.environ.get("STORESTACK_UPDATE_GOLDEN") == "1"


def _plan(fleet_dir: Path, plans_dir: Path, workers: int = 1) -> PlanReport:
    _, configs = plan_stacks(load_fleet(fleet_dir))
    plans = plan_tasks(make_tasks(configs), workers=workers)
    return PlanReport(stacks=plans, changes=compare_and_save(plans, plans_dir, complete=True))


def _golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(actual)
    assert path.is_file(), f"{path} missing: run with STORESTACK_UPDATE_GOLDEN=1 once and review it"
    assert actual == path.read_text(), f"{name} differs from the golden file (STORESTACK_UPDATE_GOLDEN=1 to accept)"


@pytest.fixture(scope="module")
def sample_plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[PlanReport, Path]:
    plans_dir = tmp_path_factory.mktemp("plans")
    return _plan(sample_chain_path(), plans_dir, workers=2), plans_dir


def test_sample_chain_plan_matches_the_golden_snapshot(sample_plan: tuple[PlanReport, Path]) -> None:
    report, plans_dir = sample_plan
    assert report.ok, [f.message for f in report.errors]
    _golden("sample-chain-plan.json", json.dumps(report.summary(), indent=1, sort_keys=True) + "\n")
    _golden("store-nw-0001.plan.json", (plans_dir / "store-nw-0001.json").read_text())


def test_parallel_and_sequential_plans_agree(sample_plan: tuple[PlanReport, Path], tmp_path: Path) -> None:
    parallel, _ = sample_plan
    sequential = _plan(sample_chain_path(), tmp_path, workers=1)
    assert [p.model_dump() for p in sequential.stacks] == [p.model_dump() for p in parallel.stacks]


_PRELOAD_THEN_PLAN = """
import sys
from storestack.inventory import load_fleet, sample_chain_path
from storestack.stacks.plan import make_tasks, plan_stack, preload
from storestack.stacks.render import plan_stacks

_, configs = plan_stacks(load_fleet(sample_chain_path()))
tasks = make_tasks(configs)
preload({task.kind for task in tasks})
loaded = set(sys.modules)
for task in tasks:
    plan_stack(task)
print(sorted(set(sys.modules) - loaded))
"""


def test_preload_leaves_a_forked_worker_no_provider_module_to_import() -> None:
    """Workers fork after `preload`: a module a stack still imports, every worker imports again."""
    result = subprocess.run(
        [sys.executable, "-c", _PRELOAD_THEN_PLAN], capture_output=True, text=True, check=True, timeout=300
    )
    imported = ast.literal_eval(result.stdout.strip().splitlines()[-1])
    assert [name for name in imported if name.startswith(("pulumi_aws", "pulumi_openstack", "pulumi_random"))] == []


def test_saved_plans_hold_no_secret_and_are_private(sample_plan: tuple[PlanReport, Path]) -> None:
    _, plans_dir = sample_plan
    text = (plans_dir / "core.json").read_text()
    assert '"tunnel1PresharedKey": "[secret]"' in text
    assert '"userData": "[secret]"' in text, "the OpenStack VPN gateway's user data holds its reader's key"
    assert '"content": "[secret]"' in text, "the OpenStack VPN gateway's peer config holds its tunnels' keys"
    assert (plans_dir / "core.json").stat().st_mode & 0o777 == 0o600
    # Planned in worker processes, the secret inputs still reach the digests saved beside the plan.
    digests = json.loads((plans_dir / "core.digests").read_text())["inputs"]
    gateway = next(held for urn, held in digests.items() if urn.endswith("::ams-private-vpn-gateway"))
    assert list(gateway) == ["userData"] and len(gateway["userData"]) == 64
    peers = next(held for urn, held in digests.items() if urn.endswith("::ams-private-vpn-gateway-peers"))
    assert list(peers) == ["content"] and len(peers["content"]) == 64
    assert (plans_dir / "core.digests").stat().st_mode & 0o777 == 0o600


def test_a_modified_inventory_shows_the_right_change_list(tmp_path: Path) -> None:
    fleet_dir = copy_sample_chain(tmp_path)
    plans_dir = tmp_path / "plans"
    first = _plan(fleet_dir, plans_dir)
    assert {c.status for c in first.changes} == {"new"}
    unchanged = _plan(fleet_dir, plans_dir)
    assert {c.status for c in unchanged.changes} == {"unchanged"}

    edit_store(fleet_dir, "nw-0004", "address: 198.51.100.14/30", "address: 198.51.100.22/30")
    edit_store(fleet_dir, "nw-0004", "gateway: 198.51.100.13", "gateway: 198.51.100.21")
    (fleet_dir / "stores" / "nw-0007.yaml").unlink()
    report = _plan(fleet_dir, plans_dir)
    changes = {c.stack: c for c in report.changes}
    store4 = changes["store-nw-0004"]
    assert store4.status == "changed"
    assert [(c.action, c.urn.rsplit("::", 1)[-1], c.keys) for c in store4.changes] == [
        ("replace", "nw-0004-wan1-cgw", ["ipAddress"])
    ]
    assert changes["store-nw-0007"].status == "removed"
    # Seats are entitlements, WorkSpaces belong to named users: a store leaving changes no core resource.
    assert all(c.status == "unchanged" for s, c in changes.items() if s not in {"store-nw-0004", "store-nw-0007"})


def test_cli_plan_prints_a_readable_plan_and_json(tmp_path: Path) -> None:
    runner = CliRunner()
    plans = ["--plans-dir", str(tmp_path)]
    text = runner.invoke(cli, ["plan", "--store", "nw-0003", *plans])
    assert text.exit_code == 0, text.output
    # Keys derive from the fleet secret per tunnel id (stacks/keys.py): no RandomPassword resources.
    assert "store-nw-0003 7 resources, new" in text.output
    assert "└─ StoreSite nw-0003" in text.output and "VpnConnection nw-0003-wan1-vpn" in text.output
    assert "aws:ec2/vpnConnection:VpnConnection" in text.output
    as_json = runner.invoke(cli, ["plan", "--stack", "store-nw-0003", "--json", *plans])
    payload = json.loads(as_json.output)
    assert payload["ok"] and payload["stacks"][0]["change"]["status"] == "unchanged"
    unknown = runner.invoke(cli, ["plan", "--store", "nw-9999", *plans])
    assert unknown.exit_code == 2 and "no store 'nw-9999'" in unknown.output


# --- checks ---------------------------------------------------------------------------------


def _unsafe_program() -> None:
    tags = {"owner": "platform-team", "storestack:component": "test"}
    group = openstack.networking.SecGroup("admin", name="admin", tags=["owner=platform-team", "storestack:component=t"])
    openstack.networking.SecGroupRule(
        "ssh-anywhere", security_group_id=group.id, direction="ingress", ethertype="IPv4", protocol="tcp",
        port_range_min=22, port_range_max=22, remote_ip_prefix="0.0.0.0/0",
    )
    openstack.networking.SecGroupRule(
        "https-anywhere", security_group_id=group.id, direction="ingress", ethertype="IPv4", protocol="tcp",
        port_range_min=443, port_range_max=443, remote_ip_prefix="0.0.0.0/0",
    )
    aws.ebs.Volume("plain", availability_zone="eu-west-1a", size=10, tags=tags)
    aws.ec2.Vpc("bad-cidr", cidr_block="10.1.2.3/16", tags=tags)
    aws.ec2.Vpc("untagged", cidr_block="10.2.0.0/16")
    # The AWS SDK marks VPN keys secret by itself; OpenStack's VPNaaS SDK does not.
    openstack.vpnaas.SiteConnection(
        "plain-psk", ikepolicy_id="ike", ipsecpolicy_id="esp", vpnservice_id="vpn", peer_address="192.0.2.1",
        peer_id="192.0.2.1", psk="hunter2hunter2",
    )
    aws.ec2.Subnet("twice", vpc_id="vpc-1", cidr_block="10.2.0.0/24", tags=tags)
    aws.ec2.Subnet("twice", vpc_id="vpc-1", cidr_block="10.2.1.0/24", tags=tags)
    pulumi.export("admin_password", "plain-text")


def test_checks_find_what_mocks_let_through() -> None:
    run = run_program_under_mocks(_unsafe_program, project="unsafe", stack="test")
    findings = run_checks(run, CheckContext(stack="test", required_tags=("owner",)))
    by_check: dict[str, list[str]] = {}
    for finding in findings:
        assert finding.severity == "error"
        by_check.setdefault(finding.check, []).append((finding.urn or "").rsplit("::", 1)[-1] + " " + finding.message)
    assert set(by_check) == {
        "duplicate-urn", "invalid-cidr", "missing-tags", "open-admin-port", "unencrypted-volume", "unmarked-secret",
    }
    assert by_check["open-admin-port"] == ["ssh-anywhere ingress from 0.0.0.0/0 on admin port(s) [22]"]
    assert by_check["unencrypted-volume"] == ["plain EBS volume without encrypted=true"]
    assert [m.split(" ", 1)[0] for m in by_check["invalid-cidr"]] == ["bad-cidr"]
    assert [m.split(" ", 1)[0] for m in by_check["missing-tags"]] == ["untagged"]
    assert by_check["duplicate-urn"][0].startswith("twice registered 2 times")
    assert sorted(by_check["unmarked-secret"]) == [
        " stack output 'admin_password' is not marked secret",
        "plain-psk psk holds a secret that is not marked secret",
    ]


def test_advisory_checks_report_without_failing() -> None:
    run = run_program_under_mocks(_unsafe_program, project="unsafe", stack="test")
    context = CheckContext(stack="test", required_tags=("owner",), advisory=frozenset({"open-admin-port"}))
    findings = {f.check: f.severity for f in run_checks(run, context)}
    assert findings["open-admin-port"] == "advisory"
    assert findings["unencrypted-volume"] == "error"


def test_a_store_feeding_the_stores_route_table_is_caught() -> None:
    def leaky() -> None:
        aws.ec2transitgateway.RouteTablePropagation(
            "leak", transit_gateway_attachment_id="tgw-attach-1", transit_gateway_route_table_id="rtb-stores"
        )

    run = run_program_under_mocks(leaky, project="store", stack="store-x")
    context = CheckContext(stack="store-x", required_tags=(), stores_route_tables=frozenset({"rtb-stores"}))
    assert [f.check for f in run_checks(run, context)] == ["store-isolation"]


def test_a_decommissioned_store_plans_every_resource_away(tmp_path: Path) -> None:
    fleet_dir = copy_sample_chain(tmp_path)
    plans_dir = tmp_path / "plans"
    _plan(fleet_dir, plans_dir)
    edit_store(fleet_dir, "nw-0001", "state: active", "state: decommissioned")
    report = _plan(fleet_dir, plans_dir)
    change = next(c for c in report.changes if c.stack == "store-nw-0001")
    assert change.status == "changed"
    assert {c.action for c in change.changes} == {"remove"} and len(change.changes) == 7
    core = next(c for c in report.changes if c.stack == "core")
    # The store's named users lose their WorkSpaces with it, and nothing else in the core changes.
    removed = sorted(c.urn.rsplit("::", 1)[1] for c in core.changes)
    assert {c.action for c in core.changes} == {"remove"}
    assert removed == ["store-staff-anna.devries", "store-staff-bram.jansen", "store-staff-carla.smit"]


def test_planned_store_outputs_carry_deterministic_tunnels_and_secret_keys() -> None:
    fleet = load_fleet(sample_chain_path())
    first = planned_store_outputs(fleet, "nw-0001")
    second = planned_store_outputs(fleet, "nw-0001")
    assert first["tunnels"].value == second["tunnels"].value
    assert first["tunnel_psks"].secret and not first["tunnels"].secret
    assert sorted(first["tunnel_psks"].value) == sorted(t["name"] for t in first["tunnels"].value)


def test_cli_plan_exits_1_on_errors_and_0_when_they_are_advisory(tmp_path: Path) -> None:
    from storestack.stacks import plan as plan_module

    def with_open_port(tasks: list[Any], **kwargs: Any) -> list[Any]:
        plans = plan_module.plan_tasks(tasks, **kwargs)
        severity = "advisory" if "open-admin-port" in tasks[0].advisory else "error"
        finding = Finding(check="open-admin-port", severity=severity, stack=plans[0].stack, urn=None, message="x")
        plans[0].findings.append(finding)
        return plans

    runner = CliRunner()
    args = ["plan", "--store", "nw-0002", "--plans-dir", str(tmp_path)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("storestack.cli.stacks.plan_tasks", with_open_port)
        failing = runner.invoke(cli, args)
        advisory = runner.invoke(cli, [*args, "--advisory", "open-admin-port"])
    assert failing.exit_code == 1 and "error open-admin-port" in failing.output
    assert advisory.exit_code == 0 and "advisory open-admin-port" in advisory.output


def test_the_core_plan_answers_where_the_intent_plans_the_cloud_ends(sample_plan: tuple[PlanReport, Path]) -> None:
    """An offline plan's cloud far ends are the ones the planned hub configs dial: the OpenStack
    gateways' floating IPs and AWS's tunnel endpoints."""
    from storestack.network.build import NetworkIntent

    report, _ = sample_plan
    fleet = load_fleet(sample_chain_path())
    intent = NetworkIntent(fleet)
    planned = {
        tunnel.id: str(tunnel.peer_outside)
        for hub in fleet.hubs
        for tunnel in intent.hub(hub).tunnels
        if tunnel.kind in ("hub-openstack", "hub-aws")
    }
    core = next(plan for plan in report.stacks if plan.kind == "core")
    openstack = {t["tunnel_id"]: t["peer_outside_address"] for t in core.outputs["openstack_hub_tunnels"].values()}
    assert openstack and all(planned[tid] == address for tid, address in openstack.items())
    aws = sorted(t["outside_address"] for entry in core.outputs["hub_vpn_tunnels"].values() for t in entry["tunnels"])
    assert aws and aws == sorted(a for tid, a in planned.items() if "-aws" in tid)


def _edit_fleet(fleet_dir: Path, old: str, new: str) -> None:
    path = fleet_dir / "fleet.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_a_change_that_would_replace_a_desktop_or_its_directory_is_named_at_plan_time(tmp_path: Path) -> None:
    """A cashier bundle changed in the inventory replaces every cashier WorkSpace with its user
    volume (bundle_id is create-only); they are protected, so the `up` fails. The plan names the
    replacement and the protection before that. A new DNS address of the AD Connector AWS changes
    in place (README, "Desktop users"): a change, no replacement."""
    fleet_dir = copy_sample_chain(tmp_path)
    plans_dir = tmp_path / "plans"
    _plan(fleet_dir, plans_dir)
    shutil.copytree(plans_dir, tmp_path / "cli-plans")
    _edit_fleet(fleet_dir, "desktop_bundle: value", "desktop_bundle: standard")
    _edit_fleet(fleet_dir, "dns_ips: [10.0.1.53, 10.0.2.53]", "dns_ips: [10.0.1.53, 10.0.2.54]")
    report = _plan(fleet_dir, plans_dir)
    (core,) = [c for c in report.changes if c.stack == "core"]
    by_name = {c.urn.rsplit("::", 1)[-1]: c for c in core.changes}
    cashiers = [c for c in core.changes if c.urn.startswith("urn:") and "aws:workspaces/workspace:Workspace" in c.urn]
    replaced = [c for c in cashiers if c.action == "replace"]
    assert replaced and all(c.protected and "bundleId" in c.keys for c in replaced), cashiers
    directory = by_name["store-staff-directory"]
    assert (directory.action, directory.protected) == ("change", False), directory
    assert "connectSettings" in directory.keys
    summary = report.summary()
    (core_summary,) = [s for s in summary["stacks"] if s["stack"] == "core"]
    assert any(c["action"] == "replace" and c.get("protected") for c in core_summary["change"]["changes"])

    # The command line says it too.
    plan = ["plan", "--fleet", str(fleet_dir), "--stack", "core", "--plans-dir", str(tmp_path / "cli-plans")]
    shown = CliRunner().invoke(cli, plan)
    assert shown.exit_code == 0, shown.output
    protected = [line for line in shown.output.splitlines() if line.lstrip().startswith("protected")]
    assert protected and all("Workspace::store-staff-" in line and "would be replaced" in line for line in protected)


def test_a_new_data_region_replaces_the_staff_data_bucket_at_plan_time(tmp_path: Path) -> None:
    """Moving the staff data bucket to another region is a new, empty bucket (and new settings on
    it): every AWS resource's `region` is create-only since the Terraform AWS Provider 6. The plan
    names the replacement; none of them is protected, the desktops are left alone."""
    fleet_dir = copy_sample_chain(tmp_path)
    plans_dir = tmp_path / "plans"
    _plan(fleet_dir, plans_dir)
    _edit_fleet(fleet_dir, "regions: [eu-west-1]\n", "regions: [eu-west-1, eu-central-1]\n      data_region: eu-central-1\n")
    report = _plan(fleet_dir, plans_dir)
    (core,) = [c for c in report.changes if c.stack == "core"]
    by_name = {c.urn.rsplit("::", 1)[-1]: c for c in core.changes}
    data = {name: c for name, c in by_name.items() if name == "data" or name.startswith("data-")}
    assert {"data", "data-encryption", "data-public-access", "data-tls-only", "data-versioning", "data-lifecycle"} <= set(data)
    assert all((c.action, c.keys, c.protected) == ("replace", ["region"], False) for c in data.values()), data
    assert not any(c.protected for c in core.changes), [c for c in core.changes if c.protected]


def test_every_openstack_create_only_input_is_one_the_sdk_says_replaces_the_resource() -> None:
    """Each OpenStack input `CREATE_ONLY` lists is one the installed pulumi_openstack documents as
    "Changing this creates a new ..." (a misspelt input would never match a planned one)."""
    import inspect
    import re

    from storestack.stacks.plan import CREATE_ONLY
    from storestack.stacks.resource_types import resource_class

    # ForceNew in the provider's source only (resource_openstack_objectstorage_object_v1.go): the
    # SDK's docs do not say it.
    source_only = {"openstack:objectstorage/containerObject:ContainerObject": {"containerName", "name"}}
    for token, inputs in CREATE_ONLY.items():
        if not token.startswith("openstack:"):
            continue
        cls = resource_class(token)
        assert cls is not None, token
        source = inspect.getsource(inspect.getmodule(cls))  # type: ignore[arg-type]
        for name in inputs - source_only.get(token, set()):
            snake = re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)
            said = re.findall(rf":param [^\n]*\b{snake}: (.*?)(?=\n\s*:param|\"\"\")", source, re.S)
            assert said, (token, name)
            assert all(re.search(r"(creates|forces) a new", " ".join(d.split())) for d in said), (token, name, said)
