"""`storestack plan`: every stack's program under Pulumi mocks, offline, with checks and a change list.

Dependencies answer with mock outputs (the core's Transit Gateway for store stacks), as
Terragrunt's `mock_outputs` do. Each stack runs in a fresh mock runtime; stacks are spread over a
process pool, one worker per core, so plan time per store stays flat as the fleet grows.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import multiprocessing
import os
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from storestack.common.files import atomic_write_text, recover_staged, staged_directory, would_change
from storestack.components import ApplianceConfigRenderer
from storestack.inventory import Fleet
from storestack.stacks.checks import CheckContext, Finding, redact, resource_summary, run_checks
from storestack.stacks.config import (
    CONFIG_NAMESPACE,
    PROJECTS,
    CoreStackConfig,
    StackKind,
    StoreStackConfig,
    store_stack_name,
)
from storestack.stacks.errors import StackConfigError
from storestack.stacks.keys import FleetTunnelKeys, TunnelKeySource
from storestack.stacks.mocks import MockRun, StackOutput, StorestackMocks, run_program_under_mocks
from storestack.stacks.plan_digests import (
    digests_of,
    digests_path,
    digests_text,
    ensure_key,
    load_digests,
    read_key,
    secret_inputs,
)
from storestack.stacks.resource_types import is_region_aware

DEFAULT_PLANS_DIR = Path(".storestack") / "plans"


def plans_dir_for(fleet: Fleet, root: Path = DEFAULT_PLANS_DIR) -> Path:
    """Where this fleet's last plans are kept: one folder per fleet (its slug and where it lives),
    so planning another fleet never reads this one's stacks as removed."""
    where = hashlib.sha256(str(fleet.root.resolve()).encode()).hexdigest()[:10]
    return root / f"{fleet.spec.organisation.slug}-{where}"


class PlannedResource(BaseModel):
    model_config = ConfigDict(frozen=True)

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any] = Field(default_factory=dict, description="redacted")
    # The `protect` and `ignore_changes` options (left out of a saved plan where unset).
    protect: bool = Field(default=False, exclude_if=lambda v: not v)
    ignore_changes: tuple[str, ...] = Field(default=(), exclude_if=lambda v: not v)


