"""`storestack rollout` and `storestack drift`: thin wrappers over storestack.rollout.

Exit codes: 0 every store live (or no drift), 1 a store failed or stopped (or drift found),
2 usage or configuration errors (unknown store, lab not up, bad options); nothing changed then.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn, TypeVar

import click
from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from storestack.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    TextTable,
    commit_confirm_options,
    console,
    default_fleet_path,
    emit_json,
    err_console,
    exit_code_for,
    fail_on,
    fleet_option,
    for_option,
    inventory_issue_entries,
    json_errors,
    json_option,
    markup,
    print_table,
    quiet_device_logs,
    targets_option,
)
from storestack.cli.lab import resolve_state_dir
from storestack.common.journal import RunSteps, StepRecord, StepStatus
from storestack.devices.push import checked_confirm_timeout
from storestack.rollout.drift import ApplianceDrift, DriftReport, check_drift
from storestack.rollout.environment import DEFAULT_STATE_DIR, STORES_ARGUMENT, ConnectionOptions
from storestack.rollout.errors import RolloutConfigError, RolloutInventoryError
from storestack.rollout.report import RolloutSummary, StoreSummary, summarise
from storestack.rollout.rollout import (
    DEFAULT_VERIFY_TIMEOUT,
    STEP_NAMES,
    STEPS,
    RolloutObserver,
    RolloutOptions,
    RolloutResult,
    discard_run,
    held_push_files,
    journal_to_resume,
    load_targets,
    outputs_mode_text,
    run_rollout,
)
from storestack.stacks.render import DEFAULT_OUT

F = TypeVar("F", bound=Callable[..., Any])

_MARK = {
    StepStatus.PENDING: Text("·", style="dim"),
    StepStatus.DONE: Text("✓", style="green"),
    StepStatus.FAILED: Text("✗", style="bold red"),
    StepStatus.SKIPPED: Text("-", style="dim"),
}
_SHORT = {
    "validate": "valid",
    "plan": "plan",
    "up": "up",
    "render": "render",
    "push": "push",
    "verify": "verify",
    "activate": "act",
}
STEP_LEGEND = "steps: " + "  ".join(f"{n} {name}" for n, name in enumerate(STEP_NAMES, start=1))
WIDE_TABLE = 120
# Stack column: resources, and how they compare with the last saved plan ("?": secret inputs it
# saved no digests of).
_CHANGE_MARK = {"new": "new", "changed": "changed", "unchanged": "=", "unknown": "?"}


class RolloutDisplay(RolloutObserver):
    """A live table: one row per store, one column per step, and what is happening now."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.states: dict[str, dict[str, StepStatus]] = {}
        self.now: dict[str, Text] = {}
        self.started: dict[str, float] = {}
        self.finished: dict[str, float] = {}
        self._spinner = Spinner("dots", style="yellow")
        self.mode = ""

    def on_start(self, journal: RunSteps, mode: str) -> None:
        with self._lock:
            self.mode = mode
            for store, subject in journal.subjects.items():
                self.states[store] = {record.name: record.status for record in subject.steps}

    def on_step(self, store: str, record: StepRecord) -> None:
        with self._lock:
            self.states.setdefault(store, {})[record.name] = record.status
            self.started.setdefault(store, time.monotonic())
            if record.status is StepStatus.RUNNING:
                self.now[store] = Text(dict(STEPS)[record.name])
            elif record.status is StepStatus.FAILED:
                self.now[store] = Text(record.error or "failed", style="red")
                self.finished[store] = time.monotonic()
            elif record.name == STEP_NAMES[-1]:
                self.now[store] = Text(record.summary, style="green")
                self.finished[store] = time.monotonic()

    def on_detail(self, store: str, text: str) -> None:
        with self._lock:
            self.now[store] = Text(text)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.table(options.max_width)

    def table(self, width: int) -> Table:
        table = TextTable(box=None, pad_edge=False, header_style="bold", caption=STEP_LEGEND, caption_justify="left")
        table.add_column("store", no_wrap=True, min_width=7)
        for number, _name in enumerate(STEP_NAMES, start=1):
            table.add_column(str(number), justify="center", no_wrap=True, min_width=1)
        table.add_column("time", justify="right", no_wrap=True, min_width=6)
        # Everything but "now" takes about 40 columns; "now" gets the rest, cut short, never the step marks.
        table.add_column("now", overflow="ellipsis", no_wrap=True, max_width=max(12, width - 42))
        with self._lock:
            for store, steps in self.states.items():
                marks: list[Any] = [
                    self._spinner if steps.get(name) is StepStatus.RUNNING else _MARK[steps.get(name, StepStatus.PENDING)]
                    for name in STEP_NAMES
                ]
                start = self.started.get(store)
                elapsed = (self.finished.get(store) or time.monotonic()) - start if start else 0.0
                table.add_row(store, *marks, f"{elapsed:.1f}s" if start else "", self.now.get(store, ""))
        return table


