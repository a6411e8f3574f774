"""`storestack drift`: does every appliance (and, with the Pulumi CLI, every stack) still match the
inventory?

For each hub and store appliance the running config is fetched over the push engine's session
(read-only: nothing enters configuration mode) and compared with the config rendered from the
inventory, using the same cloud outputs a rollout renders with. The remediation that would fix a
drift is reported redacted. With the Pulumi CLI on PATH each stack is previewed too; any pending
change is drift of the cloud side.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from storestack.devices.companions import CompanionChange, changed_lines, unified
from storestack.devices.configdiff import Redactor, compute_diff, redactor_for, secret_paths
from storestack.devices.errors import DevicesError, PushError
from storestack.devices.fleet_targets import refuse_contradictions
from storestack.devices.inspect import fetch_state
from storestack.devices.render import RenderedConfig, render_fleet
from storestack.devices.targets import ApplianceInventory, ApplianceTarget
from storestack.network.errors import NetworkError
from storestack.rollout.environment import DEFAULT_STATE_DIR, ConnectionOptions, Environment, prepare
from storestack.rollout.outputs import pulumi_cli_available
from storestack.stacks.automation import run_operation
from storestack.stacks.config import CORE_STACK, store_stack_name
from storestack.stacks.errors import StackError
from storestack.stacks.render import DEFAULT_OUT, render_stacks

ApplianceStatus = Literal["in_sync", "drifted", "unreachable", "error"]
REMEDIATION_LIMIT = 200


class CompanionDrift(BaseModel):
    """One companion file of the appliance's host (FRR: nftables.conf …) against its render."""

    name: str
    status: Literal["in_sync", "drifted", "missing", "not-taken"]
    change_lines: int = 0
    diff: str | None = Field(default=None, description="unified diff appliance → intended (redacted)")


class ApplianceDrift(BaseModel):
    name: str
    role: str
    store_id: str | None
    platform: str
    status: ApplianceStatus
    change_lines: int = 0
    remediation: list[str] = []
    companions: list[CompanionDrift] = []
    # The appliance keeps secrets in a form the running config cannot show, and this state
    # directory's secret ledger records none of them: its secret lines count as changes.
    secrets_unrecorded: bool = False
    error: str | None = None


class StackDrift(BaseModel):
    stack: str
    status: Literal["in_sync", "drifted", "error"]
    changes: dict[str, int] = {}
    error: str | None = None


class DriftReport(BaseModel):
    outputs_mode: str
    source: str
    pulumi: str
    appliances: list[ApplianceDrift]
    stacks: list[StackDrift]

    def count(self, status: str) -> int:
        return sum(1 for item in self.appliances if item.status == status)

    @property
    def summary(self) -> dict[str, int]:
        return {
            "appliances": len(self.appliances),
            "in_sync": self.count("in_sync"),
            "drifted": self.count("drifted"),
            "unreachable": self.count("unreachable"),
            "error": self.count("error"),
            "stacks_drifted": sum(1 for s in self.stacks if s.status != "in_sync"),
        }

    @property
    def ok(self) -> bool:
        return all(a.status == "in_sync" for a in self.appliances) and all(
            s.status == "in_sync" for s in self.stacks
        )


def _scope(env: Environment) -> tuple[list[str], list[str]]:
    """Stores (not decommissioned) and hubs that have an appliance among the targets."""
    stores = [
        store.id
        for store in env.fleet
        if store.state != "decommissioned" and any(a.hostname in env.targets for a in store.appliances)
    ]
    hubs = [hub for hub in env.fleet.hubs if hub in env.targets]
    return stores, hubs


def _intended(env: Environment, stores: list[str], hubs: list[str]) -> tuple[dict[str, RenderedConfig], dict[str, str]]:
    """Configs by appliance (rendered as a rollout would), and render errors by appliance."""
    configs: dict[str, RenderedConfig] = {}
    errors: dict[str, str] = {}
    outputs = {}
    failed: set[str] = set()
    for store_id in stores:
        try:
            found = env.outputs.get(store_id)
        except (DevicesError, NetworkError, StackError) as exc:
            failed.add(store_id)
            for appliance in env.fleet.store(store_id).appliances:
                errors[appliance.hostname] = f"stack outputs: {exc}"
            continue
        if found is not None:
            outputs[store_id] = found
    for store_id in stores:
        if store_id in failed:
            continue
        try:
            for config in render_fleet(env.fleet, outputs=outputs, store_ids=[store_id], hubs=[], reveal_secrets=True):
                configs[config.name] = config
        except (DevicesError, NetworkError) as exc:
            for appliance in env.fleet.store(store_id).appliances:
                errors[appliance.hostname] = f"render: {exc}"
    for hub in hubs:
        try:
            (config,) = render_fleet(
                env.fleet, outputs=outputs, store_ids=[], hubs=[hub], reveal_secrets=True, core=env.outputs.core()
            )
            configs[hub] = config
        except (DevicesError, NetworkError, StackError) as exc:
            errors[hub] = f"render: {exc}"
    return configs, errors


