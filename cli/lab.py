"""`storestack lab …`: start, inspect and stop the local device lab."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.text import Text

from storestack.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    TextTable,
    console,
    emit_json,
    err_console,
    fail,
    fleet_option,
    for_option,
    json_option,
    markup,
    print_table,
)

if TYPE_CHECKING:
    from storestack.lab.check import LabCheck
    from storestack.lab.reachability import Cell
    from storestack.lab.underlay import WanEvidence

# Each command imports the lab (FRR, namespaces, the network intent, the fleet's models) when it
# runs: `lab --help` imports none of it (tests/packaging/test_cli_startup.py).

F = TypeVar("F", bound=Callable[..., Any])


def default_state_dir(name: str) -> Path:
    return Path(".storestack") / "lab" / name


def lab_options(func: F) -> F:
    func = click.option(
        "--state-dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help="Where the lab keeps its state. Default: .storestack/lab/<name>/",
    )(func)
    return click.option("--name", default="default", show_default=True, help="Lab name.")(func)


def resolve_state_dir(name: str, state_dir: Path | None) -> Path:
    return state_dir or default_state_dir(name)


def recorded_lab(name: str, state_dir: Path | None) -> Path:
    """The state dir of a lab `lab up` recorded, checked before the command runs: none there is
    a bad value of --name (of --state-dir when one is given), which its --json error names."""
    from storestack.lab.state import require_state

    target = resolve_state_dir(name, state_dir).resolve()
    with for_option("--name" if state_dir is None else "--state-dir"):
        require_state(target)
    return target


@click.group()
def lab() -> None:
    """The local device lab: FRR appliances in network namespaces and the vendor emulator."""


@lab.command("up")
@click.option(
    "--stores",
    "stores",
    multiple=True,
    help="Store ids (comma-separated or repeated). Default: every store of the inventory.",
)
@click.option("--count", type=int, default=None, help="Only the first N (selected) stores.")
@click.option(
    "--overlay",
    type=click.Choice(["veth", "ipsec"]),
    default="veth",
    show_default=True,
    help="veth: overlay /31s on veth pairs; ipsec: a lab internet and strongSwan tunnels per link.",
)
@fleet_option
@lab_options
@json_option
def lab_up(
    stores: tuple[str, ...],
    count: int | None,
    overlay: str,
    fleet_path: Path | None,
    name: str,
    state_dir: Path | None,
    as_json: bool,
) -> None:
    """Start the lab for the inventory's hubs and stores (needs root)."""
    from storestack.cli.inventory import load_or_exit
    from storestack.lab import up
    from storestack.lab.fleet import topology_from_fleet

    fleet = load_or_exit(fleet_path, as_json=as_json)
    store_ids = [item.strip() for value in stores for item in value.split(",") if item.strip()]
    topology = topology_from_fleet(
        fleet, store_ids or None, count=count, overlay="ipsec" if overlay == "ipsec" else "veth"
    )
    target = resolve_state_dir(name, state_dir)
    if as_json:
        info = up(topology, target)
    else:
        with err_console.status("starting the lab") as spinner:
            info = up(topology, target, progress=lambda step: spinner.update(Text(step)))
    if as_json:
        emit_json(
            {
                "ok": True,
                "name": info.name,
                "reused": info.reused,
                "start_seconds": info.start_seconds,
                "inventory": str(info.inventory_path),
                "appliances": [target.model_dump(mode="json") for target in info.inventory.appliances],
            }
        )
        return
    table = TextTable("appliance", "role", "store", "platform", "ssh port")
    for appliance in info.inventory.appliances:
        table.add_row(
            appliance.name, appliance.role, appliance.store_id or "", appliance.platform, str(appliance.port)
        )
    print_table(table)
    verb = "already up" if info.reused else f"up in {info.start_seconds:.1f} s"
    console.print(markup("[green]lab {}[/] {}: {} appliances", info.name, verb, len(info.inventory.appliances)))
    console.print(markup("appliance inventory: {}", info.inventory_path))


