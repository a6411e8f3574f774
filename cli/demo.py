"""`storestack demo`: the sample chain from inventory to live stores in the local lab, every step shown.

No cloud account and no Pulumi CLI: stacks are planned offline and the rollout uses the plan's
outputs. The lab runs the IPsec overlay, so the demo can show with packets what the intent
claims: the reachability matrix and that the WANs carried only IKE/ESP. Needs root (the lab runs FRR in network namespaces). The lab is always stopped at the end,
also after a failure or Ctrl-C.

This module runs the steps and shows them; what they do lives in the library: the scratch copy of
the sample chain and its throwaway secrets in `lab.workspace`, the lab check retried while the
routes settle in `lab.check`, the brownout drill in `lab.brownout`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich import box
from rich.text import Text

from storestack.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    TextTable,
    console,
    err_console,
    fail_on,
    markup,
    print_table,
    quiet_device_logs,
)
from storestack.cli.lab import print_evidence, print_matrix
from storestack.cli.rollout import print_summary, run_with_display
from storestack.common.errors import RolloutFamily
from storestack.inventory import InventoryError, load_fleet_with_allocations
from storestack.lab import LabError, LabPrerequisiteError, check_prerequisites, down, status, up
from storestack.lab.brownout import BrownoutDrill, brownout_drill, failover_store
from storestack.lab.check import settled_check
from storestack.lab.fleet import topology_from_fleet
from storestack.lab.workspace import DemoWorkspace, fill_throwaway_secrets, prepare_workspace
from storestack.network.build import NetworkIntent
from storestack.rollout.environment import DEFAULT_STATE_DIR
from storestack.rollout.errors import RolloutError
from storestack.rollout.report import summarise
from storestack.rollout.rollout import STEPS, RolloutOptions, run_rollout
from storestack.stacks.plan import PlanReport, compare_and_save, make_tasks, plan_tasks
from storestack.stacks.render import plan_stacks, render_stacks

TOTAL_STEPS = 9

# The brownout drill fails only past generous ceilings (a loaded machine slows BFD and the steering
# daemon alike), so a move later than 95 of 100 drills at its loss take is marked apart from one within.
# The SLA's detection time is a mean: one drill is a single draw of a long-tailed time.
_ON_TIME = "[green]✓[/]"
_LATE = "[yellow]![/]"
_LATE_WHY = " (later than the SLA: a loaded machine slows BFD and the steering daemon; the drill fails only 60 s past it)"


def brownout_lines(brownout: BrownoutDrill) -> tuple[str, str, str]:
    """The drill's two step lines (the move, the return) and its summary line; a move later than
    95 of 100 drills at its loss take, or a return past the SLA, is marked late, not passed. The
    drill has moved (else the demo failed); a drill that has not returned gets the move line only
    (the demo fails next)."""
    assert brownout.moved_after is not None
    moved_late = brownout.moved_after > brownout.likely_seconds
    moved = (
        f"{_LATE if moved_late else _ON_TIME} POS moved from {brownout.link} to {brownout.moved_to} in "
        f"{brownout.moved_after:.1f} s (SLA: detection + hold-down {brownout.window_seconds} s on average; "
        f"at {brownout.loss_percent}% loss {brownout.mean_seconds:.1f} s on average, within "
        f"{brownout.likely_seconds:.1f} s in 95 of 100 drills)"
        + (_LATE_WHY if moved_late else "")
    )
    if brownout.returned_after is None:
        return moved, "", ""
    # Back: a clean path held for recovery_seconds, then one SLA window to see it.
    returned_late = brownout.returned_after > brownout.recovery_seconds + brownout.window_seconds
    returned = (
        f"{_LATE if returned_late else _ON_TIME} POS back on {brownout.link} {brownout.returned_after:.1f} s "
        f"after the loss cleared (SLA recovery: {brownout.recovery_seconds} s)"
        + (_LATE_WHY if returned_late else "")
    )
    summary = (
        f"POS moved off {brownout.link} in {brownout.moved_after:.1f} s at {brownout.loss_percent}% loss"
        + (f" (later than 95 of 100 drills: {brownout.likely_seconds:.1f} s)" if moved_late else "")
        + f", back {brownout.returned_after:.1f} s after it cleared"
        + (" (later than the SLA's recovery)" if returned_late else "")
    )
    return moved, returned, summary


class DemoFailed(RolloutFamily):
    """A demo step failed; the message says which and why."""


@contextmanager
def demo_step(number: int, title: str) -> Iterator[Callable[[str | Text], None]]:
    """Print the step, run it, print its result lines with the time it took: a `str` as text, a
    `Text` (a line styled on purpose, the brownout drill's marks) as styled. A step that fails
    still prints the lines it had (the failure says what came after them)."""
    console.rule(f"[bold]{number}/{TOTAL_STEPS} {title}", align="left")
    started = time.monotonic()
    results: list[str | Text] = []
    try:
        yield results.append
    finally:
        for line in results:
            console.print(Text("  ").append_text(line) if isinstance(line, Text) else markup("  {}", line), soft_wrap=True)
    console.print(f"  [dim]{time.monotonic() - started:.1f} s[/]")


@click.command("demo")
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_STATE_DIR / "demo",
    show_default=True,
    help="Where the demo keeps its copy of the sample chain, its lab, journals and plans.",
)
@click.option("--concurrency", default=8, show_default=True, type=click.IntRange(1, 64), help="Stores rolled out at once.")
def demo(state_dir: Path, concurrency: int) -> None:
    """The sample chain end to end in the local lab: validate, render, plan, lab up, roll out every
    store, BGP state, one failover, summary, lab down. Needs root; no cloud account, no Pulumi CLI."""
    quiet_device_logs()
    try:
        check_prerequisites()
    except LabPrerequisiteError as exc:
        fail_on(exc, context=" (the demo runs the device lab)")
    started = time.monotonic()
    workspace = prepare_workspace(state_dir.resolve())
    failure: str | None = None
    code = EXIT_FAILED
    outcome: list[str] = []
    try:
        outcome = _run(workspace, concurrency)
    except DemoFailed as exc:
        failure = str(exc)
    except KeyboardInterrupt:
        failure, code = "interrupted", 130
    finally:
        with demo_step(TOTAL_STEPS, "stop the lab") as say:
            stopped = down(workspace.lab)
            say(f"stopped {stopped.processes_stopped} processes, deleted {len(stopped.namespaces_deleted)} namespaces")
    if failure is not None:
        err_console.print(markup("[bold red]demo failed:[/] {} (the lab was stopped)", failure))
        raise SystemExit(code)
    console.rule("[bold]summary", align="left")
    for line in outcome:
        console.print(markup("  {}", line), soft_wrap=True)
    console.print(
        markup("[bold green]demo finished in {} s[/]; journals and plans in {}", f"{time.monotonic() - started:.0f}", state_dir)
    )
    raise SystemExit(EXIT_OK)


def _run(workspace: DemoWorkspace, concurrency: int) -> list[str]:
    """Steps 1-8; returns the summary lines. Raises DemoFailed."""
    with demo_step(1, "validate the inventory (the sample chain: Northwind Markets)") as say:
        try:
            loaded = load_fleet_with_allocations(workspace.fleet)
        except InventoryError as exc:
            raise DemoFailed(f"the sample chain is invalid: {exc}") from None
        fleet = loaded.fleet
        say(f"ok {len(fleet)} stores, {len(fleet.hubs)} hubs valid; IPAM lock {'unchanged' if not loaded.lock_changed else 'needs writing'}")
        # Throwaway values for this process only, never shown: the demo needs no real secrets.
        generated = fill_throwaway_secrets(fleet)
        if generated:
            say(f"device secrets: {len(generated)} throwaway value(s) generated for this run (not shown)")

    with demo_step(2, "render the Pulumi stack configs") as say:
        rendered = render_stacks(fleet, workspace.stacks)
        say(
            f"{len(rendered.stacks)} stacks into {workspace.stacks}: "
            f"{len(rendered.written)} files written, {len(rendered.unchanged)} unchanged"
        )

    with demo_step(3, "plan every stack offline (Pulumi mocks, no cloud account)") as say:
        _entries, configs = plan_stacks(fleet, workspace.stacks)
        plans = plan_tasks(make_tasks(configs))
        report = PlanReport(stacks=plans, changes=compare_and_save(plans, workspace.state / "plans", complete=True))
        for stack_plan in plans:
            say(f"{stack_plan.stack:<16} {len(stack_plan.resources):4d} resources")
        say(f"plan: {len(plans)} stacks, {sum(len(p.resources) for p in plans)} resources, {len(report.errors)} error(s)")
        if not report.ok:
            raise DemoFailed("; ".join(f"{f.stack} {f.check}: {f.message}" for f in report.errors[:5]))

    topology = topology_from_fleet(fleet, overlay="ipsec")
    with demo_step(4, "start the lab (FRR + strongSwan appliances, segment hosts, HQ, vendor emulator)") as say:
        try:
            info = up(topology, workspace.lab)
        except LabError as exc:
            raise DemoFailed(f"the lab did not start: {exc}") from None
        emulated = {a.name for a in topology.appliances if a.emulated}
        say(
            f"{len(topology.appliances) - len(emulated)} FRR appliances and {len(emulated)} emulated vendor appliances "
            f"up in {info.start_seconds:.1f} s"
        )

    stores = tuple(store.id for store in fleet)
    options = RolloutOptions(
        stores=stores,
        fleet_path=workspace.fleet,
        lab_state_dir=workspace.lab,
        concurrency=concurrency,
        failover=False,  # one drill is shown on its own in step 7
        state_dir=workspace.state,
        stacks_dir=workspace.stacks,
    )
    with demo_step(5, f"roll out all {len(stores)} stores to the lab") as say:
        try:
            result = run_with_display(
                lambda observer, stop: run_rollout(options, observer=observer, stop=stop), live=True
            )
        except RolloutError as exc:
            raise DemoFailed(f"rollout could not start: {exc}") from None
        summary = summarise(
            result.journal, state_dir=workspace.state, outputs_mode=result.outputs_mode, titles=dict(STEPS)
        )
        print_summary(summary, options)
        if result.interrupted:
            raise KeyboardInterrupt  # the rollout took the Ctrl-C; the demo still stops the lab
        if not summary.ok:
            raise DemoFailed(f"{summary.totals['failed']} store(s) failed to roll out; see above")
        say(f"{summary.totals['active']} stores active")

    with demo_step(6, "BGP state in the lab") as say:
        table = TextTable(box=box.SIMPLE_HEAD, header_style="bold")
        for column in ("appliance", "role", "platform", "BGP Established", "prefixes received"):
            table.add_column(column)
        for item in status(workspace.lab).appliances:
            if item.emulated:
                table.add_row(item.name, item.role, item.platform, markup("[dim]emulated: no data plane[/]"), "")
                continue
            peers = item.bgp_peers
            up_count = sum(1 for p in peers if p.state == "Established")
            received = sum(p.prefixes_received or 0 for p in peers if p.state == "Established")
            table.add_row(item.name, item.role, item.platform, f"{up_count}/{len(peers)}", str(received))
        print_table(table)
        say("hub peers that are not Established have no far end in the lab: the emulated vendor stores "
            "(no data plane) and the hubs' own cloud tunnels; store peers at 169.254.x are AWS, the cloud "
            "stand-in configured from the offline plan; 10.0.0.x are the DC core and the other hub")

    with demo_step(7, "reachability and encryption evidence (storestack lab check)") as say:
        try:
            verdict = settled_check(workspace.lab, NetworkIntent(fleet))
        except LabError as exc:
            raise DemoFailed(f"lab check could not run: {exc}") from None
        print_matrix(verdict.reachability)
        print_evidence(verdict.wan)
        up_count = sum(1 for t in verdict.tunnels if t.tunnel.up)
        say(
            f"{up_count}/{len(verdict.tunnels)} tunnels up; {sum(c.matches for c in verdict.reachability)}/"
            f"{len(verdict.reachability)} cells as the intent says; "
            f"{sum(e.encrypted_only for e in verdict.wan)}/{len(verdict.wan)} WAN ports carried only IKE/ESP between sites"
        )
        in_lab = [b for b in verdict.bgp if b.in_lab]
        kinds = ", ".join(
            f"{kind} {sum(b.established for b in in_lab if b.kind == kind)}/{sum(b.kind == kind for b in in_lab)}"
            for kind in ("store-hub", "hub-hub", "aws", "dc-core")
        )
        say(f"BGP sessions Established where the lab runs the far end: {kinds}")
        if not verdict.ok:
            raise DemoFailed("lab check: " + "; ".join(verdict.problems[:5]))

    store_id = failover_store(fleet, emulated)
    with demo_step(8, f"brownout: {store_id or 'no FRR store with a backup link'} loses 30% on its POS link") as say:
        if store_id is not None:
            brownout = brownout_drill(
                fleet, workspace.lab, store_id, on_progress=lambda text: console.print(markup("  … {}", text))
            )
            if brownout.moved_after is None:
                raise DemoFailed(
                    f"POS of {store_id} stayed on {brownout.link} through {brownout.loss_percent}% loss "
                    f"(the SLA allows {brownout.window_seconds} s)"
                )
            moved, returned, drill = brownout_lines(brownout)
            say(Text.from_markup(moved))  # our marks; the link names are inventory names (no brackets)
            if brownout.returned_after is None:
                raise DemoFailed(f"POS of {store_id} did not return to {brownout.link} after the loss cleared")
            if brownout.returned_early:
                raise DemoFailed(
                    f"POS of {store_id} was back on {brownout.link} {brownout.returned_after:.1f} s after the loss "
                    f"cleared, sooner than the SLA's recovery of {brownout.recovery_seconds} s"
                )
            say(Text.from_markup(returned))
        else:
            drill = "not run"
    totals = summary.totals
    return [
        f"inventory: {len(fleet)} stores, {len(fleet.hubs)} hubs valid",
        f"stacks: {len(plans)} planned offline, {sum(len(p.resources) for p in plans)} resources, checks passed",
        f"rollout {summary.run_id}: {totals['active']}/{totals['stores']} stores active, "
        f"{totals['lines_pushed']} config lines pushed, {totals['checks_passed']} checks passed"
        + (f", {totals['checks_skipped']} skipped (emulated appliances)" if totals["checks_skipped"] else ""),
        "cloud outputs: PLANNED from the offline plan (the lab has no cloud behind it)",
        f"lab check: {len(verdict.reachability)} reachability cells match the intent, only IKE/ESP between sites",
        f"brownout of {store_id}: {drill}",
    ]
