"""`storestack devices push`: the safe push of intended configs to many appliances.

Thin: it selects targets, builds the options, runs the library's runner and prints. Exit codes:
0 every appliance ok, 1 any appliance failed (or was not started), 2 usage or configuration error.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

from storestack.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    InputFile,
    TextTable,
    commit_confirm_options,
    console,
    core_outputs_option,
    default_fleet_path,
    emit_json,
    err_console,
    for_option,
    json_option,
    markup,
    print_table,
    quiet_device_logs,
    targets_option,
)
from storestack.cli.devices import load_core_outputs_file, load_outputs
from storestack.common.platforms import PLATFORM_NAMES
from storestack.devices.backups import BackupStore
from storestack.devices.errors import PushConfigError
from storestack.devices.fleet_targets import fleet_secret_values, refuse_contradictions, targets_from_fleet
from storestack.devices.intended import (
    HELD_OVER_DIR,
    IntendedConfigDirectory,
    IntendedConfigs,
    IntendedConfigSource,
    refuse_intended_contradictions,
    rendered_held_over_configs,
    rendered_intended_configs,
)
from storestack.devices.journal import DEFAULT_RUNS_DIR, last_push_run, pushed_in_change, unfinished_names
from storestack.devices.push import PushOptions, checked_confirm_timeout
from storestack.devices.push_order import FleetChangeOrder, check_selection, fleet_change_order
from storestack.devices.report import DeviceResult, RunReport, RunSummary
from storestack.devices.runner import (
    DEFAULT_CONCURRENCY,
    PushObserver,
    PushTargets,
    RunOptions,
    parse_shard,
    run_push,
)
from storestack.devices.session import SessionOptions
from storestack.devices.targets import ApplianceInventory
from storestack.inventory import Fleet, InventoryError, load_fleet
from storestack.network.outputs import CoreCloudOutputs

_OUTCOME_STYLE = {
    "changed": "green",
    "unchanged": "dim",
    "planned": "cyan",
    "failed": "bold red",
    "reverted-by-appliance": "bold yellow",
    "skipped": "yellow",
    "pending": "yellow",
    "running": "yellow",
}


class _LiveProgress(PushObserver):
    """One progress bar per wave, plus a line per interrupt."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[int, TaskID] = {}
        self.wave = 0

    def on_wave_start(self, wave: int, label: str, names: Sequence[str]) -> None:
        self.wave = wave
        self.tasks[wave] = self.progress.add_task(label, total=len(names), status="")

    def on_stage(self, name: str, stage: str) -> None:
        task = self.tasks.get(self.wave)
        if task is not None:
            self.progress.update(task, status=f"{name}: {stage}")

    def on_device_done(self, result: DeviceResult) -> None:
        task = self.tasks.get(result.wave)
        if task is not None:
            mark = "✗ " if result.failed else ""
            self.progress.update(task, advance=1, status=f"{mark}{result.name}: {result.outcome}")

    def on_interrupt(self, running: Sequence[str]) -> None:
        self.progress.console.print(
            f"[yellow]interrupt:[/] no new appliances start; waiting for {len(running)} running "
            "to finish or roll back"
        )