# Inputs a resource is created with and never changed (ForceNew in terraform-provider-aws, which
# pulumi-aws bridges: aws_directory_service_directory, aws_workspaces_workspace, aws_vpn_connection's
# tunnel inside CIDRs): a new value replaces the resource. The desktops' are protected (components/desktop_pool.py), so the `up`
# of such a change fails; the change list says so first. Besides these, every AWS resource's
# `region` (`create_only`).
CREATE_ONLY: dict[str, frozenset[str]] = {
    "aws:directoryservice/directory:Directory": frozenset(
        {"alias", "connectSettings", "description", "edition", "name", "password", "shortName", "size", "type", "vpcSettings"}
    ),
    # A VPN connection replaced is new tunnels with new outside addresses: every hub or gateway
    # dialling it needs its new config (network/cloud.py pins the inside /30s so none moves).
    # The connection's `type` and `staticRoutesOnly` are ForceNew too; its `customerGatewayId` and
    # `transitGatewayId` are not: the provider moves a connection with ModifyVpnConnection
    # (terraform-provider-aws internal/service/ec2/vpnsite_connection.go).
    "aws:ec2/vpnConnection:VpnConnection": frozenset({"staticRoutesOnly", "tunnel1InsideCidr", "tunnel2InsideCidr", "type"}),
    # The AWS network inputs terraform-provider-aws marks ForceNew, of those storestack sets: a
    # customer gateway has no update but its tags (internal/service/ec2/customer_gateway.go), a VPC
    # keeps its primary CIDR (vpc_.go), a subnet its VPC, zone and CIDR (vpc_subnet.go), a Transit
    # Gateway its Amazon-side ASN (transitgateway_.go). A replaced customer gateway or Transit
    # Gateway is a new VPN endpoint: its connections' tunnels move with it.
    "aws:ec2/customerGateway:CustomerGateway": frozenset(
        {"bgpAsn", "bgpAsnExtended", "certificateArn", "deviceName", "ipAddress", "type"}
    ),
    "aws:ec2/subnet:Subnet": frozenset({"availabilityZone", "availabilityZoneId", "cidrBlock", "vpcId"}),
    "aws:ec2/vpc:Vpc": frozenset({"cidrBlock"}),
    "aws:ec2transitgateway/transitGateway:TransitGateway": frozenset({"amazonSideAsn"}),
    # An attachment's route table association and propagation have no update at all
    # (transitgateway_route_table_association.go, transitgateway_route_table_propagation.go).
    "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation": frozenset(
        {"transitGatewayAttachmentId", "transitGatewayRouteTableId"}
    ),
    "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation": frozenset(
        {"transitGatewayAttachmentId", "transitGatewayRouteTableId"}
    ),
    "aws:workspaces/workspace:Workspace": frozenset(
        {"bundleId", "directoryId", "rootVolumeEncryptionEnabled", "userName", "userVolumeEncryptionEnabled", "volumeEncryptionKey"}
    ),
    # The inputs pulumi_openstack 5.5 documents as "Changing this creates a new ..." (each
    # resource's argument docs, from terraform-provider-openstack), of those storestack sets.
    # An OpenStack VPN gateway's user data holds nothing a peer changes (its peers are a Swift
    # object's content, written in place, `components/vpn_gateway.py`): a changed user data still
    # replaces the instance. Secret inputs are redacted in the saved plan; their change is seen by
    # the keyed digest kept beside the plan (`plan_digests`).
    "openstack:compute/instance:Instance": frozenset({"networks", "userData"}),
    "openstack:identity/applicationCredential:ApplicationCredential": frozenset(
        {"accessRules", "description", "name", "roles"}
    ),
    "openstack:objectstorage/container:Container": frozenset({"name"}),
    # Not said in the SDK's docs: ForceNew in terraform-provider-openstack's
    # resource_openstack_objectstorage_object_v1.go (`content` has an update, a PUT over the object).
    "openstack:objectstorage/containerObject:ContainerObject": frozenset({"containerName", "name"}),
    "openstack:compute/serverGroup:ServerGroup": frozenset({"policies"}),
    "openstack:networking/floatingIp:FloatingIp": frozenset({"pool", "tenantId"}),
    "openstack:networking/network:Network": frozenset({"tenantId"}),
    "openstack:networking/port:Port": frozenset({"networkId", "tenantId"}),
    "openstack:networking/router:Router": frozenset({"tenantId"}),
    "openstack:networking/routerInterface:RouterInterface": frozenset({"routerId", "subnetId"}),
    "openstack:networking/routerRoute:RouterRoute": frozenset({"destinationCidr", "nextHop", "routerId"}),
    "openstack:networking/secGroup:SecGroup": frozenset({"tenantId"}),
    "openstack:networking/secGroupRule:SecGroupRule": frozenset(
        {
            "description",
            "direction",
            "ethertype",
            "portRangeMax",
            "portRangeMin",
            "protocol",
            "remoteIpPrefix",
            "securityGroupId",
            "tenantId",
        }
    ),
    "openstack:networking/subnet:Subnet": frozenset({"networkId", "tenantId"}),
}


def create_only(type_token: str) -> frozenset[str]:
    """The inputs of `type_token` whose change replaces the resource: `CREATE_ONLY`'s, and an AWS
    resource's `region` ("Changing the value of `region` will force resource replacement": the
    Terraform AWS Provider's Enhanced Region Support guide, which pulumi-aws 7 bridges)."""
    region = frozenset({"region"}) if is_region_aware(type_token) else frozenset()
    return CREATE_ONLY.get(type_token, frozenset()) | region


def _without(value: Any, paths: Iterable[str]) -> Any:
    """`value` (an input's value) less the nested properties `paths` name (relative to it)."""
    if not isinstance(value, dict):
        return value
    nested: dict[str, list[str]] = {}
    dropped = set()
    for path in paths:
        head, _, rest = path.partition(".")
        if rest:
            nested.setdefault(head, []).append(rest)
        else:
            dropped.add(head)
    return {k: _without(v, nested.get(k, ())) for k, v in value.items() if k not in dropped}


