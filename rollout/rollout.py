"""`storestack rollout`: one inventory entry to a live store, in seven journaled steps.

1 validate  the inventory; pin the store's IPAM allocation in the lock file
2 plan      render the store's stack config and plan it offline (the checks must pass)
3 up        the store stack through the Automation API, or the plan's outputs (lab / no Pulumi CLI)
4 render    the store's appliance configs with those outputs, and its hubs' configs
5 push      hubs first (once per batch of stores), then the store edge, each with the push
            engine's full safe cycle
6 verify    BGP to every hub Established, prefixes on the hubs; in the lab also a failover drill
            (skipped when nothing changed, unless asked for)
7 activate  the store is live: marked active in the report

Each step's outcome is journaled (`.storestack/runs/<run-id>.json`) before the next starts, so
`--resume RUN` continues from the first unfinished step. Stores roll out in batches of
`concurrency` stores, in parallel within a batch. Every store shares the hubs, so the stores of a
batch meet before the push step and their hubs are rendered with all their outputs and pushed
once; their verify steps read each hub's BGP state together (one exchange per hub and poll).
Two batches run at a time: while one verifies, the next prepares and pushes; hub pushes keep the
batch order and never run during a failover drill (`DrillGate`).
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from storestack.common.journal import (
    RUNS_DIR,
    Journal,
    JournalError,
    RunSteps,
    StepRecord,
    StepStatus,
    live_run,
    load_steps_journal,
    now,
    steps_journal,
)
from storestack.devices.errors import DevicesError
from storestack.devices.intended import (
    IntendedConfig,
    IntendedConfigDirectory,
    IntendedConfigs,
    IntendedConfigSource,
)
from storestack.devices.push import DEFAULT_CONFIRM_TIMEOUT, push_appliance
from storestack.devices.render import RenderedConfig, render_fleet, write_configs
from storestack.devices.report import DeviceResult
from storestack.devices.targets import ApplianceInventory
from storestack.inventory import ResolvedStore
from storestack.network.build import NetworkIntent
from storestack.network.errors import NetworkError
from storestack.rollout.environment import (
    DEFAULT_STATE_DIR,
    STORES_ARGUMENT,
    ConnectionOptions,
    Environment,
    HubBatch,
    prepare,
)
from storestack.rollout.errors import RolloutConfigError, RolloutError
from storestack.rollout.outputs import MOCK_RUNTIME
from storestack.rollout.runner import Step, StepFailed, StepOutcome, finish_run, run_steps
from storestack.rollout.verify import (
    StoreVerifier,
    drill_prefix,
    expectation,
    failover_checks,
    summarise_checks,
    wait_for_checks,
)
from storestack.stacks.automation import Operation, run_operation
from storestack.stacks.config import CORE_STACK
from storestack.stacks.errors import StackError
from storestack.stacks.mapping import core_config
from storestack.stacks.plan import DEFAULT_PLANS_DIR, compare_and_save, make_tasks, plan_stack
from storestack.stacks.render import DEFAULT_OUT, render_store_stack

KIND = "rollout"
STEPS: tuple[tuple[str, str], ...] = (
    ("validate", "validate inventory, pin IPAM"),
    ("plan", "render + plan stack"),
    ("up", "stack up"),
    ("render", "render configs"),
    ("push", "push hubs, then edge"),
    ("verify", "verify end to end"),
    ("activate", "mark active"),
)
STEP_NAMES = [name for name, _title in STEPS]
DEFAULT_VERIFY_TIMEOUT = 60.0


@dataclass(frozen=True)
class RolloutOptions:
    stores: tuple[str, ...]
    fleet_path: Path
    lab_state_dir: Path | None = None
    dry_run: bool = False
    concurrency: int = 4
    fail_fast: bool = False
    failover: bool = True
    # A store whose push changed nothing skips the failover drill unless this is set.
    drill_unchanged: bool = False
    verify_timeout: float = DEFAULT_VERIFY_TIMEOUT
    state_dir: Path = DEFAULT_STATE_DIR
    stacks_dir: Path = DEFAULT_OUT
    backend: str | None = None
    targets_file: Path | None = None
    connection: ConnectionOptions = field(default_factory=ConnectionOptions)

    def __post_init__(self) -> None:
        if not self.stores:
            raise RolloutConfigError("name at least one store to roll out", field=STORES_ARGUMENT)
        if self.concurrency < 1:
            raise RolloutConfigError("--concurrency must be at least 1", field="--concurrency")
        if len(set(self.stores)) != len(self.stores):
            raise RolloutConfigError("a store is named twice", field=STORES_ARGUMENT)

    @property
    def runs_dir(self) -> Path:
        return self.state_dir / RUNS_DIR.name

    def to_journal(self) -> dict[str, Any]:
        """What `--resume` needs to continue exactly this run (paths absolute: resume may run elsewhere)."""
        return {
            "stores": list(self.stores),
            "fleet": str(self.fleet_path.resolve()),
            "lab": str(self.lab_state_dir.resolve()) if self.lab_state_dir else None,
            "dry_run": self.dry_run,
            "failover": self.failover,
            "drill_unchanged": self.drill_unchanged,
            "verify_timeout": self.verify_timeout,
            "stacks_dir": str(self.stacks_dir.resolve()),
            "backend": self.backend,
            "targets": str(self.targets_file.resolve()) if self.targets_file else None,
            "health_timeout": self.connection.health_timeout,
            "confirm_timeout": self.connection.confirm_timeout,
        }

    @classmethod
    def from_journal(cls, journal: RunSteps, *, state_dir: Path, **overrides: Any) -> RolloutOptions:
        saved = journal.options
        try:
            options = cls(
                stores=tuple(saved["stores"]),
                fleet_path=Path(saved["fleet"]),
                lab_state_dir=Path(saved["lab"]) if saved.get("lab") else None,
                dry_run=bool(saved.get("dry_run", False)),
                failover=bool(saved.get("failover", True)),
                drill_unchanged=bool(saved.get("drill_unchanged", False)),
                verify_timeout=float(saved.get("verify_timeout", 60.0)),
                state_dir=state_dir,
                stacks_dir=Path(saved.get("stacks_dir") or DEFAULT_OUT),
                backend=saved.get("backend"),
                targets_file=Path(saved["targets"]) if saved.get("targets") else None,
                connection=ConnectionOptions(
                    health_timeout=float(saved.get("health_timeout", 30.0)),
                    confirm_timeout=int(saved.get("confirm_timeout", DEFAULT_CONFIRM_TIMEOUT)),
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RolloutConfigError(f"run {journal.run_id}: its journal lacks the rollout options ({exc})") from None
        return replace(options, **overrides)


class RolloutObserver:
    """Progress for a display. Called from worker threads; implementations must be thread-safe."""

    def on_start(self, journal: RunSteps, mode: str) -> None: ...
    def on_step(self, store: str, record: StepRecord) -> None: ...
    def on_detail(self, store: str, text: str) -> None: ...


@dataclass
class StoreRun:
    """One store's rollout: the shared environment plus where its rendered configs live."""

    env: Environment
    options: RolloutOptions
    store_id: str
    run_id: str
    observer: RolloutObserver
    # The batch the store rolls out with: its hub push and its reader of the hubs' BGP state.
    batch: HubBatch = field(default_factory=lambda: HubBatch(()))
    # A dry run keeps its rendered configs (secrets filled in, for an exact diff) here, in
    # memory: it writes no secret to disk.
    held_configs: dict[str, str | IntendedConfig] = field(default_factory=dict)
    # Whether the push step changed an appliance of this store (None: not known in this process,
    # e.g. on resume after the push step: then the store counts as changed).
    changed: bool | None = None

    @property
    def config_dir(self) -> Path:
        # Push files hold secrets: under the state dir, 0700, removed once the store is live.
        return push_files_dir(self.options.state_dir, self.run_id) / self.store_id

    @property
    def store(self) -> ResolvedStore:
        return self.env.fleet.store(self.store_id)

    @property
    def hubs(self) -> list[str]:
        return list(self.store.hubs)

    @property
    def edges(self) -> list[str]:
        return [appliance.hostname for appliance in self.store.appliances]

    def detail(self, text: str) -> None:
        self.observer.on_detail(self.store_id, text)