@lab.command("status")
@lab_options
@json_option
def lab_status(name: str, state_dir: Path | None, as_json: bool) -> None:
    """Each appliance: does SSH answer, is FRR running, its BGP sessions. Exit 1 when unhealthy."""
    from storestack.lab import status

    result = status(recorded_lab(name, state_dir))
    if as_json:
        emit_json({"ok": result.healthy, **result.model_dump(mode="json")})
    else:
        table = TextTable("appliance", "role", "store", "platform", "port", "ssh", "frr", "bgp established")
        for item in result.appliances:
            frr = "emulated" if item.emulated else (markup("[green]up[/]") if item.frr_running else markup("[red]down[/]"))
            peers = ", ".join(
                f"{peer.peer} {peer.state}" for peer in item.bgp_peers if peer.state != "Established"
            )
            bgp = f"{item.bgp_established}/{len(item.bgp_peers)}" + (f" ({peers})" if peers else "")
            table.add_row(
                item.name,
                item.role,
                item.store_id or "",
                item.platform,
                str(item.port),
                markup("[green]yes[/]") if item.ssh_ok else markup("[red]no[/]"),
                frr,
                "" if item.emulated else bgp,
            )
        print_table(table)
        state = "[green]healthy[/]" if result.healthy else "[red]unhealthy[/]"
        console.print(markup(f"lab {{}} ({{}}): {state}", result.name, result.phase))
    if not result.healthy:
        raise SystemExit(EXIT_FAILED)


@lab.command("check")
@fleet_option
@lab_options
@json_option
def lab_check(fleet_path: Path | None, name: str, state_dir: Path | None, as_json: bool) -> None:
    """Reachability of every segment host against the intent's segmentation policy, tunnels up
    with their proposals, and only IKE/ESP on every WAN link. Exit 1 on any mismatch.

    The policy is the intent of --fleet, by default the fleet the lab was built from."""
    from storestack.cli.inventory import load_or_exit
    from storestack.lab.check import check
    from storestack.lab.state import load_state
    from storestack.network.build import NetworkIntent

    target = recorded_lab(name, state_dir)
    recorded = load_state(target)
    if fleet_path is None and recorded is not None and recorded.topology.fleet_root is not None:
        fleet_path = Path(recorded.topology.fleet_root)
    intent = NetworkIntent(load_or_exit(fleet_path, as_json=as_json))
    result = check(target, intent)
    if as_json:
        emit_json({"ok": result.ok, **result.model_dump(mode="json")})
    else:
        print_tunnels(result)
        print_bgp(result)
        print_bfd(result)
        print_evidence(result.wan)
        print_matrix(result.reachability)
        for problem in result.problems:
            console.print(markup("[red]✗[/] {}", problem))
        verdict = "[green]passed[/]" if result.ok else f"[red]failed[/] ({len(result.problems)} problems)"
        console.print(markup(f"lab {{}} check {verdict}", result.name))
    if not result.ok:
        raise SystemExit(EXIT_FAILED)


def print_tunnels(result: LabCheck) -> None:
    tunnels = TextTable("tunnel", "initiator", "responder", "state", "IKE proposal", "ESP proposal")
    for item in result.tunnels:
        t = item.tunnel
        state = markup("[green]up[/]") if t.up else markup("[red]down[/] {}", item.reason or "")
        state.rstrip()
        tunnels.add_row(t.id, t.initiator, t.responder, state, t.ike_proposal or "", t.esp_proposal or "")
    print_table(tunnels)


def print_bgp(result: LabCheck) -> None:
    """Each appliance's BGP neighbours: Established where the lab runs the far end."""
    table = TextTable("appliance", "neighbor", "peer", "kind", "AS", "state", "prefixes in")
    for session in result.bgp:
        if session.established:
            state = markup("[green]Established[/]")
        elif session.in_lab:
            state = markup("[red]{}[/]", session.state)
        else:
            state = markup("[dim]{} (not in the lab)[/]", session.state)
        table.add_row(
            session.appliance,
            str(session.neighbor),
            session.peer or session.description,
            session.kind,
            f"{session.local_as} -> {session.remote_as}",
            state,
            str(session.prefixes_received),
        )
    print_table(table)


def print_bfd(result: LabCheck) -> None:
    """Each appliance's BFD sessions: up where the lab runs the far end."""
    table = TextTable("appliance", "peer address", "peer", "interface", "state")
    for session in result.bfd:
        if session.up:
            state = markup("[green]up[/]")
        elif session.in_lab:
            state = markup("[red]{}[/] {}", session.status, session.diagnostic or "")
            state.rstrip()
        else:
            state = markup("[dim]{} (not in the lab)[/]", session.status)
        table.add_row(session.appliance, str(session.peer_address), session.peer or "", session.interface or "", state)
    print_table(table)