def replaced_by(old: PlannedResource, new: PlannedResource, secrets_changed: Iterable[str] = ()) -> list[str]:
    """The create-only inputs whose change replaces the resource, less what its `ignore_changes`
    leaves as it is (a whole input, or a property inside one). `secrets_changed`: the secret inputs
    whose digests changed (the saved plans show them redacted alike); one with a property ignored
    is not counted, as which part of it changed is not known."""
    changed = set(secrets_changed)
    keys = []
    for key in sorted(create_only(new.type)):
        if key in new.ignore_changes:
            continue
        ignored = [p.partition(".")[2] for p in new.ignore_changes if p.startswith(f"{key}.")]
        secret_changed = key in changed and not ignored
        if secret_changed or _without(old.inputs.get(key), ignored) != _without(new.inputs.get(key), ignored):
            keys.append(key)
    return keys


class StackPlan(BaseModel):
    """One stack as planned: its resources (secrets redacted), outputs, and findings."""

    stack: str
    kind: StackKind
    project: str
    resources: list[PlannedResource]
    outputs: dict[str, Any]
    secret_outputs: list[str]
    findings: list[Finding]
    # The outputs as the program produced them, secrets included: never serialised. A rollout
    # in planned mode takes a store's outputs from here instead of running the program again.
    _raw_outputs: dict[str, StackOutput] = PrivateAttr(default_factory=dict)
    # Per resource URN, each secret input's value as text (`plan_digests.secret_inputs`): never
    # serialised; what the saved plan's keyed digests are taken over.
    _secret_inputs: dict[str, dict[str, str]] = PrivateAttr(default_factory=dict)

    @property
    def raw_outputs(self) -> dict[str, StackOutput]:
        return self._raw_outputs

    @property
    def secret_inputs(self) -> dict[str, dict[str, str]]:
        return self._secret_inputs

    @property
    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(r.type for r in self.resources).items()))


class ResourceChange(BaseModel):
    urn: str
    # `unknown`: nothing changed that the saved plan shows, but its secret inputs cannot be compared.
    action: Literal["add", "change", "replace", "remove", "unknown"]
    keys: list[str] = Field(default_factory=list, description="changed inputs (values never shown)")
    secrets: dict[str, Literal["changed", "unknown"]] = Field(
        default_factory=dict,
        exclude_if=lambda v: not v,
        description="secret inputs changed, or not comparable (a saved plan without digests), by their digests",
    )
    protected: bool = Field(
        default=False,
        exclude_if=lambda v: not v,
        description="a protected resource: `up` refuses to replace or remove it",
    )


class StackChanges(BaseModel):
    stack: str
    # `unknown`: no change the saved plan shows, but secret inputs it cannot compare.
    status: Literal["new", "changed", "unchanged", "unknown", "removed"]
    changes: list[ResourceChange] = Field(default_factory=list)


class PlanReport(BaseModel):
    stacks: list[StackPlan]
    changes: list[StackChanges]

    @property
    def errors(self) -> list[Finding]:
        return [f for plan in self.stacks for f in plan.findings if f.severity == "error"]

    @property
    def advisories(self) -> list[Finding]:
        return [f for plan in self.stacks for f in plan.findings if f.severity == "advisory"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self, *, resources: bool = True) -> dict[str, Any]:
        """The `--json` document: per stack counts, graph edges, outputs, findings and changes."""
        changes = {c.stack: c for c in self.changes}
        return {
            "ok": self.ok,
            "errors": len(self.errors),
            "advisories": len(self.advisories),
            "stacks": [
                {
                    "stack": plan.stack,
                    "kind": plan.kind,
                    "resource_count": len(plan.resources),
                    "counts": plan.counts,
                    **(
                        {"resources": [{"urn": r.urn, "type": r.type, "parent": r.parent} for r in plan.resources]}
                        if resources
                        else {}
                    ),
                    "outputs": plan.outputs,
                    "secret_outputs": plan.secret_outputs,
                    "findings": [f.model_dump() for f in plan.findings],
                    "change": changes[plan.stack].model_dump() if plan.stack in changes else None,
                }
                for plan in self.stacks
            ],
            "removed_stacks": [c.stack for c in self.changes if c.status == "removed"],
        }