# ------------------------------------------------------------------ the steps


def step_validate(run: StoreRun) -> StepOutcome:
    store = run.store
    new = store.id in run.env.provisional
    if new and not run.options.dry_run:
        run.env.pin_allocations()
    data = {
        "block": str(store.block) if store.block else None,
        "asn": store.asn,
        "links": {link.name: str(link.overlay) for link in store.wan},
        "new_allocation": new,
        "inventory_state": store.state,
    }
    where = f"AS {store.asn}, block {store.block}"
    if not new:
        summary = f"valid; allocation already pinned ({where})"
    elif run.options.dry_run:
        summary = f"valid; new allocation ({where}) would be pinned in allocations.yaml"
    else:
        summary = f"valid; new allocation pinned in allocations.yaml ({where})"
    return StepOutcome(summary=summary, data=data)


def step_plan(run: StoreRun) -> StepOutcome:
    fleet = run.env.fleet
    try:
        entry, config, rendered = render_store_stack(fleet, run.store_id, run.options.stacks_dir)
        tasks = make_tasks({CORE_STACK: core_config(fleet), entry.name: config})
    except StackError as exc:
        raise StepFailed(f"stack config: {exc}") from None
    task = next(t for t in tasks if t.stack == entry.name)
    with MOCK_RUNTIME:
        planned = plan_stack(task)
    plans_dir = run.options.state_dir / DEFAULT_PLANS_DIR.name
    errors = [f for f in planned.findings if f.severity == "error"]
    data: dict[str, Any] = {
        "stack": entry.name,
        "config": str(entry.config_file),
        "config_written": bool(rendered.written and entry.config_file in rendered.written),
        "resources": len(planned.resources),
        "counts": planned.counts,
        "findings": [f.model_dump() for f in planned.findings],
    }
    if errors:
        raise StepFailed(
            f"plan of {entry.name}: {len(errors)} check(s) failed: "
            + "; ".join(f"{f.check}: {f.message}" for f in errors[:5]),
            data=data,
        )
    # In planned mode nothing is remembered from this plan: every render takes the network
    # intent's planned values (`CloudOutputs.get` answers None), as `devices push` and `drift` do.
    (change,) = compare_and_save([planned], plans_dir, save=not run.options.dry_run)
    counted = {a: sum(1 for c in change.changes if c.action == a) for a in ("add", "change", "remove")}
    data.update(change=change.status, added=counted["add"], changed=counted["change"], removed=counted["remove"])
    return StepOutcome(
        summary=(
            f"{entry.name}: {len(planned.resources)} resources, checks passed, "
            f"{change.status} (+{counted['add']} ~{counted['change']} -{counted['remove']})"
        ),
        data=data,
    )