def print_evidence(wan: list[WanEvidence]) -> None:
    """Packets each site sent into the lab internet, by kind, with the verdict."""
    table = TextTable("site", "WAN", "address", "IKE/ESP", "internet", "BGP", "BFD", "other", "verdict")
    for e in wan:
        good = "internet only" if e.kind == "site" else "encrypted only"
        verdict = markup("[green]{}[/]", good) if e.encrypted_only else markup("[red]CLEARTEXT[/]")
        table.add_row(
            e.site,
            e.ifname,
            str(e.address),
            str(e.ipsec_packets),
            str(e.internet_packets),
            str(e.bgp_packets),
            str(e.bfd_packets),
            str(e.other_packets),
            verdict,
        )
    print_table(table)


def print_matrix(cells: list[Cell]) -> None:
    """One table: a row per store segment host, a column per target; ✓ reached, · not, with
    the intent's allow/deny; a cell that differs from the intent in red with ✗."""
    targets = list(dict.fromkeys(cell.target for cell in cells))
    table = TextTable("store", "from \\ to", *targets, title="reachability (intent: allow / deny)")
    for store in dict.fromkeys(cell.store_id for cell in cells):
        mine = [cell for cell in cells if cell.store_id == store]
        for source in dict.fromkeys(cell.source for cell in mine):
            row: list[str | Text] = []
            for target in targets:
                cell = next((c for c in mine if c.source == source and c.target == target), None)
                if cell is None:
                    row.append("")
                    continue
                mark = "✓" if cell.reachable else "·"
                policy = "allow" if cell.allowed else "deny"
                row.append(f"{mark} {policy}" if cell.matches else markup("[red]{} {} ✗[/]", mark, policy))
            table.add_row(store, source, *row)
    print_table(table)


@lab.command("down")
@lab_options
@json_option
def lab_down(name: str, state_dir: Path | None, as_json: bool) -> None:
    """Stop every lab process and delete its namespaces; safe to run twice."""
    from storestack.lab import down

    report = down(resolve_state_dir(name, state_dir))
    if as_json:
        emit_json({"ok": True, **report.model_dump(mode="json")})
        return
    if not report.was_recorded and not report.namespaces_deleted and not report.processes_stopped:
        console.print(markup("lab {}: nothing to stop", report.name))
        return
    console.print(
        markup(
            "lab {} down: {} processes stopped, {} namespaces deleted",
            report.name, report.processes_stopped, len(report.namespaces_deleted),
        )
    )


def change_link(action: str, store: str, link: str, name: str, state_dir: Path | None, as_json: bool) -> None:
    from storestack.lab import fail_link, restore_link

    change = fail_link if action == "fail" else restore_link
    changed = change(recorded_lab(name, state_dir), store, link)
    state = "down" if action == "fail" else "up"
    if as_json:
        emit_json({"ok": True, "store": store, "link": link, "state": state, "kind": changed.kind})
        return
    console.print(markup("{} {} ({}, to {}) is {}", store, link, changed.kind, changed.b.appliance, state))


@lab.command("fail-link")
@click.argument("store")
@click.argument("link")
@lab_options
@json_option
def lab_fail_link(store: str, link: str, name: str, state_dir: Path | None, as_json: bool) -> None:
    """Take a store's WAN link down (its veth), to rehearse failover."""
    change_link("fail", store, link, name, state_dir, as_json)


@lab.command("restore-link")
@click.argument("store")
@click.argument("link")
@lab_options
@json_option
def lab_restore_link(store: str, link: str, name: str, state_dir: Path | None, as_json: bool) -> None:
    """Bring a store's WAN link back up."""
    change_link("restore", store, link, name, state_dir, as_json)


@lab.command("emulator")
@click.option(
    "--spec",
    "spec_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    required=True,
    help="YAML: username and devices (name, platform, port, running_config, faults …).",
)
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(".storestack") / "emulator",
    show_default=True,
)
def lab_emulator(spec_path: Path, state_dir: Path) -> None:
    """Run the vendor SSH emulator in the foreground until Ctrl-C (no root needed)."""
    from storestack.lab.emulator import Emulator, EmulatorSpec, serve_forever  # asyncssh: only to serve

    spec = EmulatorSpec.load(spec_path)  # an unreadable or invalid spec: exit 2, file, line and field
    emulator = Emulator(spec, state_dir=state_dir, persist_configs=True, name=state_dir.name)
    err_console.print(
        markup("emulating {} devices; inventory: {} (Ctrl-C stops)", len(spec.devices), emulator.inventory_path)
    )
    serve_forever(emulator)