@dataclass(frozen=True)
class PlanTask:
    """Everything a worker needs to plan one stack; plain data so it pickles cheaply."""

    stack: str
    kind: StackKind
    config: dict[str, Any]
    dependency_outputs: dict[str, dict[str, Any]]
    required_tags: tuple[str, ...]
    advisory: frozenset[str]


def make_tasks(
    configs: dict[str, CoreStackConfig | StoreStackConfig], advisory: Iterable[str] = ()
) -> list[PlanTask]:
    """One task per stack; store stacks see the core through mock outputs derived from its config."""
    from storestack.stacks.core import mock_outputs

    core = next((c for c in configs.values() if isinstance(c, CoreStackConfig)), None)
    advisory_set = frozenset(advisory)
    tasks = []
    for name, config in configs.items():
        dependencies: dict[str, dict[str, Any]] = {}
        if isinstance(config, StoreStackConfig):
            if core is None:
                raise StackConfigError(f"{name}: planning a store stack needs the core stack's config")
            dependencies[config.core_stack] = mock_outputs(core)
            tags = tuple(sorted(config.site.tags))
        else:
            tags = tuple(sorted(config.hybrid_cloud.tags))
        tasks.append(
            PlanTask(name, config.kind, config.model_dump(mode="json"), dependencies, tags, advisory_set)
        )
    return tasks


def plan_renderer(fleet: Fleet) -> ApplianceConfigRenderer:
    """The appliance renderer a plan gives its store stacks: the `devices render` code, redacted.

    A plan needs no device secret (the config is a secret output and shows as `[secret]`), so the
    environment is never read; `up`/`preview` render with the secrets instead.
    """
    from storestack.stacks.device_bridge import appliance_config_renderer

    return appliance_config_renderer(fleet, reveal_secrets=False)


def stack_run(task: PlanTask, renderer: ApplianceConfigRenderer | None = None) -> MockRun:
    """One stack's program run in a fresh mock runtime: what it registered, secrets still wrapped.

    With a `renderer`, each store appliance's intended config is rendered into its `StoreEdge`.
    """
    from storestack.stacks import core, store

    keys = planning_keys(task.config)
    program: Callable[[], None] = (
        functools.partial(core.program, keys)
        if task.kind == "core"
        else functools.partial(store.program, renderer, keys)
    )
    project = PROJECTS[task.kind]
    # The core's OpenStack gateways answer with the addresses the network intent plans with, in
    # the fleet's site order (`core_config` keeps it), so the plan and the planned configs agree.
    sites = task.config.get("hybrid_cloud", {}).get("openstack_sites", []) if task.kind == "core" else []
    mocks = StorestackMocks(stack_outputs=task.dependency_outputs, openstack_sites={site["name"]: site["slot"] for site in sites})
    config = {f"{CONFIG_NAMESPACE}:{task.kind}": json.dumps(task.config), **planned_stack_secrets(task.kind, task.config)}
    return run_program_under_mocks(program, project=project, stack=task.stack, config=config, mocks=mocks)


def plan_stack(task: PlanTask, renderer: ApplianceConfigRenderer | None = None) -> StackPlan:
    """Run one stack's program in a fresh mock runtime (`stack_run`) and check what it registered."""
    run = stack_run(task, renderer)
    project = PROJECTS[task.kind]
    stores_tables = frozenset(
        str(region["route_table_ids"]["stores"])
        for outputs in task.dependency_outputs.values()
        for region in (outputs.get("regions") or {}).values()
    )
    context = CheckContext(
        stack=task.stack,
        required_tags=task.required_tags,
        advisory=task.advisory,
        stores_route_tables=stores_tables,
    )
    findings = run_checks(run, context)
    planned = StackPlan(
        stack=task.stack,
        kind=task.kind,
        project=project,
        # Registration order depends on the event loop; URN order does not.
        resources=[PlannedResource(**resource_summary(r)) for r in sorted(run.resources, key=lambda r: r.urn)],
        outputs={name: "[secret]" if out.secret else redact(out.value, name) for name, out in run.outputs.items()},
        secret_outputs=sorted(name for name, out in run.outputs.items() if out.secret),
        findings=findings,
    )
    planned._raw_outputs = dict(run.outputs)
    planned._secret_inputs = {r.urn: held for r in run.resources if (held := secret_inputs(r))}
    return planned


