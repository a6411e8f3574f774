"""`storestack inventory …`: validate, show, list, generate and export the fleet."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.progress import Progress

from storestack.cli.common import (
    EXIT_USAGE,
    TextTable,
    console,
    default_fleet_path,
    emit_json,
    err_console,
    exit_code_for,
    fail,
    fleet_option,
    for_option,
    inventory_issue_entries,
    json_errors,
    json_option,
    markup,
    print_table,
)
from storestack.common.errors import UsageError
from storestack.common.files import atomic_write_text, staged_directory, would_change
from storestack.common.platforms import PLATFORM_NAMES
from storestack.inventory import Fleet, InventoryError, load_fleet
from storestack.inventory.errors import FleetNotFoundError, InventoryIssue
from storestack.inventory.export import (
    ANSIBLE_FILE,
    ansible_inventory,
    nornir_inventory,
    to_yaml,
)
from storestack.inventory.generate import generate_fleet, write_fleet
from storestack.inventory.ipam import LOCK_FILE_NAME
from storestack.inventory.loader import (
    FLEET_FILE,
    MAX_BUNDLE_BYTES,
    LoadResult,
    fleet_root,
    load_bundle_with_allocations,
    load_fleet_with_allocations,
)
from storestack.inventory.rename import rename_hints, rename_store
from storestack.inventory.source import decode, read_bytes


def load_or_exit(fleet_path: Path | None, *, as_json: bool = False) -> Fleet:
    """Load the fleet for a command; an invalid inventory ends the command with every issue listed."""
    path = fleet_path or default_fleet_path()
    try:
        return load_fleet(path)
    except InventoryError as exc:
        report_inventory_error(exc, as_json=as_json)
        raise SystemExit(exit_code_for(exc)) from None


def report_inventory_error(exc: InventoryError, *, as_json: bool) -> None:
    if as_json:
        emit_json(json_errors(inventory_issue_entries(exc.issues), exc.one_line()))
        return
    for issue in exc.issues:
        click.echo(str(issue), err=True)
    click.echo(f"{len(exc.issues)} error(s)", err=True)


@click.group()
def inventory() -> None:
    """Validate, inspect and export the store inventory."""


def _load_target(target: str, *, write_lock: bool, as_json: bool) -> LoadResult:
    """`-` is a bundle on stdin; a directory or its fleet.yaml a fleet; any other file a bundle."""
    if target == "-":
        data = sys.stdin.buffer.read(MAX_BUNDLE_BYTES + 1)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            fail("stdin: the bundle is not UTF-8 text", EXIT_USAGE, as_json=as_json)
        if write_lock:
            raise UsageError("--write-lock needs a fleet directory, not a bundle", field="--write-lock")
        return load_bundle_with_allocations(text, name="<stdin>")
    path = Path(target)
    if not path.exists():
        raise FleetNotFoundError([InventoryIssue(str(path), 0, "", "no such fleet directory or bundle")])
    if path.is_dir() or path.name == FLEET_FILE:
        return load_fleet_with_allocations(path, write_lock=write_lock)
    if write_lock:
        raise UsageError("--write-lock needs a fleet directory, not a bundle", field="--write-lock")
    try:  # a regular file of bounded size only: never a FIFO or a device
        text = decode(read_bytes(path, str(path), MAX_BUNDLE_BYTES), str(path), MAX_BUNDLE_BYTES)
    except InventoryError as exc:
        raise UsageError(f"cannot read the bundle: {exc.one_line()}") from None
    return load_bundle_with_allocations(text, name=path.name, root=path.parent)


@inventory.command()
@click.argument("path", required=False)
@click.option("--write-lock", is_flag=True, help="Pin new IPAM allocations in allocations.yaml.")
@json_option
def validate(path: str | None, write_lock: bool, as_json: bool) -> None:
    """Validate PATH; exit 1 listing every error.

    PATH is a fleet directory (fleet.yaml + stores/), a bundle file, or `-` for a bundle on
    stdin (as `storestack inventory generate` prints it). Default: $STORESTACK_FLEET, ./inventory
    when it holds a fleet, else the built-in sample chain.
    """
    target = path or str(default_fleet_path())
    try:
        # No spinner here: its thread would keep the loader from parsing on a second core.
        result = _load_target(target, write_lock=write_lock, as_json=as_json)
    except InventoryError as exc:
        report_inventory_error(exc, as_json=as_json)
        raise SystemExit(exit_code_for(exc)) from None
    fleet = result.fleet
    provisional = fleet.provisional_stores
    hints = rename_hints(fleet, result.allocations)
    if as_json:
        emit_json(
            {
                "ok": True,
                "stores": len(fleet),
                "hubs": len(fleet.hubs),
                "appliances": sum(len(store.appliances) for store in fleet),
                "provisional_allocations": provisional,
                "lock_written": write_lock and result.lock_changed,
                "rename_hints": hints,
            }
        )
        return
    console.print(markup("[green]ok[/] {} stores, {} hubs valid ({})", len(fleet), len(fleet.hubs), target), soft_wrap=True)
    if provisional and not write_lock and result.lock_path is not None:
        console.print(
            markup(
                "[yellow]note[/] {} store(s) have provisional IPAM allocations ({}); "
                "run `storestack inventory validate --write-lock` to pin them",
                len(provisional), ", ".join(provisional[:5]) + (" …" if len(provisional) > 5 else ""),
            ),
            soft_wrap=True,
        )
    elif write_lock and result.lock_changed:
        console.print(markup("wrote {}", result.lock_path), soft_wrap=True)
    for new_id, old_ids in hints.items():
        old = old_ids[0] if len(old_ids) == 1 else f"one of {', '.join(old_ids)}"
        console.print(
            markup(
                "[yellow]note[/] {} looks like a rename of {}; `storestack inventory rename {} {}` keeps its addresses",
                fleet.store(new_id).source_file, old, old_ids[0], new_id,
            ),
            soft_wrap=True,
        )


@inventory.command()
@click.argument("old_id")
@click.argument("new_id")
@fleet_option
@json_option
def rename(old_id: str, new_id: str, fleet_path: Path | None, as_json: bool) -> None:
    """Rename store OLD_ID to NEW_ID, keeping its IPAM numbers (addresses, ASN).

    Renames stores/OLD_ID.yaml (its id, and hostnames starting with OLD_ID-) and moves its
    entry in allocations.yaml. If the file was already renamed by hand, only the entry moves.
    The fleet is validated afterwards; when it is not valid, every file is put back.
    """
    root = fleet_root(fleet_path or default_fleet_path())
    try:
        result = rename_store(root, old_id, new_id)
    except InventoryError as exc:
        report_inventory_error(exc, as_json=as_json)
        raise SystemExit(exit_code_for(exc)) from None
    if as_json:
        emit_json(
            {"ok": True, "old": old_id, "new": new_id, "changed": result.changed, "file_renamed": result.file_renamed}
        )
        return
    if not result.changed:
        console.print(
            markup("{} is already {} (stores/{}.yaml and its {} entry): nothing changed",
                   old_id, new_id, new_id, LOCK_FILE_NAME),
            soft_wrap=True,
        )
        return
    what = f"stores/{old_id}.yaml → stores/{new_id}.yaml and " if result.file_renamed else ""
    console.print(
        markup(
            "renamed {} to {}: {}its {} entry (block {}, ASN {}) kept",
            old_id, new_id, what, LOCK_FILE_NAME, result.kept.block, result.kept.asn,
        ),
        soft_wrap=True,
    )


@inventory.command()
@click.argument("store_id")
@fleet_option
@json_option
def show(store_id: str, fleet_path: Path | None, as_json: bool) -> None:
    """Show one store fully resolved, with its IPAM allocation filled in."""
    fleet = load_or_exit(fleet_path, as_json=as_json)
    with for_option("STORE_ID"):
        store = fleet.store(store_id)
    data = store.model_dump(mode="json")
    data["advertised_prefixes"] = [str(prefix) for prefix in store.advertised_prefixes]
    if as_json:
        emit_json(data)
        return
    import yaml

    click.echo(yaml.safe_dump(data, sort_keys=False), nl=False)


@inventory.command("list")
@click.option("--region")
@click.option(
    "--format", "store_format", type=click.Choice(["hypermarket", "supermarket", "mall", "convenience"])
)
@click.option("--platform", type=click.Choice(PLATFORM_NAMES))
@click.option("--state", type=click.Choice(["planned", "active", "decommissioned"]))
@fleet_option
@json_option
def list_stores(
    region: str | None,
    store_format: str | None,
    platform: str | None,
    state: str | None,
    fleet_path: Path | None,
    as_json: bool,
) -> None:
    """List stores, optionally filtered."""
    fleet = load_or_exit(fleet_path, as_json=as_json)
    with for_option("--region"):
        fleet = fleet.filter(region=region, format=store_format, platform=platform, state=state)
    rows: list[dict[str, Any]] = [
        {
            "id": store.id,
            "name": store.name,
            "city": store.city,
            "format": store.format,
            "region": store.region,
            "state": store.state,
            "platforms": sorted({a.platform for a in store.appliances}),
            "wan": [link.kind for link in store.wan],
            "hub": store.primary_hub,
        }
        for store in fleet
    ]
    if as_json:
        emit_json(rows)
        return
    table = TextTable("id", "name", "format", "region", "state", "platform", "wan", "hub")
    for row in rows:
        table.add_row(
            row["id"],
            row["name"],
            row["format"],
            row["region"],
            row["state"],
            ",".join(row["platforms"]),
            "+".join(row["wan"]),
            row["hub"],
        )
    print_table(table)
    console.print(f"{len(rows)} store(s)")


@inventory.command()
@click.option(
    "--stores", "count", type=click.IntRange(1, 10_000), required=True, help="How many stores (1-10000)."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same fleet.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write fleet.yaml + stores/ here; without it, print one bundle to stdout.",
)
@click.option(
    "--allow-destroy",
    type=click.IntRange(0),
    default=None,
    metavar="N",
    help="Allow up to N store files of an earlier, larger generation in --out to be removed.",
)
@json_option
def generate(count: int, seed: int, out: Path | None, allow_destroy: int | None, as_json: bool) -> None:
    """Generate a valid synthetic fleet (for benchmarks, tests and demos).

    \b
    storestack inventory generate --stores 10000 --seed 1 | storestack inventory validate -
    storestack inventory generate --stores 200 --out /tmp/fleet
    """
    if as_json and out is None:
        raise UsageError("--json reports the files written: pass --out DIR (without it the fleet is the output)",
                         field="--out")
    generated = generate_fleet(count, seed)
    if out is None:
        click.echo(generated.bundle(), nl=False)
        return
    total = count + 1
    quiet = as_json or not err_console.is_terminal
    with Progress(console=err_console, transient=True, disable=quiet) as progress:
        task = progress.add_task(f"writing {total} files", total=total)
        report = write_fleet(
            generated,
            out,
            progress=lambda done: progress.update(task, completed=done),
            allow_remove=allow_destroy,
        )
    if as_json:
        emit_json(
            {
                "ok": True,
                "out": str(out),
                "stores": count,
                "seed": seed,
                "written": report.written,
                "unchanged": report.unchanged,
                "removed": report.removed,
            }
        )
        return
    err_console.print(
        markup(
            "{}: {} stores (seed {}): {} written, {} unchanged, {} stale removed",
            out, count, seed, report.written, report.unchanged, report.removed,
        ),
        soft_wrap=True,
    )


@inventory.command()
@click.option("--format", "export_format", type=click.Choice(["ansible", "nornir"]), required=True)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"Directory to write into (ansible: {ANSIBLE_FILE}; nornir: hosts/groups/defaults.yaml).",
)
@click.option("--region")
@click.option("--store-format", type=click.Choice(["hypermarket", "supermarket", "mall", "convenience"]))
@click.option("--platform", type=click.Choice(PLATFORM_NAMES))
@click.option("--state", type=click.Choice(["planned", "active", "decommissioned"]))
@fleet_option
@json_option
def export(
    export_format: str,
    out: Path | None,
    region: str | None,
    store_format: str | None,
    platform: str | None,
    state: str | None,
    fleet_path: Path | None,
    as_json: bool,
) -> None:
    """Export hubs and store appliances as an Ansible or Nornir inventory (no credentials)."""
    if as_json and out is None:
        raise UsageError("--json reports the files written: pass --out DIR (without it the inventory is the output)",
                         field="--out")
    fleet = load_or_exit(fleet_path, as_json=as_json)
    with for_option("--region"):
        fleet = fleet.filter(region=region, format=store_format, platform=platform, state=state)
    if export_format == "ansible":
        files = {ANSIBLE_FILE: to_yaml(ansible_inventory(fleet))}
        if out is None:
            click.echo(files[ANSIBLE_FILE], nl=False)
            return
    else:
        if out is None:
            raise UsageError("the nornir export is three files (hosts, groups, defaults): pass --out DIR", field="--out")
        files = {name: to_yaml(data) for name, data in nornir_inventory(fleet).items()}
    # The files whole or as they were (Nornir reads the three together).
    changed = [name for name, text in files.items() if would_change(out / name, text)]
    if changed:
        with staged_directory(out) as staging:
            for name in changed:
                atomic_write_text(staging / name, files[name])
    if as_json:
        emit_json(
            {
                "ok": True,
                "out": str(out),
                "format": export_format,
                "written": changed,
                "unchanged": [name for name in files if name not in changed],
                "stores": len(fleet),
                "hubs": len(fleet.hubs),
            }
        )
        return
    written = len(changed)
    err_console.print(
        markup("{}: {} file(s), {} changed ({} stores, {} hubs)", out, len(files), written, len(fleet), len(fleet.hubs))
    )