def step_up(run: StoreRun) -> StepOutcome:
    env = run.env
    stack = f"store-{run.store_id}"
    if env.outputs_mode == "planned":
        # No live stack: every render uses the network intent's planned values.
        tunnels = NetworkIntent(env.fleet).store(run.store_id).tunnels
        hub_tunnels = sum(tunnel.kind == "store-hub" for tunnel in tunnels)
        aws_tunnels = sum(tunnel.kind == "store-aws" for tunnel in tunnels)
        reason = "--lab" if run.options.lab_state_dir is not None else "no Pulumi CLI on PATH"
        return StepOutcome(
            summary=(
                f"PLANNED values ({reason}): {hub_tunnels} hub tunnel(s), "
                f"{aws_tunnels} AWS tunnel(s); no live stack"
            ),
            data={"mode": "planned", "reason": reason, "hub_tunnels": hub_tunnels, "aws_tunnels": aws_tunnels},
        )
    operation: Operation = "preview" if run.options.dry_run else "up"
    run.detail(f"pulumi {operation} {stack}")
    try:
        result = run_operation(
            operation,
            stack,
            run.options.stacks_dir,
            backend=run.options.backend,
            keep_values=operation == "up",
            on_event=lambda event: run.detail(f"{event.op} {event.resource_type}") if event.kind == "start" else None,
        )
    except StackError as exc:
        raise StepFailed(f"pulumi {operation} {stack}: {exc}") from None
    if operation == "up":
        outputs = env.outputs.remember(run.store_id, result.values)
        outputs_text = f"{len(outputs.links)} hub tunnel(s), {len(outputs.aws_tunnels)} AWS tunnel(s)"
    else:
        outputs_text = "outputs planned until the stack is up"
    changes = {k: v for k, v in result.changes.items() if k != "same"}
    return StepOutcome(
        summary=f"pulumi {operation} {stack}: {_changes_text(changes)}; {outputs_text}",
        data={"mode": "live", "operation": operation, "changes": result.changes, "outputs": result.outputs},
    )