def planned_stack_secrets(kind: StackKind, config: dict[str, Any]) -> dict[str, str]:
    """Stand-ins for the secret stack config a real stack holds (`pulumi config set --secret`),
    such as an AD Connector's service account password: a plan reads no secret."""
    if kind != "core":
        return {}
    return {
        f"{CONFIG_NAMESPACE}:{placed['pool']['name']}-ad-connector-password": "planned-not-a-secret"
        for placed in config.get("desktop_pools", [])
        if placed["pool"].get("directory_kind") == "ad-connector" and placed["pool"].get("provider") == "aws"
    }


def planning_keys(config: dict[str, Any]) -> FleetTunnelKeys:
    """The tunnel keys of an offline plan: the fleet secret's derivation when the secret is in the
    environment (then the plan's keys are the live ones), a marked stand-in otherwise."""
    return FleetTunnelKeys(TunnelKeySource.model_validate(config["tunnel_keys"]), planning=True)


def preload(kinds: Iterable[StackKind]) -> None:
    """Import the provider modules the programs touch, so forked workers start warm.

    The provider SDKs hand out lazy modules that load on the first access to one of their names
    (naming the module alone, `pulumi_aws.ec2`, loads nothing), so one class of each is read here:
    loading `pulumi_aws.ec2` once in the parent spares every worker about a second of imports.
    """
    import pulumi_aws
    import pulumi_random

    from storestack.stacks import core, store  # noqa: F401 - imported for their side effect

    touched: list[object] = [
        pulumi_aws.ec2.VpnConnection,
        pulumi_aws.ec2transitgateway.RouteTablePropagation,
        pulumi_random.RandomPassword,
    ]
    if "core" in set(kinds):
        import pulumi_openstack

        touched += [
            pulumi_aws.s3.Bucket, pulumi_aws.iam.Role, pulumi_aws.cloudwatch.LogGroup,
            pulumi_aws.workspaces.Directory, pulumi_aws.directoryservice.Directory,
            pulumi_openstack.networking.Router, pulumi_openstack.identity.Project,
            pulumi_openstack.compute.Instance, pulumi_openstack.blockstorage.Volume,
            pulumi_openstack.images.get_image_output, pulumi_aws.kms.get_key_output,
            pulumi_openstack.objectstorage.Container, pulumi_openstack.objectstorage.ContainerObject,
            pulumi_openstack.identity.ApplicationCredential,
        ]
    del touched


def planned_store_outputs(fleet: Fleet, store_id: str) -> dict[str, StackOutput]:
    """A store stack's outputs as planned under mocks, secrets included (flagged `secret`).

    Deterministic, so device configs can be rendered before a stack is live; callers must
    treat secret values as they would live ones (0600 files, never printed).
    """
    return planned_store_run(fleet, store_id).outputs


def planned_store_run(fleet: Fleet, store_id: str) -> MockRun:
    """The store stack's program run under mocks: its resources with their inputs and computed
    values (secrets wrapped, not redacted) and its outputs; the lab's cloud stand-in reads its
    VPN parameters from here."""
    from storestack.stacks import store
    from storestack.stacks.core import mock_outputs
    from storestack.stacks.mapping import core_config, store_config

    config = store_config(fleet, fleet.store(store_id))
    mocks = StorestackMocks(stack_outputs={config.core_stack: mock_outputs(core_config(fleet))})
    return run_program_under_mocks(
        functools.partial(store.program, None, planning_keys(config.model_dump(mode="json"))),
        project=PROJECTS["store"],
        stack=store_stack_name(store_id),
        config={f"{CONFIG_NAMESPACE}:store": json.dumps(config.model_dump(mode="json"))},
        mocks=mocks,
    )


# A worker process's renderer, set once by the pool initializer (with fork the fleet is
# inherited, not pickled per task).
_worker_renderer: ApplianceConfigRenderer | None = None


def _init_worker(fleet: Fleet | None) -> None:
    global _worker_renderer
    _worker_renderer = plan_renderer(fleet) if fleet is not None else None


def _plan_chunk(tasks: Sequence[PlanTask]) -> list[StackPlan]:
    return [plan_stack(task, _worker_renderer) for task in tasks]