# ---------------------------------------------------------------- SLA: impairment and paths


@lab.command("impair")
@click.argument("store")
@click.argument("link", required=False)
@click.option("--loss", "loss", type=click.IntRange(1, 100), help="Drop PCT % of IPv4 packets, both directions.")
@click.option("--rate", "rate", type=click.IntRange(8, None), help="Limit the link to KBIT kbit/s, both directions (tbf).")
@click.option(
    "--flap", "flap", type=click.FloatRange(0.5, 3600), help="Down SECONDS, up SECONDS, repeatedly, until cleared."
)
@click.option("--clear", is_flag=True, help="Remove the impairment of LINK (or of every link of STORE).")
@lab_options
@json_option
def lab_impair(
    store: str,
    link: str | None,
    loss: int | None,
    rate: int | None,
    flap: float | None,
    clear: bool,
    name: str,
    state_dir: Path | None,
    as_json: bool,
) -> None:
    """Impair STORE's WAN LINK in a lab started with --overlay ipsec: packet loss, a rate limit
    or flaps, both directions, where the ISP's side of the line would be.

    Each call sets the link's whole impairment. Loss is nftables `numgen random` drop, rate is a
    tbf qdisc, a flap drops everything on the line for the given time. This kernel has no
    sch_netem, so latency and jitter cannot be added: there is no --delay, on purpose."""
    from storestack.lab.impair import clear as clear_impairments
    from storestack.lab.impair import impair

    if clear and (loss is not None or rate is not None or flap is not None):
        fail("--clear takes no --loss, --rate or --flap", EXIT_USAGE, as_json=as_json, field="--clear")
    if not clear and link is None:
        fail("give the LINK to impair (e.g. wan1)", EXIT_USAGE, as_json=as_json, field="LINK")
    target = recorded_lab(name, state_dir)
    if clear:
        removed = clear_impairments(target, store, link)
    else:
        assert link is not None
        record = impair(target, store, link, loss_percent=loss, rate_kbit=rate, flap_seconds=flap)
    if clear:
        if as_json:
            emit_json({"ok": True, "cleared": [{"store": r.store_id, "link": r.link} for r in removed]})
        else:
            console.print(
                markup("cleared: {}", ", ".join(f"{r.store_id} {r.link} ({r.summary})" for r in removed))
                if removed
                else "nothing was impaired"
            )
        return
    if as_json:
        emit_json({"ok": True, **record.model_dump(exclude={"flap_pid"}), "summary": record.summary})
        return
    console.print(markup("{} {}: {}", store, link, record.summary))


@lab.command("path")
@click.argument("store")
@click.argument("application")
@click.option(
    "--window", type=click.FloatRange(0.2, 60), default=2.0, show_default=True, help="Seconds between counter reads."
)
@lab_options
@json_option
def lab_path(store: str, application: str, window: float, name: str, state_dir: Path | None, as_json: bool) -> None:
    """Show the path APPLICATION (an SLA application class: pos, guest …) currently leaves
    STORE on, from the store's packet counters (not its config). Exits 1 when the class sent
    nothing in the window."""
    from storestack.lab.path import path

    report = path(recorded_lab(name, state_dir), store, application, window=window)
    current = report.current
    if as_json:
        emit_json(
            {
                "ok": current is not None,
                "store": store,
                "application": application,
                "transport": current.transport if current else None,
                "hub": current.hub if current else None,
                "window_seconds": report.window_seconds,
                "refused_on_cellular": report.refused_on_cellular,
                "paths": [p.model_dump() for p in report.paths],
            }
        )
    else:
        for count in report.paths:
            where = count.hub or "local breakout"
            console.print(
                markup("  {}", f"{count.transport:<8} {where:<16} {count.ifname:<12} {count.packets:>8} packets")
            )
        if report.refused_on_cellular:
            console.print(f"  refused on LTE/5G: {report.refused_on_cellular} packets")
        if current is None:
            console.print(markup("{} {}: no packets in {} s", store, application, f"{window:g}"))
        else:
            console.print(
                markup("{} {} leaves on {} ({})", store, application, current.transport, current.hub or "local breakout")
            )
    if current is None:
        sys.exit(EXIT_FAILED)