@contextmanager
def _stop_on_sigint(stop: threading.Event, notify: PushObserver) -> Iterator[None]:
    """First Ctrl-C: stop starting appliances. Running ones always finish or roll back."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()
        notify.on_interrupt([])

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _load_targets(targets_file: Path | None, fleet: Fleet | None) -> PushTargets:
    if targets_file is not None:
        # An unreadable or invalid file is an AppliancesFileError naming each file, line and field.
        with for_option("--targets"):
            return PushTargets.from_inventory(ApplianceInventory.load(targets_file))
    assert fleet is not None
    return PushTargets.from_inventory(targets_from_fleet(fleet))


def _refuse_contradictions(
    targets_file: Path | None, fleet: Fleet | None, intended_dir: Path | None, targets: PushTargets
) -> None:
    """The appliances a run reaches whose --targets entries say otherwise (another vendor's
    driver, store or role) than the fleet inventory, where it could be read, and those whose
    --intended config (its header) is another appliance's or says otherwise than their entry,
    refused at their lines."""
    if targets_file is not None and fleet is not None:
        refuse_contradictions(fleet, targets)
    if intended_dir is not None:
        refuse_intended_contradictions(IntendedConfigDirectory(intended_dir), targets)


def _load_fleet(fleet_path: Path | None, needed: bool) -> Fleet | None:
    """The fleet, when the push needs it (targets, --region, rendering) or can use it (redaction)."""
    path = fleet_path or default_fleet_path()
    try:
        return load_fleet(path)
    except (InventoryError, OSError) as exc:
        if not needed:
            return None
        if isinstance(exc, InventoryError):
            # Every issue with its file, line and field, exit 1, as every command reports an
            # invalid inventory (a fleet that is not there stays a usage error, exit 2).
            raise
        raise PushConfigError(f"cannot read the inventory at {path}: {exc}") from None


def _change_order(before_path: Path, fleet: Fleet | None) -> tuple[Fleet, FleetChangeOrder]:
    """The fleet at `before_path` and the make-before-break order of the change from it to `fleet`."""
    assert fleet is not None, "the fleet is needed with --fleet-before"
    with for_option("--fleet-before"):
        try:
            before = load_fleet(before_path)
        except OSError as exc:
            raise PushConfigError(f"cannot read the inventory at {before_path}: {exc}") from None
        return before, fleet_change_order(before, fleet)


def _held_over_source(
    intended_dir: Path | None,
    before: Fleet,
    fleet: Fleet | None,
    hubs: PushTargets,
    outputs_path: Path | None,
    secrets: set[str],
    core: CoreCloudOutputs | None,
) -> IntendedConfigSource | None:
    """The first configs of the hubs a fleet change pushes twice: from `--intended DIR`'s
    `HELD_OVER_DIR` folder (each refused where its header says otherwise than the hub, as the
    final configs are), or rendered from the two fleets."""
    if not len(hubs):
        return None
    if intended_dir is not None:
        held_over = IntendedConfigDirectory(intended_dir / HELD_OVER_DIR, secrets=secrets)
        refuse_intended_contradictions(held_over, hubs)
        return held_over
    assert fleet is not None
    outputs = load_outputs(outputs_path)
    return rendered_held_over_configs(before, fleet, hubs.names, outputs=outputs, secrets=secrets, core=core)


# The option a refused fleet-change selection names: the first of the selection's that was given.
_SELECTION_OPTIONS = {
    "stores": "--store", "appliances": "--appliance", "region": "--region", "shard": "--shard",
    "platform": "--platform", "role": "--role", "only_failed": "--only-failed",
}


def _check_rendered_options(intended_dir: Path | None, *, outputs_path: Path | None, core_outputs_path: Path | None) -> None:
    """The stack outputs a push renders with reach no config `--intended DIR` holds: refused
    together, naming both options, rather than dropped without a word."""
    if intended_dir is None:
        return
    for option, path in (("--core-outputs", core_outputs_path), ("--outputs", outputs_path)):
        if path is not None:
            raise PushConfigError(
                f"{option} cannot be used with --intended: the configs in {intended_dir} are pushed as they "
                f"are; render them with `devices render {option} {path} --out {intended_dir}` instead",
                field=option,
            )


def _intended_source(
    intended_dir: Path | None,
    fleet: Fleet | None,
    targets: PushTargets,
    outputs_path: Path | None,
    secrets: set[str],
    core: CoreCloudOutputs | None,
) -> IntendedConfigSource:
    if intended_dir is not None:
        if not intended_dir.is_dir():
            raise PushConfigError(f"{intended_dir}: no such directory of intended configs", field="--intended")
        return IntendedConfigDirectory(intended_dir, secrets=secrets)
    if fleet is None:
        raise PushConfigError("no fleet inventory to render intended configs from; pass --fleet or --intended DIR")
    outputs = load_outputs(outputs_path)
    # Without outputs (a lab included) the network intent's planned values are rendered: the
    # same ones `rollout --lab` and `drift` use, so the three agree.
    return rendered_intended_configs(fleet, targets, outputs=outputs, secrets=secrets, core=core)


@click.command("push")
@click.option("--fleet", "fleet_path", type=click.Path(path_type=Path), default=None,
              help="Fleet directory (for --region and for targets when --targets is not given).")
@targets_option(default="built from the fleet inventory")
@click.option("--intended", "intended_dir", type=click.Path(path_type=Path), default=None,
              help="Directory of intended configs, <appliance>.cfg each, and the stated WAN ports "
                   "`devices render --out` writes beside them. Default: rendered from the fleet.")
@click.option("--outputs", "outputs_path", type=InputFile(), default=None,
              help="Store stack outputs (JSON/YAML, mode 0600) to render with (not with --intended); "
              "default: planned values.")
@core_outputs_option
@click.option("--fleet-before", "before_path", type=click.Path(path_type=Path), default=None,
              help="The fleet directory before this change (a hub added or removed): push make before break, "
              "hubs gaining store tunnels, then the stores, then hubs dropping them.")
@click.option("--store", "stores", multiple=True, help="Only these stores' appliances (repeatable).")
@click.option("--appliance", "appliances", multiple=True, help="Only these appliances (repeatable).")
@click.option("--region", default=None, help="Only stores of this region (needs the fleet).")
@click.option("--platform", default=None, type=click.Choice(PLATFORM_NAMES))
@click.option("--role", default=None, type=click.Choice(["hub", "edge"]))
@click.option("--shard", default=None, metavar="K/N", help="Only shard K of N (stable by appliance name).")
@click.option("--concurrency", default=DEFAULT_CONCURRENCY, show_default=True, type=int,
              help="Appliances pushed at once.")
@click.option("--dry-run", is_flag=True, help="Show the diff and remediation per appliance; change nothing.")
@click.option("--canary", default=None, type=int, help="Push N appliances first, as a wave of their own.")
@click.option("--max-failures", default=None, type=int, help="Stop starting appliances once more than K failed.")
@click.option("--only-failed", is_flag=True, help="Only the appliances that failed or did not finish in the last run.")
@click.option("--trust-on-first-use", is_flag=True,
              help="Accept and record unknown host keys (a changed key is still refused).")
@click.option("--conn-timeout", default=10.0, show_default=True, type=float, help="Seconds to connect and log in.")
@click.option("--read-timeout", default=20.0, show_default=True, type=float, help="Seconds per command.")
@click.option("--save-timeout", default=30.0, show_default=True, type=float, help="Seconds for the save.")
@click.option("--health-timeout", default=30.0, show_default=True, type=float,
              help="Seconds for BGP sessions and interfaces to be healthy after a change.")
@click.option("--session-log", "session_log_dir", type=click.Path(path_type=Path), default=None,
              help="Write redacted Netmiko session logs (0600) into this directory.")
@click.option("--state-dir", type=click.Path(path_type=Path), default=Path(".storestack"), show_default=True,
              help="Where backups, run journals and learned host keys live.")
@commit_confirm_options
@json_option
def push(
    fleet_path: Path | None,
    targets_file: Path | None,
    intended_dir: Path | None,
    outputs_path: Path | None,
    core_outputs_path: Path | None,
    before_path: Path | None,
    stores: tuple[str, ...],
    appliances: tuple[str, ...],
    region: str | None,
    platform: str | None,
    role: str | None,
    shard: str | None,
    concurrency: int,
    dry_run: bool,
    canary: int | None,
    max_failures: int | None,
    only_failed: bool,
    trust_on_first_use: bool,
    conn_timeout: float,
    read_timeout: float,
    save_timeout: float,
    health_timeout: float,
    session_log_dir: Path | None,
    state_dir: Path,
    confirm_timeout: int,
    no_confirm_i_know: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Push intended configs safely: backup, diff, arm, apply, verify, confirm, save, or roll back.

    Only the remediation lines are sent, over one SSH session per appliance; an appliance
    already in its intended state gets nothing. An FRR appliance's host files rendered beside its
    config (nftables.conf, swanctl.conf …; with --intended, `<appliance>.<file>` beside its .cfg)
    are installed where they differ, under the same timer. Exit 0 when every appliance is ok, 1 when any
    failed or was not started, 2 on usage or configuration errors.
    """
    quiet_device_logs()
    _check_rendered_options(intended_dir, outputs_path=outputs_path, core_outputs_path=core_outputs_path)
    runs_dir = state_dir / DEFAULT_RUNS_DIR.name
    fleet = _load_fleet(
        fleet_path,
        needed=targets_file is None or region is not None or intended_dir is None or before_path is not None,
    )
    before, change = (None, None) if before_path is None else _change_order(before_path, fleet)
    targets = _load_targets(targets_file, fleet)
    every_target = targets
    selection: dict[str, str | list[str] | None] = {
        "stores": list(stores) or None,
        "appliances": list(appliances) or None,
        "region": region,
        "platform": platform,
        "role": role,
        "shard": shard,
        "only_failed": "yes" if only_failed else None,
    }
    if region is not None:
        assert fleet is not None
        with for_option("--region"):
            region_stores = {store.id for store in fleet.filter(region=region)}
        targets = targets.filter(lambda t: t.store_id in region_stores)
    with for_option("--store"):
        targets = targets.filter(stores=stores or None)
    with for_option("--appliance"):
        targets = targets.filter(names=appliances or None, platform=platform, role=role)
    if shard is not None:
        with for_option("--shard"):
            targets = targets.shard(*parse_shard(shard))
    if only_failed:
        previous = last_push_run(runs_dir, dry_run=dry_run)
        if previous is None:
            raise PushConfigError(f"--only-failed: no previous push run in {runs_dir}", field="--only-failed")
        retry = set(unfinished_names(previous))
        if not retry:
            # A re-run of a push that finished: nothing to do is success (exit 0), as a push of
            # appliances already in their intended state is; no run is started or journaled.
            _nothing_to_retry(previous, runs_dir, as_json=as_json)
            raise SystemExit(EXIT_OK)
        targets = targets.filter(lambda t: t.name in retry)
        selection["only_failed"] = previous.run_id
    if not len(targets):
        raise PushConfigError("no appliance matches the selection")
    _refuse_contradictions(targets_file, fleet, intended_dir, targets)
    if change is not None:
        given = next((flag for key, flag in _SELECTION_OPTIONS.items() if selection[key]), "--fleet-before")
        done = pushed_in_change(runs_dir, change.change_id)
        with for_option(given):
            check_selection(change, every_target, targets.names, done)
        change = change.without_union_of(done)
    secrets = fleet_secret_values(fleet) if fleet is not None else set()
    # The hubs' cloud ends as `devices render --core-outputs` renders them: without the file, the
    # planned ones, which a live hub's cloud tunnels would be pushed over.
    core = load_core_outputs_file(core_outputs_path)
    intended = _intended_source(intended_dir, fleet, targets, outputs_path, secrets, core)
    held_over = None
    if before is not None and change is not None:
        twice = targets.filter(lambda target: target.name in change.held_over)
        held_over = _held_over_source(intended_dir, before, fleet, twice, outputs_path, secrets, core)
    options = RunOptions(
        held_over=held_over,
        concurrency=concurrency,
        canary=canary,
        max_failures=max_failures,
        runs_dir=runs_dir,
        change=change,
        push=_push_options(
            state_dir,
            dry_run=dry_run,
            health_timeout=health_timeout,
            confirm_timeout=checked_confirm_timeout(confirm_timeout, off_acknowledged=no_confirm_i_know),
            force=force,
            conn_timeout=conn_timeout,
            read_timeout=read_timeout,
            trust_on_first_use=trust_on_first_use,
            save_timeout=save_timeout,
            session_log_dir=session_log_dir,
        ),
    )

    stop = threading.Event()
    if as_json:
        observer = PushObserver()
        with _stop_on_sigint(stop, observer):
            report = run_push(targets, intended, options=options, stop=stop, selection=selection, observer=observer)
        emit_json(_json_payload(report, runs_dir))
        raise SystemExit(_exit_code(report))

    progress = Progress(
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}", markup=False),
        console=err_console,
        transient=False,
    )
    live = _LiveProgress(progress)
    verb = "planning" if dry_run else "pushing"
    err_console.print(markup("{} {} appliance(s), {} at a time", verb, len(targets), concurrency))
    with progress, _stop_on_sigint(stop, live):
        report = run_push(targets, intended, options=options, stop=stop, selection=selection, observer=live)
    if dry_run:
        _print_plans(report)
    _print_table(report)
    _print_summary(report, runs_dir)
    raise SystemExit(_exit_code(report))