def _changes_text(changes: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(changes.items())) or "no changes"


def step_render(run: StoreRun) -> StepOutcome:
    env = run.env
    try:
        outputs = env.outputs.mapping([run.store_id])
        # The hubs are rendered at the push step, once for the whole batch (push_batch_hubs).
        configs = list(render_fleet(env.fleet, outputs=outputs, store_ids=[run.store_id], hubs=[], reveal_secrets=True))
    except (DevicesError, NetworkError, StackError) as exc:
        raise StepFailed(f"render: {exc}") from None
    directory = run.config_dir
    if run.options.dry_run:
        run.held_configs.update(
            (config.name, IntendedConfig(config.text, companions=config.companions, stated_ports=config.stated_ports))
            for config in configs
        )
    else:
        # With each appliance's stated WAN ports, for the push step (a resumed run too); the
        # folder (0700) whole or not there, even if the run is killed outright meanwhile.
        write_configs(configs, directory)
    planned = run.store_id not in outputs or outputs[run.store_id].planned
    return StepOutcome(
        summary=(
            f"{', '.join(run.edges)} (hub(s) {', '.join(run.hubs)} at the push, for the batch)"
            + (" from PLANNED values" if planned else " from live stack outputs")
        ),
        data={"appliances": [c.name for c in configs], "planned": planned, "directory": str(directory)},
    )


def _compact(result: DeviceResult) -> dict[str, Any]:
    """What the journal keeps of a push (already redacted by the push engine)."""
    return {
        "name": result.name,
        "role": result.role,
        "outcome": result.outcome,
        "lines_sent": result.config_lines_sent,
        "change_lines": result.change_lines,
        "stage": result.stage,
        "error": result.error,
        "findings": result.findings,
        "backup": result.backup_path,
        "rollback": result.rollback.model_dump(include={"ok", "lines_sent", "running_matches_backup", "error"})
        if result.rollback
        else None,
        "duration_s": result.duration_s,
        "remediation": result.remediation if result.outcome == "planned" else [],
        "companions": [
            item.model_dump(include={"name", "status", "change_lines"}) for item in result.companions
        ],
    }


def _rollback_text(result: DeviceResult) -> str | None:
    if result.commit_confirm is not None and result.commit_confirm.reverted_by_appliance:
        return f"{result.name} reverted the change by itself: its running config equals the backup again ({result.backup_path})"
    if result.rollback is None:
        return f"{result.name}: nothing was sent, nothing to roll back" if result.config_lines_sent == 0 else None
    if result.rollback.ok:
        return f"{result.name} rolled back: its running config equals the backup again ({result.backup_path})"
    return (
        f"ROLLBACK FAILED on {result.name}: {result.rollback.error or 'running config differs from the backup'}; "
        f"restore it from {result.backup_path}"
    )