def _compare(env: Environment, target: ApplianceTarget, config: RenderedConfig, secrets: set[str]) -> ApplianceDrift:
    base = ApplianceDrift(
        name=target.name, role=target.role, store_id=target.store_id, platform=target.platform, status="in_sync"
    )
    redactor = redactor_for(target.platform, secrets)
    try:
        running, listed, changes = fetch_state(target, env.push_context, config.companions)
    except PushError as exc:
        return base.model_copy(update={"status": "unreachable", "error": redactor.redact(exc.message)})
    # The secrets the appliance is known to hold: a device shows none as it was sent.
    ledger = env.push_context.ledger
    held = ledger.held(target.name).listing(listed) if ledger is not None else None
    diff = compute_diff(running, config.text, target.platform, held=held)
    companions = [_companion_drift(target.name, change, redactor) for change in changes]
    if diff.in_sync and all(item.status in ("in_sync", "not-taken") for item in companions):
        return base.model_copy(update={"companions": companions})
    return base.model_copy(
        update={
            "status": "drifted",
            "change_lines": diff.change_lines,
            "remediation": redactor.redact_lines(diff.remediation[:REMEDIATION_LIMIT]),
            "companions": companions,
            "secrets_unrecorded": bool(secret_paths(config.text, target.platform))
            and (held is None or not held.fingerprints),
        }
    )


def _companion_drift(appliance: str, change: CompanionChange, redactor: Redactor) -> CompanionDrift:
    if not change.taken:
        return CompanionDrift(name=change.name, status="not-taken")
    if not change.pending:
        return CompanionDrift(name=change.name, status="in_sync")
    before = change.before_text or ""
    return CompanionDrift(
        name=change.name,
        status="missing" if change.before_digest is None else "drifted",
        change_lines=changed_lines(before, change.text),
        diff=unified(before, change.text, appliance=appliance, name=change.name, redactor=redactor),
    )


def _stack_drift(env: Environment, stores: list[str]) -> list[StackDrift]:
    render_stacks(env.fleet, env.stacks_dir)
    results = []
    for stack in [CORE_STACK, *(store_stack_name(s) for s in stores)]:
        try:
            preview = run_operation("preview", stack, env.stacks_dir, backend=env.outputs.backend)
        except StackError as exc:
            results.append(StackDrift(stack=stack, status="error", error=str(exc)))
            continue
        changes = {k: v for k, v in preview.changes.items() if k != "same" and v}
        results.append(StackDrift(stack=stack, status="drifted" if changes else "in_sync", changes=changes))
    return results


def check_drift(
    fleet_path: Path,
    *,
    lab_state_dir: Path | None = None,
    state_dir: Path = DEFAULT_STATE_DIR,
    stacks_dir: Path = DEFAULT_OUT,
    connection: ConnectionOptions | None = None,
    concurrency: int = 20,
    targets: ApplianceInventory | None = None,
    backend: str | None = None,
    on_done: Callable[[ApplianceDrift], None] | None = None,
) -> DriftReport:
    """Compare every appliance in scope (the lab's, or the fleet's) with its intended config."""
    env = prepare(
        fleet_path,
        [],
        lab_state_dir=lab_state_dir,
        state_dir=state_dir,
        stacks_dir=stacks_dir,
        connection=connection,
        backend=backend,
        targets=targets,
    )
    stores, hubs = _scope(env)
    try:
        names = [*hubs, *(a.hostname for s in stores for a in env.fleet.store(s).appliances)]
        if targets is not None:
            # An entry of --targets that says otherwise than the inventory (another vendor's
            # driver, store or role) is refused at its line before any appliance is reached.
            refuse_contradictions(env.fleet, (env.targets[name] for name in names))
        # A login that cannot be resolved is a configuration error before any appliance is reached,
        # and before the intended configs are rendered and the cloud outputs read for nothing.
        env.push_context.credentials.check(env.targets[name] for name in names)
        configs, errors = _intended(env, stores, hubs)
        secrets = env.secret_values()

        def check(name: str) -> ApplianceDrift:
            target = env.targets[name]
            if name in errors:
                result = ApplianceDrift(
                    name=name, role=target.role, store_id=target.store_id, platform=target.platform,
                    status="error", error=errors[name],
                )
            else:
                result = _compare(env, target, configs[name], secrets)
            if on_done is not None:
                on_done(result)
            return result

        with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(names) or 1)), thread_name_prefix="drift") as pool:
            appliances = list(pool.map(check, names))
        if lab_state_dir is not None:
            stacks, pulumi = [], "not checked: the lab has no cloud stacks"
        elif pulumi_cli_available():
            stacks, pulumi = _stack_drift(env, stores), "checked with pulumi preview (expect no changes)"
        else:
            stacks, pulumi = [], "not checked: the Pulumi CLI is not on PATH"
    finally:
        env.close()
    return DriftReport(
        outputs_mode=env.outputs_mode,
        source=(
            f"targets {targets.source}" if targets is not None
            else f"lab {lab_state_dir}" if lab_state_dir is not None else "fleet inventory"
        ),
        pulumi=pulumi,
        appliances=appliances,
        stacks=stacks,
    )