@contextmanager
def stop_on_sigint(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C: no new step starts; running steps finish (a push completes or rolls back)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()
        err_console.print("[yellow]interrupt:[/] finishing the running steps, starting no new ones")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_with_display(
    start: Callable[[RolloutObserver, threading.Event], RolloutResult], *, live: bool
) -> RolloutResult:
    stop = threading.Event()
    if not live:
        with stop_on_sigint(stop):
            return start(RolloutObserver(), stop)
    display = RolloutDisplay()
    try:
        with stop_on_sigint(stop), Live(display, console=err_console, refresh_per_second=8, transient=False):
            return start(display, stop)
    finally:
        if not err_console.is_terminal:
            err_console.line()  # a log gets the last frame on a line of its own


def lab_dir_options(func: F | None = None, *, verb: str = "Roll out to") -> Any:
    """--lab, --lab-name and --lab-dir; `verb` says what the command does with the lab."""
    if func is None:
        return lambda inner: lab_dir_options(inner, verb=verb)
    func = click.option(
        "--lab-dir",
        "lab_dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help="The lab's state directory (default .storestack/lab/<lab-name>).",
    )(func)
    func = click.option("--lab-name", default="default", show_default=True, help="Name of the lab to use.")(func)
    return click.option("--lab", "use_lab", is_flag=True, help=f"{verb} the running lab (planned outputs).")(func)


def state_dir_option(func: F) -> F:
    return click.option(
        "--state-dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=DEFAULT_STATE_DIR,
        show_default=True,
        help="Run journals, backups, plans and learned host keys.",
    )(func)


@click.command("rollout")
@click.argument("stores", nargs=-1)
@fleet_option
@lab_dir_options
@click.option("--dry-run", is_flag=True, help="Plan, render and diff; change nothing.")
@click.option("--resume", "resume_run", default=None, metavar="RUN", help="Continue run RUN from each store's first unfinished step.")
@click.option("--discard", "discard_run_id", default=None, metavar="RUN",
              help="Give up run RUN (killed, or stopped and not to be resumed): remove its push files, "
                   "which hold secrets, and refuse --resume of it.")
@click.option("--fail-fast", is_flag=True, help="Stop every store at its next step once one store failed.")
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Stores per batch, whose hubs are pushed once for all of them; the next batch "
                   "prepares and pushes while one verifies.")
@click.option("--no-failover", is_flag=True, help="With --lab: skip the failover drill of the verify step.")
@click.option("--drill", is_flag=True,
              help="With --lab: drill failover even for a store whose push changed nothing (skipped by default).")
@click.option("--verify-timeout", default=None, type=float,
              help="Seconds for BGP and prefixes to show up [default: 60, or the resumed run's].")
@click.option("--health-timeout", default=30.0, show_default=True, type=float, help="Seconds for a push's health checks.")
@click.option("--stacks-out", "stacks_dir", type=click.Path(path_type=Path, file_okay=False), default=DEFAULT_OUT,
              show_default=True, help="Where rendered stack folders live.")