def push_batch_hubs(env: Environment, stores: list[str], on_stage: Callable[[str, str], None]) -> list[DeviceResult]:
    """The hubs of a batch of stores, rendered with every store's outputs and pushed once, in parallel.

    Never raises: a hub that could not be rendered or pushed is a failed result.
    """
    hubs = sorted({hub for store in stores for hub in env.fleet.store(store).hubs})
    try:
        outputs = env.outputs.mapping(stores)
        configs = list(
            render_fleet(
                env.fleet, outputs=outputs, store_ids=[], hubs=hubs, reveal_secrets=True, core=env.outputs.core()
            )
        )
    except (DevicesError, NetworkError, StackError) as exc:
        return [
            DeviceResult.for_target(env.targets[hub], outcome="failed", stage="intended", error=f"render: {exc}")
            for hub in hubs
        ]
    secrets = frozenset(env.secret_values())

    def push(config: RenderedConfig) -> DeviceResult:
        return push_appliance(
            env.targets[config.name],
            IntendedConfig(config.text, secrets, config.companions),
            context=env.push_context,
            on_stage=on_stage,
        )

    with env.drills.hub_push(), ThreadPoolExecutor(max_workers=max(1, len(configs)), thread_name_prefix="hub-push") as pool:
        return list(pool.map(push, configs))


def step_push(run: StoreRun) -> StepOutcome:
    env = run.env
    intended: IntendedConfigSource = (
        IntendedConfigs(run.held_configs, secrets=env.secret_values())
        if run.options.dry_run
        else IntendedConfigDirectory(run.config_dir, secrets=env.secret_values())
    )
    results: list[DeviceResult] = []
    reused: list[str] = []

    def data() -> dict[str, Any]:
        return {"devices": [_compact(r) for r in results], "lines_sent": _lines(results), "hubs_already_pushed": reused}

    def fail_on(result: DeviceResult) -> None:
        if result.failed:
            raise StepFailed(f"{result.name}: {result.stage}: {result.error}", rollback=_rollback_text(result), data=data())

    pusher, hub_results = run.batch.arrive(
        run.store_id,
        lambda stores: push_batch_hubs(env, stores, lambda device, stage: run.detail(f"{device}: {stage}")),
    )
    mine = [r for r in hub_results if r.name in run.hubs]
    if pusher == run.store_id:
        results += hub_results
    else:
        reused += [f"{r.name} (pushed for the batch with {pusher})" for r in mine]
    for result in mine:
        fail_on(result)
    for edge in run.edges:
        try:
            config = intended.intended_config(env.targets[edge])
        except DevicesError as exc:
            raise StepFailed(f"{edge}: {exc}; start a fresh rollout to render it again", data=data()) from None
        result = push_appliance(
            env.targets[edge],
            config,
            context=env.push_context,
            on_stage=lambda device, stage: run.detail(f"{device}: {stage}"),
        )
        results.append(result)
        fail_on(result)
    run.changed = any(r.outcome == "changed" for r in [*mine, *results])
    lines = _lines(results)
    if run.options.dry_run:
        would = sum(len(r.remediation) for r in results)
        files = sum(1 for r in results for item in r.companions if item.status == "planned")
        return StepOutcome(
            summary=f"dry run: {would} line(s) would be sent" + (f", {files} host file(s) installed" if files else ""),
            data=data(),
        )
    changed = [r.name for r in results if r.outcome == "changed"]
    installed = [f"{r.name}:{item.name}" for r in results for item in r.companions if item.status == "changed"]
    summary = (
        f"{lines} line(s) pushed"
        + (f", host file(s) {', '.join(installed)}" if installed else "")
        + f"; changed: {', '.join(changed)}"
        if changed
        else "0 lines pushed: every appliance already runs its intended config"
    )
    if reused:
        summary += f"; {', '.join(reused)}"
    return StepOutcome(summary=summary, data=data())


def _lines(results: list[DeviceResult]) -> int:
    return sum(r.config_lines_sent for r in results)