def plan_tasks(
    tasks: Sequence[PlanTask],
    *,
    workers: int | None = None,
    on_done: Callable[[StackPlan], None] | None = None,
    fleet: Fleet | None = None,
) -> list[StackPlan]:
    """Plan every task, in parallel across cores; results come back in task order.

    With the `fleet` the tasks came from, store stacks carry their appliances' intended configs.
    """
    workers = max(1, min(workers or os.cpu_count() or 1, len(tasks) or 1))
    if workers == 1 or len(tasks) <= 1:
        renderer = plan_renderer(fleet) if fleet is not None else None
        results = []
        for task in tasks:
            results.append(plan_stack(task, renderer))
            if on_done:
                on_done(results[-1])
        return results
    preload({task.kind for task in tasks})
    # Chunks amortise inter-process traffic while still letting a slow chunk be balanced out.
    size = max(1, min(25, len(tasks) // (workers * 4) or 1))
    chunks = [tasks[i : i + size] for i in range(0, len(tasks), size)]
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    ordered: list[StackPlan] = []
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(fleet,)
    ) as pool:
        for chunk_result in pool.map(_plan_chunk, chunks):
            for plan in chunk_result:
                ordered.append(plan)
                if on_done:
                    on_done(plan)
    return ordered


# --- change against the last saved plan -------------------------------------------------------


def plan_path(plans_dir: Path, stack: str) -> Path:
    return plans_dir / f"{stack}.json"


def load_saved(plans_dir: Path, stack: str) -> StackPlan | None:
    path = plan_path(plans_dir, stack)
    if not path.is_file():
        return None
    try:
        return StackPlan.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError:
        return None


def _secret_changes(
    urn: str,
    shown: Iterable[str],
    before: dict[str, dict[str, str]] | None,
    after: dict[str, dict[str, str]],
) -> dict[str, Literal["changed", "unknown"]]:
    """The secret inputs of resource `urn` whose digests differ (`changed`) or that the saved plan
    has no digest of (`unknown`), less those whose redacted values already differ (`shown`)."""
    found: dict[str, Literal["changed", "unknown"]] = {}
    saved = before.get(urn, {}) if before is not None else None
    for name, now in after.get(urn, {}).items():
        if name in shown:
            continue
        if saved is None or name not in saved:
            found[name] = "unknown"
        elif not hmac.compare_digest(saved[name], now):
            found[name] = "changed"
    return found


def diff_plans(
    stack: str,
    previous: StackPlan | None,
    current: StackPlan | None,
    *,
    digests_before: dict[str, dict[str, str]] | None = None,
    digests_after: dict[str, dict[str, str]] | None = None,
) -> StackChanges:
    """The changes from the saved plan `previous` to `current`. With `digests_after` (the current
    plan's secret input digests, `plan_digests`), a secret input whose digest differs from the
    saved one (`digests_before`) is a change; one the saved plan has no digest of, `unknown`."""
    if current is None:
        removed = [
            ResourceChange(urn=r.urn, action="remove", protected=r.protect) for r in (previous.resources if previous else [])
        ]
        return StackChanges(stack=stack, status="removed", changes=removed)
    if previous is None:
        return StackChanges(
            stack=stack, status="new", changes=[ResourceChange(urn=r.urn, action="add") for r in current.resources]
        )
    before = {r.urn: r for r in previous.resources}
    after = {r.urn: r for r in current.resources}
    changes: list[ResourceChange] = []
    for urn, resource in after.items():
        old = before.get(urn)
        if old is None:
            changes.append(ResourceChange(urn=urn, action="add"))
            continue
        shown = [k for k in set(old.inputs) | set(resource.inputs) if old.inputs.get(k) != resource.inputs.get(k)]
        same_type = old.type == resource.type
        hidden = (
            _secret_changes(urn, shown, digests_before, digests_after) if same_type and digests_after is not None else {}
        )
        secrets_changed = [k for k, state in hidden.items() if state == "changed"]
        keys = sorted({*shown, *secrets_changed})
        if keys or not same_type:
            replaced = replaced_by(old, resource, secrets_changed) if same_type else keys
            action: Literal["change", "replace"] = "replace" if replaced else "change"
            changes.append(
                ResourceChange(
                    urn=urn, action=action, keys=keys, secrets=hidden, protected=resource.protect and bool(replaced)
                )
            )
        elif hidden:
            changes.append(ResourceChange(urn=urn, action="unknown", secrets=hidden))
    changes += [
        ResourceChange(urn=urn, action="remove", protected=before[urn].protect) for urn in before if urn not in after
    ]
    status: Literal["changed", "unchanged", "unknown"] = (
        "changed" if any(c.action != "unknown" for c in changes) else "unknown" if changes else "unchanged"
    )
    return StackChanges(stack=stack, status=status, changes=changes)


def gone_stacks(plans: Sequence[StackPlan], plans_dir: Path) -> list[str]:
    """Stacks with a saved plan that a complete plan of the fleet no longer has (to be destroyed)."""
    if not plans_dir.is_dir():
        return []
    planned = {plan.stack for plan in plans}
    return sorted(p.stem for p in plans_dir.glob("*.json") if p.stem not in planned)


def compare_and_save(
    plans: Sequence[StackPlan],
    plans_dir: Path,
    *,
    save: bool = True,
    complete: bool = False,
) -> list[StackChanges]:
    """Changes against the saved plans; then save the new ones (secrets were redacted already),
    each with the keyed digests of its secret inputs (`plan_digests`), which tell a changed
    secret input from an unchanged one.

    With `complete` (the whole fleet was planned), saved stacks that are gone are reported removed
    and their saved plans deleted. What a run killed outright left of the folder is finished
    first (`recover_staged`), so the saved plans read are whole and a gone stack's plan it was
    deleting is gone.
    """
    if save:
        recover_staged(plans_dir)
    key = ensure_key(plans_dir) if save else read_key(plans_dir)
    # Not saving in a folder without a key: digests that nothing saved can be compared with.
    digests = {plan.stack: digests_of(key or secrets.token_bytes(32), plan.secret_inputs) for plan in plans}
    changes = [
        diff_plans(
            plan.stack,
            load_saved(plans_dir, plan.stack),
            plan,
            digests_before=load_digests(plans_dir, plan.stack, key),
            digests_after=digests[plan.stack].inputs,
        )
        for plan in plans
    ]
    gone = gone_stacks(plans, plans_dir) if complete else []
    if gone:
        changes += [diff_plans(stack, load_saved(plans_dir, stack), None) for stack in gone]
    if save:
        texts = {plan_path(Path(), plan.stack).name: plan.model_dump_json(indent=1) + "\n" for plan in plans}
        texts.update({digests_path(Path(), stack).name: digests_text(held) for stack, held in digests.items()})
        changed = {name: text for name, text in texts.items() if would_change(plans_dir / name, text, 0o600)}
        if changed or gone:
            # The saved plans whole or as they were: a run stopped part-way leaves no plans of
            # two fleets side by side, nor a gone stack's plan deleted while the rest are old,
            # nor a plan without the digests of its secret inputs.
            removed = [path(Path(), stack).name for stack in gone for path in (plan_path, digests_path)]
            with staged_directory(plans_dir, remove=removed) as staging:
                for name, text in changed.items():
                    atomic_write_text(staging / name, text, mode=0o600, durable=False)
    return changes


def resource_tree(plan: StackPlan) -> list[str]:
    """The stack's resources as an indented tree (children under their parent component)."""
    children: dict[str | None, list[PlannedResource]] = {}
    urns = {r.urn for r in plan.resources}
    for resource in plan.resources:
        parent = resource.parent if resource.parent in urns else None
        children.setdefault(parent, []).append(resource)
    lines: list[str] = [f"{plan.stack} ({len(plan.resources)} resources)"]

    def walk(parent: str | None, prefix: str) -> None:
        kids = sorted(children.get(parent, []), key=lambda r: (r.type.rsplit(":", 1)[-1], r.name))
        for index, resource in enumerate(kids):
            last = index == len(kids) - 1
            short_type = resource.type.rsplit(":", 1)[-1]
            lines.append(f"{prefix}{'└─ ' if last else '├─ '}{short_type} {resource.name}")
            walk(resource.urn, prefix + ("   " if last else "│  "))

    walk(None, "")
    return lines