@click.command("restore")
@click.argument("appliance")
@click.option("--backup", "backup_file", type=InputFile(), default=None,
              help="The backup to put back. Default: the appliance's newest backup under --state-dir.")
@click.option("--fleet", "fleet_path", type=click.Path(path_type=Path), default=None,
              help="Fleet directory (for the targets when --targets is not given, and for redaction).")
@targets_option(default="built from the fleet inventory")
@click.option("--dry-run", is_flag=True, help="Show what putting the backup back would change; change nothing.")
@click.option("--trust-on-first-use", is_flag=True,
              help="Accept and record an unknown host key (a changed key is still refused).")
@click.option("--conn-timeout", default=10.0, show_default=True, type=float, help="Seconds to connect and log in.")
@click.option("--read-timeout", default=20.0, show_default=True, type=float, help="Seconds per command.")
@click.option("--health-timeout", default=30.0, show_default=True, type=float,
              help="Seconds for BGP sessions and interfaces to be healthy after the restore.")
@click.option("--state-dir", type=click.Path(path_type=Path), default=Path(".storestack"), show_default=True,
              help="Where backups, run journals and learned host keys live.")
@commit_confirm_options
@json_option
def restore(
    appliance: str,
    backup_file: Path | None,
    fleet_path: Path | None,
    targets_file: Path | None,
    dry_run: bool,
    trust_on_first_use: bool,
    conn_timeout: float,
    read_timeout: float,
    health_timeout: float,
    state_dir: Path,
    confirm_timeout: int,
    no_confirm_i_know: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Put a backup of APPLIANCE back, as safely as a push: backup, diff, apply, verify, save, or roll back.

    What an operator runs after a push reported ROLLBACK FAILED with the backup to restore. The
    backup is pushed as the intended config: only the lines that differ are sent. Exit codes as
    for `devices push`.
    """
    quiet_device_logs()
    runs_dir = state_dir / DEFAULT_RUNS_DIR.name
    fleet = _load_fleet(fleet_path, needed=targets_file is None)
    every_target = _load_targets(targets_file, fleet)
    with for_option("APPLIANCE"):
        targets = every_target.filter(names=[appliance])
    (target,) = list(targets)
    _refuse_contradictions(targets_file, fleet, None, targets)
    backups = BackupStore(state_dir / "backups")
    # Chosen before the restore takes its own backup of the running config.
    source = backup_file or backups.latest(target)
    if source is None:
        raise PushConfigError(f"{appliance}: no backup under {backups.directory(target)}; name one with --backup")
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise PushConfigError(f"cannot read backup {source}: {exc.strerror or exc}") from None
    secrets = fleet_secret_values(fleet) if fleet is not None else set()
    options = RunOptions(
        concurrency=1,
        runs_dir=runs_dir,
        push=_push_options(
            state_dir,
            dry_run=dry_run,
            health_timeout=health_timeout,
            confirm_timeout=checked_confirm_timeout(confirm_timeout, off_acknowledged=no_confirm_i_know),
            force=force,
            conn_timeout=conn_timeout,
            read_timeout=read_timeout,
            trust_on_first_use=trust_on_first_use,
        ),
    )
    selection: dict[str, str | list[str] | None] = {"appliances": [appliance], "restore": str(source)}
    if not as_json:
        err_console.print(markup("restoring {} from {}", appliance, source))
    report = run_push(targets, IntendedConfigs({appliance: text}, secrets=secrets), options=options, selection=selection)
    if as_json:
        payload = _json_payload(report, runs_dir)
        payload["restored_from"] = str(source)
        emit_json(payload)
        raise SystemExit(_exit_code(report))
    if dry_run:
        _print_plans(report)
    _print_table(report)
    _print_summary(report, runs_dir)
    raise SystemExit(_exit_code(report))


def _push_options(
    state_dir: Path,
    *,
    dry_run: bool,
    health_timeout: float,
    confirm_timeout: int,
    force: bool,
    conn_timeout: float,
    read_timeout: float,
    trust_on_first_use: bool,
    save_timeout: float = SessionOptions.save_timeout,
    session_log_dir: Path | None = None,
) -> PushOptions:
    """Push and restore keep backups and learned host keys in the same places under --state-dir,
    and bound the SSH connect, banner and login waits by the one --conn-timeout."""
    return PushOptions(
        dry_run=dry_run,
        health_timeout=health_timeout,
        confirm_timeout=confirm_timeout,
        force=force,
        backup_root=state_dir / "backups",
        known_hosts=state_dir / "known_hosts.json",
        secret_ledger=state_dir / "secrets",
        session=SessionOptions(
            conn_timeout=conn_timeout,
            banner_timeout=conn_timeout,
            auth_timeout=conn_timeout,
            read_timeout=read_timeout,
            save_timeout=save_timeout,
            trust_on_first_use=trust_on_first_use,
            session_log_dir=session_log_dir,
        ),
    )


def _exit_code(report: RunReport) -> int:
    """0 when every appliance is done; 130 after Ctrl-C (as every command exits on it), also when
    the appliances that ran succeeded, since those not started were skipped; 1 otherwise."""
    if report.status == "interrupted":
        return EXIT_INTERRUPTED
    return EXIT_OK if report.ok else EXIT_FAILED


def _json_payload(report: RunReport, runs_dir: Path) -> dict[str, Any]:
    payload = report.model_dump(mode="json")
    payload["ok"] = report.ok
    payload["journal"] = str(runs_dir / f"{report.run_id}.json")
    payload["changed_devices"] = report.changed_devices
    payload["changed"] = bool(report.changed_devices)
    return payload


def _nothing_to_retry(previous: RunReport, runs_dir: Path, *, as_json: bool) -> None:
    """`--only-failed` after run `previous` finished every appliance it selected."""
    message = f"run {previous.run_id} finished every appliance it selected: nothing to retry"
    if as_json:
        emit_json(
            {
                "ok": True,
                "changed": False,
                "changed_devices": [],
                "retried": [],
                "only_failed": previous.run_id,
                "journal": str(runs_dir / f"{previous.run_id}.json"),
                "summary": RunSummary().model_dump(mode="json"),
                "message": message,
            }
        )
    else:
        console.print(markup("{}; nothing changed", message), soft_wrap=True)


def _print_plans(report: RunReport) -> None:
    for device in report.devices:
        if device.outcome != "planned":
            continue
        files = [item for item in device.companions if item.status == "planned"]
        if not device.remediation and not files:
            console.print(markup("[dim]{}: in sync, nothing to send[/]", _pushed(device)))
            continue
        console.rule(markup("{} ({})", _pushed(device), device.platform))
        if device.remediation:
            _print_diff(device.diff or "")
            console.print(Text(f"remediation ({device.change_lines} change(s)):", style="bold"))
            for line in device.remediation:
                console.print(Text(f"  {line}", style="yellow"))
        for item in files:
            console.print(Text(f"host file {item.name} ({item.change_lines} line(s) change):", style="bold"))
            _print_diff(item.diff or "")
            if item.ends_sessions:
                console.print(Text(f"  ends the live sessions of: {', '.join(item.ends_sessions)}", style="yellow"))


def _pushed(device: DeviceResult) -> str:
    """The appliance a result is of, with which of its two pushes in a fleet change it is."""
    return f"{device.name} ({device.step})" if device.step else device.name


def _print_diff(diff: str) -> None:
    for line in diff.splitlines():
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("@@"):
            style = "cyan"
        console.print(Text(line, style=style))


def _print_table(report: RunReport) -> None:
    table = TextTable(title=f"push {report.run_id}", expand=False)
    table.add_column("appliance", no_wrap=True)
    if len(report.waves) > 1:
        table.add_column("wave", justify="right")
    table.add_column("outcome", no_wrap=True)
    table.add_column("lines", justify="right")
    table.add_column("time", justify="right", no_wrap=True)
    table.add_column("detail", overflow="fold", ratio=1)
    for device in report.devices:
        confirm = device.commit_confirm
        installed = [item.name for item in device.companions if item.status == "changed"]
        if device.outcome == "changed":
            detail = Text(
                f"{device.change_lines} change(s) verified"
                + (f", host file(s) {', '.join(installed)} installed" if installed else "")
                + (", confirmed" if confirm is not None and confirm.confirmed else "")
                + (", saved" if "save" in device.timings else "")
            )
        elif device.outcome == "reverted-by-appliance":
            detail = Text(f"{device.stage}: {device.error or ''}  ")
            waited = f" after {confirm.waited_s:.0f}s" if confirm is not None and confirm.waited_s is not None else ""
            detail.append(f"back on its backup by its own timer{waited}", style="yellow")
        elif device.outcome == "failed":
            detail = Text(f"{device.stage}: {device.error or ''}")
            if device.rollback is not None:
                detail.append(
                    "  rolled back" if device.rollback.ok else "  ROLLBACK FAILED",
                    style="green" if device.rollback.ok else "bold red",
                )
        elif device.outcome == "planned":
            files = [item.name for item in device.companions if item.status == "planned"]
            detail = Text(
                (f"{device.change_lines} change(s) to make" if device.remediation else "in sync" if not files else "")
                + (f"{', ' if device.remediation else ''}host file(s) {', '.join(files)} to install" if files else "")
            )
        else:
            detail = Text(device.error or "")
        row: list[str | Text] = [_pushed(device)]
        if len(report.waves) > 1:
            row.append(str(device.wave))
        row += [
            Text(device.outcome, style=_OUTCOME_STYLE.get(device.outcome, "")),
            str(device.config_lines_sent),
            f"{device.duration_s:.1f}s" if device.duration_s is not None else "",
        ]
        table.add_row(*row, detail)
    print_table(table)


def _print_summary(report: RunReport, runs_dir: Path) -> None:
    s = report.summary
    parts = [f"{s.changed} changed", f"{s.unchanged} unchanged"]
    if s.planned:
        parts.append(f"{s.planned} planned")
    parts.append(f"{s.failed} failed")
    if s.reverted_by_appliance:
        parts.append(f"{s.reverted_by_appliance} of them reverted by the appliance")
    parts += [f"{s.skipped} not started", f"{s.config_lines_sent} config lines sent"]
    console.print(", ".join(parts))
    if report.stop_reason:
        console.print(markup("[yellow]stopped:[/] {}", report.stop_reason))
    if report.retire_after:
        hubs = ", ".join(report.retire_after)
        if report.ok and not report.dry_run:
            line = markup("{}: no longer in the fleet and no store uses it now: it can be decommissioned", hubs)
        else:
            line = markup("{}: no longer in the fleet: keep it in service until a push of this change finished ok", hubs)
        console.print(line, soft_wrap=True)
    for device in report.devices:
        if device.rollback is not None and not device.rollback.ok:
            err_console.print(
                markup(
                    "[bold red]ROLLBACK FAILED on {}[/]: its state is unknown; the backup to restore is {}",
                    device.name, device.backup_path,
                )
            )
    for device in report.devices:
        if device.outcome == "reverted-by-appliance":
            err_console.print(
                markup(
                    "[bold yellow]{} reverted the change by itself[/]: the session was lost after "
                    "the change began and the appliance put its backup back when its timer ran out; the "
                    "change probably cut the path the push rides on. Fix it before pushing again (the same "
                    "change is refused without --force).",
                    device.name,
                )
            )
    changed = report.changed_devices
    if changed and not report.dry_run:
        console.print(markup("changed appliances: {}", ", ".join(changed)))
    console.print(markup("journal: {}", runs_dir / (report.run_id + ".json")))
    if not report.ok:
        console.print("retry what did not finish with: storestack devices push --only-failed …")


def register(group: click.Group) -> None:
    group.add_command(push)
    group.add_command(restore)
