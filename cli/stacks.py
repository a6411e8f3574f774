"""`storestack stacks render|matrix`, `storestack plan`, and `storestack preview|up|destroy|refresh|outputs`.

The `stacks` group itself is `cli/stacks_group.py`: listing its commands imports nothing of Pulumi.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from storestack.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    console,
    emit_json,
    err_console,
    fail,
    fleet_option,
    for_option,
    json_always_option,
    json_option,
    markup,
)
from storestack.cli.inventory import load_or_exit
from storestack.common.destroyguard import MAX_UNASKED, MAX_UNASKED_SHARE, guard_destroy
from storestack.components import ApplianceConfigRenderer
from storestack.inventory import Fleet
from storestack.stacks.automation import (
    OPERATIONS,
    Operation,
    ProgressEvent,
    bounded_parallel,
    run_operation,
    stack_kind,
)
from storestack.stacks.checks import CHECKS
from storestack.stacks.config import DEFAULT_CORE_REFERENCE, store_stack_name
from storestack.stacks.device_bridge import appliance_config_renderer
from storestack.stacks.errors import (
    UnknownStackError,
)
from storestack.stacks.plan import (
    DEFAULT_PLANS_DIR,
    PlanReport,
    ResourceChange,
    StackPlan,
    compare_and_save,
    gone_stacks,
    make_tasks,
    plan_tasks,
    plans_dir_for,
    resource_tree,
)
from storestack.stacks.render import (
    DEFAULT_OUT,
    Shard,
    destroy_stacks,
    plan_stacks,
    render_stacks,
    stack_matrix,
)

DETAIL_LIMIT = 10


def out_option(func: Any) -> Any:
    return click.option(
        "--out",
        "out_dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=DEFAULT_OUT,
        show_default=True,
        help="Where rendered stack folders live.",
    )(func)


def _shard(text: str | None) -> Shard | None:
    with for_option("--shard"):
        return Shard.parse(text) if text else None


def allow_destroy_option(func: Any) -> Any:
    return click.option(
        "--allow-destroy",
        type=click.IntRange(0),
        default=None,
        metavar="N",
        help=f"Allow up to N stacks to be destroyed (default: at most {MAX_UNASKED} and "
        f"{MAX_UNASKED_SHARE:.0%} of the fleet; more stops with exit 2).",
    )(func)


def _guard(doomed: list[str], fleet: Fleet, allow: int | None) -> None:
    every = {store_stack_name(store.id) for store in fleet} | set(doomed)
    guard_destroy(doomed, len(every), allow, what="store stacks")


@click.command()
@fleet_option
@out_option
@click.option("--shard", "shard_text", metavar="K/N", help="Render only shard K of N of the store stacks.")
@click.option(
    "--core-stack", default=DEFAULT_CORE_REFERENCE, show_default=True, help="Core StackReference name."
)
@allow_destroy_option
@json_option
def render(
    fleet_path: Path | None,
    out_dir: Path,
    shard_text: str | None,
    core_stack: str,
    allow_destroy: int | None,
    as_json: bool,
) -> None:
    """Write Pulumi.<stack>.yaml for every stack (deterministic; unchanged files are left alone)."""
    fleet = load_or_exit(fleet_path, as_json=as_json)
    _guard(destroy_stacks(fleet, out_dir, shard=_shard(shard_text)), fleet, allow_destroy)
    result = render_stacks(
        fleet, out_dir, shard=_shard(shard_text), core_reference=core_stack, workers=os.cpu_count() or 1
    )
    notes = {s.name: list(s.notes) for s in result.stacks if s.notes}
    if as_json:
        emit_json(
            {
                "ok": True,
                "out": str(out_dir),
                "stacks": [s.as_dict() for s in result.stacks],
                "written": [str(p) for p in result.written],
                "unchanged": len(result.unchanged),
                "destroy": result.destroy,
                "notes": notes,
            }
        )
        return
    console.print(
        markup(
            "rendered {} stacks into {}: {} written, {} unchanged",
            len(result.stacks), out_dir, len(result.written), len(result.unchanged),
        )
    )
    for stack, stack_notes in notes.items():
        for note in stack_notes:
            console.print(markup("[yellow]note[/] {}: {}", stack, note))
    if result.destroy:
        console.print(markup("[red]to destroy[/] ({}): {}", len(result.destroy), ", ".join(result.destroy)))


@click.command()
@fleet_option
@out_option
@click.option("--shards", type=click.IntRange(1, 256), default=1, show_default=True)
@allow_destroy_option
@json_always_option
def matrix(fleet_path: Path | None, out_dir: Path, shards: int, allow_destroy: int | None, as_json: bool) -> None:
    """Print a CI matrix (JSON): the core stack, then store stacks in even, stable shards.

    Each shard lists its stacks to bring up (`stacks`) and to destroy (`destroy`: decommissioned
    stores, and stores that left the inventory but are still pinned in allocations.yaml or
    rendered under --out).
    """
    # The matrix is JSON for CI, and so is any error it stops with (--json is always on).
    fleet = load_or_exit(fleet_path, as_json=True)
    _guard(destroy_stacks(fleet, out_dir), fleet, allow_destroy)
    emit_json(stack_matrix(fleet, out_dir, shards=shards))


@click.command()
@fleet_option
@click.option("--stack", "stack_names", multiple=True, help="Plan only this stack (repeatable).")
@click.option("--store", "store_ids", multiple=True, help="Plan only this store's stack (repeatable).")
@click.option("--shard", "shard_text", metavar="K/N", help="Plan only shard K of N of the store stacks.")
@click.option(
    "--advisory",
    multiple=True,
    type=click.Choice(CHECKS),
    help="Report this check's findings without failing (repeatable).",
)
@click.option(
    "--plans-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help=f"Where the last plan of each stack is kept for the change list (default: a folder per fleet "
    f"under {DEFAULT_PLANS_DIR}).",
)
@allow_destroy_option
@click.option("--no-save", is_flag=True, help="Compare with the saved plan but do not replace it.")
@click.option(
    "--workers", type=click.IntRange(1, 256), default=None, help="Processes (default: one per core)."
)
@click.option(
    "--detail/--summary", default=None, help="Trees and counts per stack (default when ≤10 stacks)."
)
@click.option(
    "--with-configs",
    is_flag=True,
    help="Also render each store appliance's intended config into its StoreEdge, as preview/up do "
    "(catches outputs that do not fit the templates; about 15% more plan time).",
)
@json_option
def plan(
    fleet_path: Path | None,
    stack_names: tuple[str, ...],
    store_ids: tuple[str, ...],
    shard_text: str | None,
    advisory: tuple[str, ...],
    plans_dir: Path | None,
    allow_destroy: int | None,
    no_save: bool,
    workers: int | None,
    detail: bool | None,
    with_configs: bool,
    as_json: bool,
) -> None:
    """Plan stacks offline under Pulumi mocks: resource graph, change list, checks."""
    fleet = load_or_exit(fleet_path, as_json=as_json)
    _entries, configs = plan_stacks(fleet, shard=_shard(shard_text))
    wanted = set(stack_names) | {store_stack_name(store_id) for store_id in store_ids}
    with for_option("--store"):
        for store_id in store_ids:
            fleet.store(store_id)
    unknown = sorted(wanted - set(configs))
    if unknown:
        with for_option("--stack" if unknown[0] in stack_names else "--store"):
            raise UnknownStackError(unknown[0], sorted(configs))
    tasks = [t for t in make_tasks(configs, advisory) if not wanted or t.stack in wanted]
    if shard_text and not wanted:
        # The core is its own CI job (see `stacks matrix`); shards plan store stacks only.
        tasks = [t for t in tasks if t.kind == "store"]
    with _progress(len(tasks), "planning", enabled=not as_json and len(tasks) > 1) as advance:
        plans = plan_tasks(
            tasks, workers=workers, on_done=lambda p: advance(p.stack), fleet=fleet if with_configs else None
        )
    complete = not wanted and shard_text is None
    plans_dir = plans_dir or plans_dir_for(fleet)
    # Nothing is saved yet: a plan that would destroy much of the fleet stops here.
    decommissioned = {store_stack_name(s.id) for s in fleet if s.state == "decommissioned"}
    doomed = {p.stack for p in plans if p.stack in decommissioned}
    doomed.update(gone_stacks(plans, plans_dir) if complete else [])
    _guard(sorted(doomed), fleet, allow_destroy)
    report = PlanReport(
        stacks=plans, changes=compare_and_save(plans, plans_dir, save=not no_save, complete=complete)
    )
    if as_json:
        emit_json(report.summary())
    else:
        _print_plan(report, detail if detail is not None else len(plans) <= DETAIL_LIMIT)
    if not report.ok:
        raise SystemExit(EXIT_FAILED)


def _print_plan(report: PlanReport, detail: bool) -> None:
    changes = {c.stack: c for c in report.changes}
    total = sum(len(p.resources) for p in report.stacks)
    for stack_plan in report.stacks:
        change = changes[stack_plan.stack]
        counted = {
            a: sum(1 for c in change.changes if c.action == a) for a in ("add", "change", "replace", "remove", "unknown")
        }
        # `?N`: resources whose secret inputs the saved plan cannot compare (saved without digests).
        unknown = markup(" [magenta]?{}[/]", counted["unknown"]) if counted["unknown"] else ""
        console.print(
            markup(
                "[bold]{}[/] {} resources, {}: [green]+{}[/] [yellow]~{}[/] [red]+-{}[/] [red]-{}[/]",
                stack_plan.stack, len(stack_plan.resources), change.status,
                counted["add"], counted["change"], counted["replace"], counted["remove"],
            )
            + unknown
        )
        if detail:
            _print_stack_detail(stack_plan, change.changes)
        for protected in (c for c in change.changes if c.protected):
            verb = "replaced" if protected.action == "replace" else "removed"
            console.print(
                markup(
                    "  [red]protected[/] {} would be {}: `up` fails until it is "
                    "unprotected on purpose (README, \"Desktop users\")",
                    protected.urn, verb,
                ),
                highlight=False,
                emoji=False,
                soft_wrap=True,
            )
        for finding in stack_plan.findings:
            colour = "red" if finding.severity == "error" else "yellow"
            where = f" {finding.urn}" if finding.urn else ""
            console.print(
                markup(f"  [{colour}]{{}}[/] {{}}{{}}: {{}}", finding.severity, finding.check, where, finding.message),
                emoji=False,
                soft_wrap=True,
            )
    for removed in (c for c in report.changes if c.status == "removed"):
        console.print(markup("[bold]{}[/] [red]removed[/]: -{} resources", removed.stack, len(removed.changes)))
    console.print(
        f"plan: {len(report.stacks)} stacks, {total} resources, "
        f"{len(report.errors)} error(s), {len(report.advisories)} advisory finding(s)"
    )


def _print_stack_detail(stack_plan: StackPlan, changes: list[Any]) -> None:
    for resource_type, count in stack_plan.counts.items():
        console.print(
            f"  {count:4d}  {resource_type}", markup=False, emoji=False, highlight=False, soft_wrap=True
        )
    for line in resource_tree(stack_plan):
        console.print(f"  {line}", markup=False, emoji=False, highlight=False, soft_wrap=True)
    for change in changes:
        if change.action == "change":
            shown = markup("  [yellow]~[/] {} ({})", change.urn, _changed_inputs(change))
        elif change.action == "replace":
            shown = markup("  [red]+-[/] {} ({})", change.urn, _changed_inputs(change))
        elif change.action == "unknown":
            shown = markup("  [magenta]?[/] {} ({})", change.urn, _changed_inputs(change))
        elif change.action == "remove":
            shown = markup("  [red]-[/] {}", change.urn)
        elif len(changes) <= 50:
            shown = markup("  [green]+[/] {}", change.urn)
        else:
            continue
        console.print(shown, highlight=False, emoji=False, soft_wrap=True)


def _changed_inputs(change: ResourceChange) -> str:
    """A change's inputs by name, a secret one marked: `changed (secret)` by its digest, `unknown
    (secret)` where the saved plan has none (saved before digests)."""
    hidden = {name: state for name, state in change.secrets.items() if name not in change.keys}
    named = [f"{key} changed (secret)" if change.secrets.get(key) == "changed" else key for key in change.keys]
    return ", ".join(named + [f"{name} unknown (secret)" for name in sorted(hidden)])


class _progress:
    """A progress bar on stderr for long work; a no-op for --json or a single item."""

    def __init__(self, total: int, label: str, *, enabled: bool) -> None:
        self.total, self.label, self.enabled = total, label, enabled
        self.bar: Progress | None = None

    def __enter__(self) -> Any:
        if not self.enabled:
            return lambda _item: None
        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        )
        self.bar.start()
        task = self.bar.add_task(self.label, total=self.total)
        bar = self.bar
        return lambda item: bar.update(task, advance=1, description=f"{self.label} {item}")

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


# The operations that run the program; a store stack's program renders its appliances' configs.
RENDERING_OPERATIONS = frozenset({"preview", "up"})


def _appliance_renderer(stack: str, fleet_path: Path | None, as_json: bool) -> ApplianceConfigRenderer | None:
    """For a store stack: the renderer `storestack devices render` uses, over the inventory.

    The stack keeps the rendered config as a secret output, so device secrets come from the
    environment (`management.secrets`) as for any push file.
    """
    if not stack.startswith("store-"):
        return None
    fleet = load_or_exit(fleet_path, as_json=as_json)
    store_id = stack.removeprefix("store-")
    if store_id not in {store.id for store in fleet}:
        fail(f"store {store_id} is not in the inventory at {fleet.root} (use --fleet)", EXIT_USAGE, as_json=as_json)
    return appliance_config_renderer(fleet)


def _operation_command(operation: Operation) -> click.Command:
    helps = {
        "preview": "Preview changes to a stack with the Pulumi engine (Automation API).",
        "up": "Create or update a stack's resources (Automation API).",
        "destroy": "Destroy a stack's resources (Automation API).",
        "refresh": "Refresh a stack's state from the clouds (Automation API).",
        "outputs": "Show a stack's outputs (secrets stay hidden).",
    }

    @click.command(name=operation, help=helps[operation])
    @click.option("--stack", "stack", required=True, help="core or store-<id>.")
    @out_option
    @fleet_option
    @click.option("--backend", default=None, help="State backend URL (default: $STORESTACK_BACKEND or file).")
    @click.option("--parallel", type=int, default=None, help="Resource operations in parallel (1-64).")
    @json_option
    def command(
        stack: str, out_dir: Path, fleet_path: Path | None, backend: str | None, parallel: int | None, as_json: bool
    ) -> None:
        with for_option("--stack"):
            stack_kind(stack)
        with for_option("--parallel"):
            bounded_parallel(parallel)
        renderer = _appliance_renderer(stack, fleet_path, as_json) if operation in RENDERING_OPERATIONS else None
        display = _OperationDisplay(enabled=not as_json)
        with display:
            result = run_operation(
                operation,
                stack,
                out_dir,
                backend=backend,
                parallel=parallel,
                on_event=display.event,
                renderer=renderer,
            )
        if as_json:
            emit_json(
                {
                    "ok": True,
                    "stack": stack,
                    "operation": operation,
                    "changes": result.changes,
                    "outputs": result.outputs,
                }
            )
            return
        if result.changes:
            console.print(
                markup("{} {}: {}", operation, stack, ", ".join(f"{k} {v}" for k, v in result.changes.items()))
            )
        for name, value in result.outputs.items():
            console.print(f"  {name}: {value}", markup=False, highlight=False)

    return command


class _OperationDisplay:
    """Engine events as a live progress line, with failures and warnings printed as they come."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Progress | None = None
        self.task: Any = None
        self.done = 0

    def __enter__(self) -> _OperationDisplay:
        if self.enabled:
            self.bar = Progress(
                SpinnerColumn(), TextColumn("{task.description}", markup=False), console=err_console, transient=True
            )
            self.bar.start()
            self.task = self.bar.add_task("starting")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def event(self, event: ProgressEvent) -> None:
        if self.bar is None:
            return
        if event.kind == "start":
            self.bar.update(self.task, description=f"{event.op} {event.resource_type} ({self.done} done)")
        elif event.kind == "done":
            self.done += 1
        elif event.kind == "failed":
            self.bar.console.print(markup("[red]failed[/] {} {}", event.op, event.urn), highlight=False)
        elif event.kind == "diagnostic":
            self.bar.console.print(markup("[yellow]{}[/]", event.message), highlight=False)


def register_stacks(group: click.Group) -> None:
    """Add `render` and `matrix` to the `stacks` group (`cli/stacks_group.py`)."""
    group.add_command(render)
    group.add_command(matrix)


def register(group: click.Group) -> None:
    """Add `plan` and the engine operations to the top-level command group."""
    group.add_command(plan)
    for operation in OPERATIONS:
        group.add_command(_operation_command(operation))