def step_verify(run: StoreRun) -> StepOutcome:
    if run.options.dry_run:
        return StepOutcome(summary="dry run: nothing to verify", skipped=True)
    env = run.env
    verifier = StoreVerifier(
        expectation(run.store, NetworkIntent(env.fleet)), env.probe(), env.platforms, no_data_plane=env.no_data_plane, hubs=run.batch.reader
    )
    drill = env.links is not None and run.options.failover
    if drill and run.changed is False and not run.options.drill_unchanged:
        drill = False
        run.detail("nothing changed: no failover drill (ask for one with --drill)")
    run.detail("waiting for BGP sessions and prefixes on the hubs")
    try:
        checks = wait_for_checks(
            verifier.bgp_checks,
            timeout=run.options.verify_timeout,
            on_wait=lambda current: run.detail(
                f"waiting: {next(c.name for c in current if c.status == 'failed')}"
            ),
        )
        if not any(c.status == "failed" for c in checks) and drill and env.links is not None:
            # The next batch's hub push waits for this: it would see the drilled link's session drop.
            run.detail("failover drill")
            with env.drills.drill():
                checks += failover_checks(
                    verifier,
                    env.links,
                    drill_prefix(env.fleet, env.links),
                    timeout=run.options.verify_timeout,
                    on_progress=run.detail,
                )
    except DevicesError as exc:
        raise StepFailed(f"verify: cannot read appliance state: {exc}") from None
    data = {"checks": [c.model_dump() for c in checks], **summarise_checks(checks)}
    failed = [c for c in checks if c.status == "failed"]
    if failed:
        raise StepFailed(
            "; ".join(f"{c.name}: {c.detail}" for c in failed[:4])
            + (f" (+{len(failed) - 4} more)" if len(failed) > 4 else ""),
            data=data,
        )
    counts = summarise_checks(checks)
    skipped = f", {counts['skipped']} skipped" if counts["skipped"] else ""
    return StepOutcome(summary=f"{counts['passed']} check(s) passed{skipped}", data=data)


def step_activate(run: StoreRun) -> StepOutcome:
    if run.options.dry_run:
        return StepOutcome(summary="dry run: the store stays as it is", skipped=True)
    store = run.store
    shutil.rmtree(run.config_dir, ignore_errors=True)
    hint = (
        f"; set `state: active` in {store.source_file}" if store.state != "active" else ""
    )
    return StepOutcome(summary=f"{store.id} is active{hint}", data={"state": "active", "inventory_state": store.state})


STEP_FUNCTIONS: dict[str, Callable[[StoreRun], StepOutcome]] = {
    "validate": step_validate,
    "plan": step_plan,
    "up": step_up,
    "render": step_render,
    "push": step_push,
    "verify": step_verify,
    "activate": step_activate,
}


def steps() -> list[Step[StoreRun]]:
    titles = dict(STEPS)
    return [Step(name, titles[name], STEP_FUNCTIONS[name]) for name in STEP_NAMES]


# ------------------------------------------------------------------ the run


@dataclass
class RolloutResult:
    journal: RunSteps
    options: RolloutOptions
    outputs_mode: str
    nothing_to_do: bool = False
    interrupted: bool = False  # Ctrl-C (the `stop` event) ended the run before every step ran

    @property
    def ok(self) -> bool:
        return all(subject.status is StepStatus.DONE for subject in self.journal.subjects.values())


def load_targets(path: Path) -> ApplianceInventory:
    """An appliance inventory file (`devices push --targets` reads the same format); an unreadable
    or invalid one is an AppliancesFileError naming each file, line and field."""
    return ApplianceInventory.load(path)


def start_journal(options: RolloutOptions) -> RunSteps:
    journal = RunSteps.start(KIND, {store: STEP_NAMES for store in options.stores}, options.to_journal())
    steps_journal(options.runs_dir, journal).save()
    return journal


def load_journal(state_dir: Path, run_id: str) -> RunSteps:
    return _rollout_journal(state_dir, run_id).record


def _rollout_journal(state_dir: Path, run_id: str) -> Journal[RunSteps]:
    try:
        journal = load_steps_journal(state_dir / RUNS_DIR.name, run_id)
    except JournalError as exc:
        raise RolloutConfigError(str(exc)) from None
    if journal.record.kind != KIND:
        raise RolloutConfigError(f"run {run_id} is a {journal.record.kind} run, not a rollout")
    return journal


# Where a run's push files (rendered configs with their secrets, 0600) live, a folder per store
# (0700), under the state directory: until the store is active, or the run is discarded.
PUSH_FILES_DIR = "rollout"


def push_files_dir(state_dir: Path, run_id: str) -> Path:
    return state_dir / PUSH_FILES_DIR / run_id


