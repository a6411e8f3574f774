"""`storestack inventory …`: validate, show and list the fleet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from storestack.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    console,
    default_fleet_path,
    emit_json,
    fail,
    fleet_option,
    json_option,
)
from storestack.inventory import Fleet, InventoryError, UnknownStoreError, load_fleet
from storestack.inventory.loader import load_fleet_with_allocations
from storestack.inventory.models import PLATFORMS


def load_or_exit(fleet_path: Path | None, *, as_json: bool = False) -> Fleet:
    """Load the fleet for a command; an invalid inventory ends the command with every issue listed."""
    path = fleet_path or default_fleet_path()
    try:
        return load_fleet(path)
    except InventoryError as exc:
        report_inventory_error(exc, as_json=as_json)
        raise SystemExit(EXIT_FAILED) from None


def report_inventory_error(exc: InventoryError, *, as_json: bool) -> None:
    if as_json:
        emit_json({"ok": False, "errors": [issue.as_dict() for issue in exc.issues]})
        return
    for issue in exc.issues:
        click.echo(str(issue), err=True)
    click.echo(f"{len(exc.issues)} error(s)", err=True)


@click.group()
def inventory() -> None:
    """Validate, inspect and export the store inventory."""


@inventory.command()
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--write-lock", is_flag=True, help="Pin new IPAM allocations in allocations.yaml.")
@json_option
def validate(path: Path | None, write_lock: bool, as_json: bool) -> None:
    """Validate PATH (a fleet directory); exit 1 listing every error."""
    target = path or default_fleet_path()
    if not target.exists():
        fail(f"{target}: no such fleet directory", EXIT_USAGE, as_json=as_json)
    try:
        result = load_fleet_with_allocations(target, write_lock=write_lock)
    except InventoryError as exc:
        report_inventory_error(exc, as_json=as_json)
        raise SystemExit(EXIT_FAILED) from None
    fleet = result.fleet
    provisional = fleet.provisional_stores
    if as_json:
        emit_json(
            {
                "ok": True,
                "stores": len(fleet),
                "hubs": len(fleet.hubs),
                "appliances": sum(len(store.appliances) for store in fleet),
                "provisional_allocations": provisional,
                "lock_written": write_lock and result.lock_changed,
            }
        )
        return
    console.print(f"[green]ok[/] {len(fleet)} stores, {len(fleet.hubs)} hubs valid ({target})")
    if provisional and not write_lock:
        console.print(
            f"[yellow]note[/] {len(provisional)} store(s) have provisional IPAM allocations "
            f"({', '.join(provisional[:5])}{' …' if len(provisional) > 5 else ''}); "
            "run `storestack inventory validate --write-lock` to pin them"
        )
    elif write_lock and result.lock_changed:
        console.print(f"wrote {result.lock_path}")


@inventory.command()
@click.argument("store_id")
@fleet_option
@json_option
def show(store_id: str, fleet_path: Path | None, as_json: bool) -> None:
    """Show one store fully resolved, with its IPAM allocation filled in."""
    fleet = load_or_exit(fleet_path, as_json=as_json)
    try:
        store = fleet.store(store_id)
    except UnknownStoreError as exc:
        fail(str(exc), EXIT_USAGE, as_json=as_json)
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
@click.option("--platform", type=click.Choice(PLATFORMS))
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
    fleet = load_or_exit(fleet_path, as_json=as_json).filter(
        region=region, format=store_format, platform=platform, state=state
    )
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
    table = Table("id", "name", "format", "region", "state", "platform", "wan", "hub")
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
    console.print(table)
    console.print(f"{len(rows)} store(s)")
