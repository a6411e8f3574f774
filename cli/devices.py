"""`storestack devices …`: render and show intended appliance configs.

The push engine's `devices push` and `devices restore` (cli/push.py) are in this same group,
loaded when one runs.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from storestack.cli.common import (
    EXIT_FAILED,
    InputFile,
    console,
    core_outputs_option,
    emit_json,
    err_console,
    fleet_option,
    for_option,
    json_option,
    markup,
)
from storestack.cli.lazy import LazyGroup
from storestack.common.errors import UsageError

if TYPE_CHECKING:
    from storestack.devices.render import RenderedConfig
    from storestack.inventory import Fleet
    from storestack.network.outputs import CoreCloudOutputs, StoreCloudOutputs

# Each command imports the renderers (Jinja2, the platforms, the fleet's models) when it runs:
# `devices --help` and `devices lint --help` import none of them (tests/packaging/test_cli_startup.py).

DEFAULT_OUT = Path("configs-out")


def outputs_option(func: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--outputs",
        "outputs_path",
        type=InputFile(),
        default=None,
        help="Store stack outputs (JSON/YAML, mode 0600). Without them, values planned from the inventory are used.",
    )(func)




def load_core_outputs_file(path: Path | None) -> CoreCloudOutputs | None:
    """The core stack's outputs `--core-outputs` names, if any; a file refused whole names the
    option."""
    if path is None:
        return None
    from storestack.stacks.device_bridge import load_core_outputs

    with for_option("--core-outputs"):
        return load_core_outputs(path)


def load_outputs(outputs_path: Path | None) -> dict[str, StoreCloudOutputs] | None:
    """The store stack outputs of --outputs (`devices push`, `render`, `show`, `lint`); a file
    refused whole names the option."""
    if outputs_path is None:
        return None
    from storestack.network.outputs import load_stack_outputs

    # A StackOutputsError is a usage error of its own, with each issue's file, line and field.
    with for_option("--outputs"):
        return load_stack_outputs(outputs_path)


def _check_stores(fleet: Fleet, store_ids: tuple[str, ...], option: str = "--store") -> None:
    """Unknown store ids stop the command before anything is rendered, as a bad value of `option`."""
    with for_option(option):
        for store_id in store_ids:
            fleet.store(store_id)


def _with_progress(configs: Iterator[RenderedConfig], total: int, enabled: bool) -> Iterator[RenderedConfig]:
    if not enabled:
        yield from configs
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task("render", total=total)
        for config in configs:
            yield config
            progress.advance(task)


class _DevicesGroup(LazyGroup):
    # The push and the restore (cli/push.py) are loaded when one runs: they import Netmiko and
    # paramiko, which rendering, showing and linting configs never use.
    modules = dict.fromkeys(("push", "restore"), "storestack.cli.push")
    help_lines = {
        "push": "Push intended configs safely: backup, diff, arm, apply, verify, confirm, save, or roll back.",
        "restore": "Put a backup of APPLIANCE back, as safely as a push: backup, diff, apply, verify, save, or "
        "roll back.",
    }


@click.group(cls=_DevicesGroup)
def devices() -> None:
    """Render, show and push appliance configs."""


@devices.command()
@click.option("--store", "store_ids", multiple=True, help="Only this store's appliances (repeatable).")
@click.option("--hub", "hub_names", multiple=True, help="Only this hub (repeatable).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_OUT,
    show_default=True,
    help="Directory for one <hostname>.cfg per appliance.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 if any file would change, or (whole fleet) if --out holds stale files.",
)
@click.option(
    "--with-secrets",
    is_flag=True,
    help="Fill in secrets from the environment and stack outputs (files for a push, mode 0600).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=os.cpu_count() or 1,
    show_default="CPU count",
    help="Processes to render large fleets with.",
)
@click.option(
    "--fleet-before",
    "before_path",
    type=click.Path(path_type=Path),
    default=None,
    help="The inventory before a change: also write, in --out's held-over/, the first config of each "
    "selected hub the change pushes twice (what `devices push --intended --fleet-before` reads).",
)
@outputs_option
@core_outputs_option
@fleet_option
@json_option
def render(
    store_ids: tuple[str, ...],
    hub_names: tuple[str, ...],
    out_dir: Path,
    check: bool,
    with_secrets: bool,
    workers: int,
    before_path: Path | None,
    outputs_path: Path | None,
    core_outputs_path: Path | None,
    fleet_path: Path | None,
    as_json: bool,
) -> None:
    """Render intended configs into --out, rewriting only files whose content changed.

    Without --store/--hub every store appliance and every hub is rendered. Output is
    redacted (secrets shown as <redacted>) unless --with-secrets is given.
    """
    from storestack.cli.inventory import load_or_exit
    from storestack.common.files import private_directory
    from storestack.devices.intended import HELD_OVER_DIR
    from storestack.devices.render import render_fleet, render_held_over, stale_files, write_configs

    fleet = load_or_exit(fleet_path, as_json=as_json)
    before = None if before_path is None else load_or_exit(before_path, as_json=as_json)
    # The fleet stays alive for the whole run; spare the cyclic GC rescanning it while
    # rendering creates millions of short-lived objects on large fleets. Thawed when the command
    # ends, for a process that goes on after it (a script or test calling the CLI): frozen, the
    # fleet would never be freed and every later fleet load would walk it.
    gc.freeze()
    click.get_current_context().call_on_close(gc.unfreeze)
    _check_stores(fleet, store_ids)
    outputs = load_outputs(outputs_path)
    if hub_names and not store_ids:
        selected_stores: list[str] = []
    else:
        selected_stores = list(store_ids) if store_ids else list(fleet.stores)
    if store_ids and not hub_names:
        selected_hubs: list[str] = []
    else:
        selected_hubs = list(hub_names) if hub_names else list(fleet.hubs)
    unknown_hubs = [hub for hub in selected_hubs if hub not in fleet.hubs]
    if unknown_hubs:
        raise UsageError(
            f"no hub {unknown_hubs[0]!r} in the fleet (known: {', '.join(sorted(fleet.hubs))})", field="--hub"
        )
    core = load_core_outputs_file(core_outputs_path)
    held_over: list[RenderedConfig] | None = None
    if before is not None:
        # (a change the push refuses, a hub moving its addresses, is refused here as a bad --fleet-before)
        held_over = render_held_over(
            before, fleet, hubs=selected_hubs, outputs=outputs, reveal_secrets=with_secrets, core=core
        )
    total = sum(
        len(fleet.store(store_id).appliances)
        for store_id in selected_stores
        if fleet.store(store_id).state != "decommissioned"
    ) + len(selected_hubs)
    configs = render_fleet(
        fleet,
        outputs=outputs,
        store_ids=selected_stores,
        hubs=selected_hubs,
        reveal_secrets=with_secrets,
        workers=workers,
        core=core,
    )
    # On stderr, for the person at a terminal: stdout holds the report, which may be kept.
    show_progress = not as_json and err_console.is_terminal and total > 50
    # Render everything before writing anything: a render error leaves every file as it was.
    rendered = list(_with_progress(configs, total, show_progress))
    if with_secrets and not check:
        private_directory(out_dir)
    report = write_configs(rendered, out_dir, check=check, held_over=held_over or ())
    changed = report.written
    # Only a render of the whole fleet knows which files no appliance has any more.
    stale = stale_files(rendered, out_dir, held_over=held_over) if not (store_ids or hub_names) else []
    if as_json:
        emit_json(
            {
                "ok": not (check and (changed or stale)),
                "out": str(out_dir),
                "check": check,
                "with_secrets": with_secrets,
                "written" if not check else "would_change": changed,
                "unchanged": report.unchanged,
                "planned": report.planned,
                "stale": stale,
                "held_over": [
                    f"{HELD_OVER_DIR}/{filename}" for config in held_over or () for filename, _ in config.files()
                ],
            }
        )
    else:
        verb = "would write" if check else "wrote"
        console.print(
            markup(
                "{} {}, unchanged {} ({} appliance configs in {})",
                verb, len(changed), len(report.unchanged), len(changed) + len(report.unchanged), out_dir,
            )
        )
        if held_over is not None:
            console.print(markup("held over: {} first config(s) of hubs pushed twice", len(held_over)))
        if report.planned:
            console.print(
                f"[yellow]note[/] {len(report.planned)} config(s) use PLANNED values (no live stack outputs)"
            )
        if check and changed:
            for name in changed:
                console.print(markup("  changed: {}", name))
        for name in stale:
            console.print(markup("  [yellow]stale[/]: {} (no appliance of the fleet renders it; remove it)", name))
    if check and (changed or stale):
        raise SystemExit(EXIT_FAILED)


@devices.command()
@click.argument("name")
@outputs_option
@core_outputs_option
@fleet_option
@json_option
def show(
    name: str, outputs_path: Path | None, core_outputs_path: Path | None, fleet_path: Path | None, as_json: bool
) -> None:
    """Print the intended config(s) of store NAME (or of hub NAME), always redacted."""
    from storestack.cli.inventory import load_or_exit
    from storestack.devices.render import render_fleet

    fleet = load_or_exit(fleet_path, as_json=as_json)
    outputs = load_outputs(outputs_path)
    is_hub = name in fleet.hubs
    if not is_hub:
        _check_stores(fleet, (name,), option="NAME")
    configs = list(
        render_fleet(
            fleet,
            outputs=outputs,
            store_ids=[] if is_hub else [name],
            hubs=[name] if is_hub else [],
            reveal_secrets=False,
            core=load_core_outputs_file(core_outputs_path),
        )
    )
    if as_json:
        emit_json(
            [
                {
                    "name": config.name,
                    "role": config.role,
                    "platform": config.platform,
                    "planned": config.planned,
                    "config": config.text,
                }
                for config in configs
            ]
        )
        return
    for config in configs:
        click.echo(config.text, nl=not config.text.endswith("\n"))


@devices.command()
@outputs_option
@core_outputs_option
@fleet_option
@json_option
def lint(outputs_path: Path | None, core_outputs_path: Path | None, fleet_path: Path | None, as_json: bool) -> None:
    """Check every rendered config statically: references defined, both ends of every tunnel
    agreeing (addresses, ASN, identity, PSK slot, BFD), proposals intersecting (AWS included), no
    permit-any between zones, no hub letting one store reach another. Exit 1 on any finding."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from storestack.cli.inventory import load_or_exit
    from storestack.devices.lint.run import lint_fleet

    fleet = load_or_exit(fleet_path, as_json=as_json)
    outputs, core = load_outputs(outputs_path), load_core_outputs_file(core_outputs_path)
    # On stderr, for the person at a terminal (a large fleet lints for minutes): stdout holds the report.
    if not as_json and err_console.is_terminal:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=err_console, transient=True) as progress:
            task = progress.add_task("rendering", total=None)

            def advance(phase: str, done: int, total: int) -> None:
                progress.update(task, description=phase, completed=done, total=total)

            report = lint_fleet(fleet, outputs, core, on_progress=advance)
    else:
        report = lint_fleet(fleet, outputs, core)
    if as_json:
        emit_json(
            {
                "ok": report.ok,
                "files": report.files,
                "findings": [finding.as_dict() for finding in report.findings],
                "tunnels_checked_from_the_far_end_only": report.unchecked_platforms,
            }
        )
    else:
        for finding in report.findings:
            click.echo(f"{finding.file}:{finding.line}: {finding.rule}: {finding.message}")
        note = (
            f"; tunnels of {', '.join(report.unchecked_platforms)} checked from the far end only"
            if report.unchecked_platforms
            else ""
        )
        click.echo(f"{len(report.findings)} finding(s) in {report.files} file(s){note}")
    if not report.ok:
        sys.exit(EXIT_FAILED)