@click.option("--backend", default=None, help="Pulumi state backend URL (default: $STORESTACK_BACKEND or file).")
@targets_option(default="the lab's with --lab, else built from the fleet inventory")
@state_dir_option
@commit_confirm_options
@json_option
def rollout(
    stores: tuple[str, ...],
    fleet_path: Path | None,
    use_lab: bool,
    lab_name: str,
    lab_dir: Path | None,
    dry_run: bool,
    resume_run: str | None,
    discard_run_id: str | None,
    fail_fast: bool,
    concurrency: int,
    no_failover: bool,
    drill: bool,
    verify_timeout: float | None,
    health_timeout: float,
    stacks_dir: Path,
    backend: str | None,
    targets_file: Path | None,
    state_dir: Path,
    confirm_timeout: int,
    no_confirm_i_know: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Take STORE… from inventory entry to live store: validate, plan, up, render, push, verify, activate.

    Every step is journaled in .storestack/runs/<run-id>.json; --resume RUN continues from the first
    step that did not finish. Re-running a finished rollout changes nothing (zero lines pushed).
    """
    quiet_device_logs()
    if discard_run_id is not None:
        _discard(discard_run_id, stores, resume_run, state_dir, as_json=as_json)
    journal: RunSteps | None
    try:
        if resume_run is not None:
            if stores:
                raise RolloutConfigError(
                    "--resume continues a run with its own stores; name no store", field=STORES_ARGUMENT
                )
            overrides: dict[str, Any] = {"concurrency": concurrency, "fail_fast": fail_fast}
            if drill:
                overrides["drill_unchanged"] = True
            if verify_timeout is not None:
                overrides["verify_timeout"] = verify_timeout
            with for_option("--resume"):
                journal, options = journal_to_resume(resume_run, state_dir=state_dir, **overrides)
        else:
            journal = None
            if targets_file is not None:
                with for_option("--targets"):  # a file refused whole names the option, before anything runs
                    load_targets(targets_file)
            options = RolloutOptions(
                stores=tuple(stores),
                fleet_path=fleet_path or default_fleet_path(),
                lab_state_dir=resolve_state_dir(lab_name, lab_dir) if use_lab else None,
                dry_run=dry_run,
                concurrency=concurrency,
                fail_fast=fail_fast,
                failover=not no_failover,
                drill_unchanged=drill,
                verify_timeout=verify_timeout if verify_timeout is not None else DEFAULT_VERIFY_TIMEOUT,
                state_dir=state_dir,
                stacks_dir=stacks_dir,
                backend=backend,
                targets_file=targets_file,
                connection=ConnectionOptions(
                    health_timeout=health_timeout,
                    confirm_timeout=checked_confirm_timeout(confirm_timeout, off_acknowledged=no_confirm_i_know),
                    force=force,
                ),
            )
        if not as_json:
            err_console.print(_intro(options, journal), soft_wrap=True)
            _warn_held_push_files(state_dir, besides=journal.run_id if journal else None)
        result = run_with_display(
            lambda observer, stop: run_rollout(options, journal=journal, observer=observer, stop=stop),
            live=not as_json,
        )
    except RolloutInventoryError as exc:
        if as_json:
            emit_json(json_errors(inventory_issue_entries(exc.issues), str(exc)))
        else:
            for issue in exc.issues:
                err_console.print(Text(str(issue)), highlight=False)
            err_console.print(markup("[bold red]error:[/] {}; nothing was changed", exc))
        raise SystemExit(exit_code_for(exc)) from None
    except RolloutConfigError as exc:
        fail_on(exc, as_json=as_json, context="; nothing was changed")
    summary = summarise(
        result.journal,
        state_dir=state_dir,
        outputs_mode=result.outputs_mode,
        titles=dict(STEPS),
        nothing_to_do=result.nothing_to_do,
    )
    if as_json:
        # Earlier runs that still keep push files (secrets) on disk: resume or discard each.
        held = held_push_files(state_dir, besides=summary.run_id)
        emit_json({**summary.model_dump(mode="json"), "held_push_files": [item.run_id for item in held]})
    else:
        print_summary(summary, options)
    if result.interrupted:
        raise SystemExit(EXIT_INTERRUPTED)  # Ctrl-C, as every command reports it
    raise SystemExit(EXIT_OK if summary.ok else EXIT_FAILED)


def _discard(
    run_id: str, stores: tuple[str, ...], resume_run: str | None, state_dir: Path, *, as_json: bool
) -> NoReturn:
    """`rollout --discard RUN`: the run's push files removed, the run never resumed; exit 0."""
    try:
        if stores:
            raise RolloutConfigError("--discard gives up a run; name no store", field=STORES_ARGUMENT)
        if resume_run is not None:
            raise RolloutConfigError("--discard and --resume exclude each other", field="--discard")
        with for_option("--discard"):
            discarded = discard_run(state_dir, run_id)
    except RolloutConfigError as exc:
        fail_on(exc, as_json=as_json, context="; nothing was changed")
    if as_json:
        emit_json(
            {
                "ok": True,
                "run_id": discarded.run_id,
                "stores": list(discarded.stores),
                "files_removed": discarded.files,
                "already_discarded": discarded.already_discarded,
            }
        )
    elif discarded.files:
        console.print(
            markup(
                "run {}: removed {} push file(s) of {}; it can no longer be resumed",
                run_id, discarded.files, ", ".join(discarded.stores) or "no store",
            )
        )
    else:
        state = "was discarded already" if discarded.already_discarded else "is discarded now"
        console.print(markup("run {}: no push files left; it {}", run_id, state))
    raise SystemExit(EXIT_OK)


def _warn_held_push_files(state_dir: Path, *, besides: str | None) -> None:
    """Earlier runs that still keep push files (secrets) on disk, and how to be rid of them."""
    for held in held_push_files(state_dir, besides=besides):
        since = f" since {held.updated_at:%Y-%m-%d %H:%M} UTC" if held.updated_at else ""
        err_console.print(
            markup(
                "[yellow]note:[/] run {} keeps {} push file(s) with secrets of {}{}: resume it "
                "(storestack rollout --resume {}) or remove them (storestack rollout --discard {})",
                held.run_id, held.files, ", ".join(held.stores) or "no store", since, held.run_id, held.run_id,
            ),
            soft_wrap=True,
        )


def _intro(options: RolloutOptions, journal: RunSteps | None) -> Text:
    where = f"the lab in {options.lab_state_dir}" if options.lab_state_dir else "the fleet's appliances"
    verb = f"resuming {journal.run_id}:" if journal else ("dry run of" if options.dry_run else "rolling out")
    return Text(f"{verb} {', '.join(options.stores)} to {where}, batches of {options.concurrency} store(s)")


def print_summary(summary: RolloutSummary, options: RolloutOptions) -> None:
    if summary.nothing_to_do:
        console.print(markup("run {} had already finished: nothing to resume, nothing changed", summary.run_id))
    console.print(markup("cloud outputs: {}", outputs_mode_text(summary.outputs_mode, options)))
    # Timings per step as columns when the terminal is wide enough, else as a line per store.
    wide = console.width >= WIDE_TABLE or not console.is_terminal
    table = TextTable(title=f"rollout {summary.run_id}", header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("store", no_wrap=True)
    for name in STEP_NAMES if wide else ():
        table.add_column(_SHORT[name], justify="right", no_wrap=True)
    table.add_column("total", justify="right", no_wrap=True)
    table.add_column("stack", justify="right", no_wrap=True)
    table.add_column("lines", justify="right", no_wrap=True)
    table.add_column("checks", justify="right", no_wrap=True)
    table.add_column("state", no_wrap=True)
    for store in summary.stores:
        times: list[str | Text] = []
        for step in store.steps:
            if step.status == "failed":
                times.append(Text("✗", style="red"))
            elif step.duration_s is None:
                times.append(Text("·", style="dim"))
            else:
                times.append(f"{step.duration_s:.1f}s")
        checks = store.checks
        if store.active:
            state = markup("[green]active[/]" if store.changed else "[green]active[/] [dim]=[/]")
        elif summary.dry_run and store.status == "done":
            state = markup("[cyan]dry run[/]")
        else:
            state = markup("[red]{}[/]", store.status)
        stack = ""
        if store.resources is not None:
            stack = f"{store.resources} {_CHANGE_MARK.get(store.resource_change or '', '')}".strip()
        table.add_row(
            store.store,
            *(times if wide else ()),
            f"{store.duration_s:.1f}s",
            stack,
            str(store.lines_pushed),
            f"{checks['passed']}" + (f"+{checks['skipped']}s" if checks["skipped"] else ""),
            state,
        )
    # Logs (no terminal) get the wide table whatever width rich guesses for them.
    print_table(table)
    if not wide:
        for store in summary.stores:
            console.print(
                markup(
                    "{}: {}",
                    store.store,
                    " · ".join(f"{s.name} {s.duration_s:.1f}s" for s in store.steps if s.duration_s is not None),
                ),
                highlight=False,
            )
    console.print(
        "[dim]times per step; stack: resources (= unchanged since the last plan); lines: config lines pushed; "
        "checks: passed (+ skipped, e.g. emulated appliances without a data plane); = nothing changed[/]"
    )
    for store in summary.stores:
        if store.status != "done":
            _print_stopped_store(store)
        elif summary.dry_run:
            _print_dry_run(store)
    totals = summary.totals
    if summary.dry_run:
        console.print(markup("dry run: nothing was changed; journal: {}", summary.journal), soft_wrap=True)
        return
    console.print(
        Text(
            f"{totals['active']}/{totals['stores']} store(s) active, {totals['lines_pushed']} config line(s) pushed, "
            f"{totals['checks_passed']} check(s) passed"
            + (f", {totals['checks_skipped']} skipped" if totals["checks_skipped"] else "")
            + f"; journal: {summary.journal}"
        ),
        soft_wrap=True,
    )
    if summary.nothing_changed:
        console.print("[green]nothing changed:[/] every store was already live as the inventory describes it")
    if summary.resume_command:
        console.print(markup("resume with: [bold]{}[/]", summary.resume_command), soft_wrap=True)


def _print_stopped_store(store: StoreSummary) -> None:
    failed = next((s for s in store.steps if s.name == store.failed_step), None)
    if failed is not None:
        console.print(
            markup("[bold red]{} stopped at {}:[/] {}", store.store, failed.name, failed.error or ""), soft_wrap=True
        )
        if failed.rollback:
            console.print(markup("  rollback: {}", failed.rollback), soft_wrap=True)
    else:
        console.print(markup("[yellow]{} did not finish[/] (interrupted or stopped by --fail-fast)", store.store))
    for layer in store.layers:
        console.print(markup("  {} {}", f"{layer.layer:<15}", layer.state), soft_wrap=True)


def _print_dry_run(store: StoreSummary) -> None:
    push = next(s for s in store.steps if s.name == "push")
    console.print(markup("{}: {}", store.store, push.summary))


# ------------------------------------------------------------------ drift


@click.command("drift")
@fleet_option
@lab_dir_options(verb="Check for drift on")
@click.option("--concurrency", default=20, show_default=True, type=click.IntRange(1, 256), help="Appliances read at once.")
@click.option("--stacks-out", "stacks_dir", type=click.Path(path_type=Path, file_okay=False), default=DEFAULT_OUT,
              show_default=True, help="Where rendered stack folders live (for the Pulumi preview).")
@click.option("--backend", default=None, help="Pulumi state backend URL (default: $STORESTACK_BACKEND or file).")
@targets_option(default="the lab's with --lab, else built from the fleet inventory")
@state_dir_option
@json_option
def drift(
    fleet_path: Path | None,
    use_lab: bool,
    lab_name: str,
    lab_dir: Path | None,
    concurrency: int,
    stacks_dir: Path,
    backend: str | None,
    targets_file: Path | None,
    state_dir: Path,
    as_json: bool,
) -> None:
    """Compare every hub's and store appliance's running config with the inventory (read-only).

    Prints the remediation per drifted appliance and a fleet summary; with the Pulumi CLI on PATH
    also previews every stack. Exit 1 on any drift or unreachable appliance.
    """
    quiet_device_logs()
    lab_state_dir = resolve_state_dir(lab_name, lab_dir) if use_lab else None
    progress: Callable[[ApplianceDrift], None] | None = None
    if not as_json:
        progress = lambda item: err_console.print(  # noqa: E731 - a one-line progress printer
            markup(f"  {{}}: {_DRIFT_STYLE[item.status]}", item.name), highlight=False
        )
        err_console.print("reading running configs (read-only)…")
    targets = None
    if targets_file is not None:
        with for_option("--targets"):
            targets = load_targets(targets_file)
    try:
        report = check_drift(
            fleet_path or default_fleet_path(),
            lab_state_dir=lab_state_dir,
            state_dir=state_dir,
            stacks_dir=stacks_dir,
            concurrency=concurrency,
            targets=targets,
            backend=backend,
            on_done=progress,
        )
    except RolloutInventoryError as exc:
        fail_on(exc, as_json=as_json, context=f": {'; '.join(map(str, exc.issues[:5]))}")
    if as_json:
        emit_json({"ok": report.ok, "summary": report.summary, **report.model_dump(mode="json")})
    else:
        print_drift(report, lab=use_lab)
    raise SystemExit(EXIT_OK if report.ok else EXIT_FAILED)


_DRIFT_STYLE = {
    "in_sync": "[green]in sync[/]",
    "drifted": "[yellow]drifted[/]",
    "unreachable": "[red]unreachable[/]",
    "error": "[red]error[/]",
}


def print_drift(report: DriftReport, *, lab: bool) -> None:
    for item in report.appliances:
        if item.status == "drifted":
            console.rule(markup("{} drifted ({} change(s))", item.name, item.change_lines))
            if item.secrets_unrecorded:
                console.print(
                    "its secrets cannot be read back and this state directory's secret ledger has none of "
                    "them: they count as changes until a push from here records them (or use the state "
                    "directory of the last push, --state-dir)"
                )
            if item.remediation:
                console.print("remediation that brings it back to the inventory:")
            for line in item.remediation:
                console.print(Text(f"  {line}", style="yellow"))
            for host_file in item.companions:
                if host_file.status in ("drifted", "missing"):
                    console.print(
                        markup(
                            "host file {} {} ({} line(s)):", host_file.name, host_file.status, host_file.change_lines
                        )
                    )
                    for line in (host_file.diff or "").splitlines():
                        console.print(Text(f"  {line}", style="yellow"))
            fix = (
                f"storestack rollout {item.store_id}{' --lab' if lab else ''}"
                if item.store_id
                else f"storestack devices render --hub {item.name} --with-secrets --out DIR && "
                f"storestack devices push --appliance {item.name} --intended DIR"
            )
            console.print(markup("fix with: [bold]{}[/]", fix))
        elif item.status in ("unreachable", "error"):
            console.print(markup("[red]{} {}:[/] {}", item.name, item.status, item.error or ""))
    for stack in report.stacks:
        if stack.status != "in_sync":
            detail = ", ".join(f"{k} {v}" for k, v in stack.changes.items()) or (stack.error or "")
            console.print(markup("[yellow]stack {} {}:[/] {}", stack.stack, stack.status, detail))
    s = report.summary
    console.print(
        Text(
            f"fleet: {s['in_sync']} in sync, {s['drifted']} drifted, {s['unreachable']} unreachable"
            + (f", {s['error']} error(s)" if s["error"] else "")
            + f" ({s['appliances']} appliances, {report.source}; cloud outputs {report.outputs_mode})"
        )
    )
    console.print(Text(f"stacks: {report.pulumi}" + (f"; {s['stacks_drifted']} drifted" if report.stacks else "")))


def register(group: click.Group) -> None:
    group.add_command(rollout)
    group.add_command(drift)