@dataclass(frozen=True)
class HeldPushFiles:
    """A run whose push files are still on disk: its stores' folders, and when it was last at work."""

    run_id: str
    stores: tuple[str, ...]
    files: int
    updated_at: datetime | None


def held_push_files(state_dir: Path, *, besides: str | None = None) -> list[HeldPushFiles]:
    """Every run but `besides` that still holds push files (a run killed, or stopped and never
    resumed): each keeps secrets on disk until it is resumed to the end or discarded."""
    root = state_dir / PUSH_FILES_DIR
    held = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if folder.name == besides or not folder.is_dir():
            continue
        files = sum(1 for path in folder.rglob("*") if path.is_file())
        if not files:
            continue
        try:
            updated: datetime | None = load_journal(state_dir, folder.name).updated_at
        except RolloutConfigError:
            updated = None  # a folder without a readable journal still holds secrets
        stores = tuple(sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")))
        held.append(HeldPushFiles(folder.name, stores, files, updated))
    return held


@dataclass(frozen=True)
class DiscardedRun:
    """What `discard_run` removed: the run's stores whose push files were on disk, how many files."""

    run_id: str
    stores: tuple[str, ...]
    files: int
    already_discarded: bool


def discard_run(state_dir: Path, run_id: str) -> DiscardedRun:
    """Remove the push files (secrets) of run `run_id`, a run killed or stopped that will not be
    resumed, and mark its journal discarded: `--resume` then refuses it (its stores roll out
    with a fresh run). A run already finished or discarded has nothing left; saying so is all.
    A run still running in another process (`live_run`) is refused, nothing removed."""
    _rollout_journal(state_dir, run_id)  # an unknown run: refused before anything is made
    with contextlib.ExitStack() as live:
        _enter_live(live, state_dir / RUNS_DIR.name, run_id, field="--discard")
        return _discard_run(state_dir, run_id)


def _discard_run(state_dir: Path, run_id: str) -> DiscardedRun:
    journal = _rollout_journal(state_dir, run_id)
    (held,) = [item for item in held_push_files(state_dir) if item.run_id == run_id] or [
        HeldPushFiles(run_id, (), 0, None)
    ]
    folder = push_files_dir(state_dir, run_id)
    try:
        shutil.rmtree(folder)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise RolloutError(f"cannot remove the push files of run {run_id} in {folder}: {exc.strerror}") from None
    already = journal.record.discarded_at is not None or journal.record.finished
    if not already:
        with journal.lock:
            journal.record.discarded_at = now()
            journal.save()
    return DiscardedRun(run_id, held.stores, held.files, already)


def run_rollout(
    options: RolloutOptions,
    *,
    journal: RunSteps | None = None,
    observer: RolloutObserver | None = None,
    stop: threading.Event | None = None,
    environment: Environment | None = None,
) -> RolloutResult:
    """Roll out `options.stores` (or continue `journal`). Raises RolloutError before anything changed;
    after that, failures are in the journal and the result."""
    observer = observer or RolloutObserver()
    stop = stop or threading.Event()
    env = environment or prepare(
        options.fleet_path,
        list(options.stores),
        lab_state_dir=options.lab_state_dir,
        state_dir=options.state_dir,
        stacks_dir=options.stacks_dir,
        connection=options.connection,
        dry_run=options.dry_run,
        backend=options.backend,
        targets=load_targets(options.targets_file) if options.targets_file else None,
    )
    if journal is None:
        journal = start_journal(options)
    elif all(subject.status is StepStatus.DONE for subject in journal.subjects.values()):
        env.close()
        return RolloutResult(journal, options, env.outputs_mode, nothing_to_do=True)
    live = contextlib.ExitStack()
    try:
        _enter_live(live, options.runs_dir, journal.run_id, field="--resume")
    except RolloutConfigError:
        env.close()
        raise
    with live:
        return _run_live(options, journal, env, observer, stop)


def _enter_live(stack: contextlib.ExitStack, runs_dir: Path, run_id: str, *, field: str) -> None:
    """Hold run `run_id` live in this process until `stack` closes (`live_run`); one another
    process runs (resumes or discards) now is a bad value of `field`, nothing done."""
    try:
        stack.enter_context(live_run(runs_dir, run_id))
    except JournalError as exc:
        raise RolloutConfigError(str(exc), field=field) from None


def _run_live(
    options: RolloutOptions, journal: RunSteps, env: Environment, observer: RolloutObserver, stop: threading.Event
) -> RolloutResult:
    """The stores of `journal` rolled out, the run held live by this process."""
    journal_file = steps_journal(options.runs_dir, journal)
    observer.on_start(journal, env.outputs_mode)
    failed = threading.Event()
    step_list = steps()

    def should_stop() -> bool:
        return stop.is_set() or (options.fail_fast and failed.is_set())

    def on_step(store_id: str, record: StepRecord) -> None:
        if record.status is StepStatus.FAILED:
            failed.set()  # before anyone hears of it: with --fail-fast no other store starts a step
        observer.on_step(store_id, record)

    def roll(store_id: str, batch: HubBatch) -> bool:
        run = StoreRun(env, options, store_id, journal.run_id, observer, batch=batch)

        def before_step(name: str) -> None:
            if name == "push":
                batch.wait_for_previous()

        def on_event(store: str, record: StepRecord) -> None:
            if record.name == "push" and record.status is not StepStatus.RUNNING:
                batch.push_ended(store)
            on_step(store, record)

        try:
            return run_steps(
                journal_file, store_id, step_list, run, on_event=on_event, should_stop=should_stop, before_step=before_step
            )
        finally:
            batch.leave(store_id)  # failed, stopped or done: the batch's hub push does not wait for it

    def finish(futures: list[Future[bool]]) -> None:
        for future in futures:
            future.result()  # an unexpected error of a step runner

    pending = [s for s, subject in journal.subjects.items() if subject.status is not StepStatus.DONE]
    size = options.concurrency
    try:
        # Two batches at a time: while one verifies, the next one prepares and pushes (after the
        # previous batch's pushes; a hub push and a failover drill exclude each other: env.drills).
        with ThreadPoolExecutor(max_workers=min(2 * size, len(pending) or 1), thread_name_prefix="rollout") as pool:
            in_flight: deque[list[Future[bool]]] = deque()
            batch: HubBatch | None = None
            for start in range(0, len(pending), size):
                stores = pending[start : start + size]
                batch = env.start_batch(stores, after=batch)
                in_flight.append([pool.submit(roll, store, batch) for store in stores])
                if len(in_flight) == 2:
                    finish(in_flight.popleft())
            while in_flight:
                finish(in_flight.popleft())
    finally:
        env.close()
    if all(subject.status is StepStatus.DONE for subject in journal.subjects.values()):
        finish_run(journal_file)
    with contextlib.suppress(OSError):  # the run's push files are gone once every store is live
        push_files_dir(options.state_dir, journal.run_id).rmdir()
    return RolloutResult(journal, options, env.outputs_mode, interrupted=stop.is_set())


def journal_to_resume(run_id: str, *, state_dir: Path, **overrides: Any) -> tuple[RunSteps, RolloutOptions]:
    """A rollout's journal and the options it started with (`overrides`: concurrency, fail_fast)."""
    journal = load_journal(state_dir, run_id)
    if journal.discarded_at is not None:
        raise RolloutConfigError(
            f"run {run_id} was discarded at {journal.discarded_at:%Y-%m-%d %H:%M} UTC, its push files removed: "
            f"roll its stores out with a fresh run (storestack rollout {' '.join(journal.subjects)})"
        )
    options = RolloutOptions.from_journal(journal, state_dir=state_dir, **overrides)
    # A step that was running when the process died did not finish: it runs again.
    for subject in journal.subjects.values():
        for record in subject.steps:
            if record.status is StepStatus.RUNNING:
                record.status = StepStatus.PENDING
    return journal, options


def outputs_mode_text(mode: str, options: RolloutOptions) -> str:
    if mode == "live":
        return "live: stacks go up through the Pulumi Automation API"
    reason = "--lab" if options.lab_state_dir is not None else "no Pulumi CLI on PATH"
    return f"PLANNED: cloud outputs come from the offline plan ({reason}); no live stack is created"

