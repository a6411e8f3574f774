"""The core diff: remediation (running → intended) and rollback (intended → running) of one
appliance, from normalised text, each push strategy applied in its place."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from hier_config import HConfig, WorkflowRemediation, get_hconfig

from storestack.devices.configdiff.entry_moves import entry_moves
from storestack.devices.configdiff.factory_objects import without_factory_objects
from storestack.devices.configdiff.lines import indent_width, normalise, with_paths
from storestack.devices.configdiff.policy_refresh import policy_change_of_lines
from storestack.devices.configdiff.recreated import recreated
from storestack.devices.configdiff.redaction import Redactor
from storestack.devices.configdiff.send_order import send_ordered
from storestack.devices.configdiff.slotted_filters import slot_filters, slotted_filters
from storestack.devices.configdiff.undeletable import keep_undeletable_sections
from storestack.devices.drivers import PlatformDriver, driver_for, hier_driver
from storestack.devices.secret_ledger import HeldSecrets


def secret_paths(intended: str, platform: str) -> list[tuple[str, ...]]:
    """The paths of the intended config's secret lines (and lines the device never shows): what
    the secret ledger records once an appliance holds the intended config."""
    driver = driver_for(platform)
    if not driver.hides_secrets:
        return []
    return [
        path
        for line, path in with_paths(normalise(intended, driver))
        if driver.secret_shape(line) != line or (len(path) == 1 and driver.is_unshown(line))
    ]


def _compared_lines(running: str, intended: str, driver: PlatformDriver) -> tuple[list[str], list[str]]:
    """The running and intended lines a diff compares: both normalised, and the running config
    without the device's own objects the intended config does not name."""
    wanted = normalise(intended, driver)
    return without_factory_objects(normalise(running, driver), wanted, driver), wanted


def _held_as_intended(
    running_lines: list[str], intended_lines: list[str], driver: PlatformDriver, held: HeldSecrets | None
) -> tuple[list[str], list[str]]:
    """Both sides as the diff reads them where the device keeps secrets in a form of its own.

    A running line that shows a secret in its stored form, with an intended line of the same
    shape in the same place: where it shows the intended value, or the appliance holds that
    intended line (`held`, the secret ledger), it reads as the intended line; where neither, it
    is left out, so the intended line is sent and overwrites it (never the stored form negated
    first). An intended line the device never shows is left out of both sides where it is held
    and, where the device lists such lines, listed. Without `held` (a rollback to a backup), no
    line is held."""
    if not driver.hides_secrets:
        return running_lines, intended_lines
    secret_lines: dict[tuple[str, ...], tuple[str, bool]] = {}
    unshown: set[str] = set()
    for line, path in with_paths(intended_lines):
        shape = driver.secret_shape(line)
        is_held = held is not None and held.holds(path)
        if len(path) == 1 and driver.is_unshown(line):
            listing = driver.unshown_listing
            if listing is not None and held is not None and held.listed is not None:
                # held only while the device still lists it
                is_held = is_held and listing.key_of(line) in held.listed
            if is_held:
                unshown.add(shape)
        elif shape != line:
            secret_lines[(*path[:-1], shape)] = (line.strip(), is_held)
    if not secret_lines and not unshown:
        return running_lines, intended_lines
    running_read: list[str] = []
    for line, path in with_paths(running_lines):
        shape = driver.secret_shape(line)
        if shape == line:
            running_read.append(line)
        elif len(path) == 1 and shape in unshown:
            continue
        elif (found := secret_lines.get((*path[:-1], shape))) is None:
            running_read.append(line)
        elif found[1] or found[0] == line.strip():
            # held, or shown as sent: the intended line (indented as the running one)
            running_read.append(line[: indent_width(line)] + found[0])
    intended_read = [line for line in intended_lines if indent_width(line) or driver.secret_shape(line) not in unshown]
    return running_read, intended_read


@dataclass(frozen=True)
class ConfigDiff:
    """Running vs intended for one appliance.

    `remediation` and `rollback` are the lines as they would be sent (indented, with the
    platform's section exits). They may carry secrets: show them only through a Redactor.
    """

    platform: str
    running: tuple[str, ...]
    intended: tuple[str, ...]
    remediation: tuple[str, ...]
    rollback: tuple[str, ...] = field(default=())
    # Exec commands that make the changed BGP policy apply to the routes the sessions hold
    # already, run once the remediation is applied (`PlatformDriver.policy_refresh`).
    refresh: tuple[str, ...] = field(default=())
    # Seconds the appliance takes to apply the changed BGP policy itself, which the push waits
    # before its checks (`PolicyRefresh.applied_after_s`); 0 where none changed.
    policy_wait_s: float = 0.0
    # Bound filters whose change needs a number and finds none free (`Slotted.without_room`):
    # `remediation` would edit them in place; the push refuses the appliance.
    without_room: tuple[str, ...] = field(default=())
    # The parsed configs, for callers that need more from them (read only: parsing is most of a
    # diff's cost, so a push does it once per appliance).
    running_config: HConfig | None = field(default=None, compare=False, repr=False)
    intended_config: HConfig | None = field(default=None, compare=False, repr=False)

    @property
    def in_sync(self) -> bool:
        return not self.remediation

    @property
    def change_lines(self) -> int:
        """Lines that change something, i.e. without the section enter/exit lines."""
        return _count_changes(self.remediation, self.platform)

    def unified(self, redactor: Redactor, *, name: str = "appliance") -> str:
        """A unified diff of the normalised running and intended configs, redacted."""
        return "".join(
            difflib.unified_diff(
                [line + "\n" for line in redactor.redact_lines(self.running)],
                [line + "\n" for line in redactor.redact_lines(self.intended)],
                fromfile=f"{name} (running)",
                tofile=f"{name} (intended)",
            )
        )


def _count_changes(lines: Iterable[str], platform: str) -> int:
    exits = {"exit", "exit-address-family", "end", "next", "quit"}
    # Parsed one top-level block at a time: a send order may send one section in two blocks.
    blocks: list[list[str]] = []
    for line in lines:
        if line.strip() in exits:
            continue
        if not blocks or not line[:1].isspace():
            blocks.append([])
        blocks[-1].append(line)
    driver = hier_driver(platform)
    return sum(
        1
        for block in blocks
        for child in get_hconfig(driver, "\n".join(block)).all_children()
        if not child.children
    )


def compute_diff(running: str, intended: str, platform: str, *, held: HeldSecrets | None = None) -> ConfigDiff:
    """Remediation (running → intended) and rollback (intended → running) for one appliance.

    `held`: the intended secret lines the appliance is known to hold (the secret ledger), where
    the device shows secrets in a form of its own; without it, none is (`_held_as_intended`)."""
    driver = driver_for(platform)
    shown, wanted = _compared_lines(running, intended, driver)
    running_lines, intended_lines = _held_as_intended(shown, wanted, driver, held)
    # Bound filters under the name the device holds them by, or rebuilt under the other one.
    slotted = slot_filters(running_lines, intended_lines, driver.swapped_filters)
    intended_lines = slotted.lines
    if running_lines == intended_lines:
        # The appliance shows exactly the intended lines: nothing to send, and no need to parse
        # (parsing is most of a diff's cost, and most appliances of a push are in sync).
        return ConfigDiff(platform=platform, running=tuple(running_lines), intended=tuple(intended_lines), remediation=())
    hconfig_driver = hier_driver(platform)
    running_config = get_hconfig(hconfig_driver, "\n".join(running_lines))
    intended_config = get_hconfig(hconfig_driver, "\n".join(intended_lines))
    keep_undeletable_sections(running_config, intended_config, driver)
    workflow = WorkflowRemediation(running_config, intended_config)
    recreating = recreated(running_lines, intended_lines, driver) is not None
    if recreating:
        # Entries the device cannot change in place: deleted first, configured anew after.
        remediation = _delta_lines(running_lines, intended_lines, driver, platform)
    else:
        remediation = send_ordered(workflow.remediation_config, running_config, intended_config, driver)
        remediation += entry_moves(running_config, intended_config, driver)
    if not remediation:
        # Nothing to change means nothing to undo; most appliances of a push are in sync.
        rollback: tuple[str, ...] = ()
    else:
        # What a failed push sends once every line is in (`rollback_lines`): from the intended
        # config as the appliance holds it (its filters in their slots) back to the running one,
        # the secrets it showed restored in their stored form (which it takes as input).
        intended_back, running_back = _held_as_intended(wanted, shown, driver, None)
        intended_back = slotted_filters(running_back, intended_back, driver.swapped_filters)
        rollback = _delta_lines(intended_back, running_back, driver, platform, to_backup=True)
    refresh, policy_wait_s = policy_change_of_lines(running_lines, intended_lines, driver.policy_refresh) if remediation else ((), 0.0)
    return ConfigDiff(
        platform=platform,
        running=tuple(running_lines),
        intended=tuple(intended_lines),
        remediation=remediation,
        rollback=rollback,
        refresh=refresh,
        policy_wait_s=policy_wait_s,
        without_room=slotted.without_room,
        running_config=running_config,
        intended_config=intended_config,
    )


def remediation_lines(
    running: str, intended: str, platform: str, *, held: HeldSecrets | None = None
) -> tuple[str, ...]:
    """Only the remediation (cheaper than compute_diff: no rollback is built); `held` as there."""
    driver = driver_for(platform)
    running_lines, intended_lines = _held_as_intended(*_compared_lines(running, intended, driver), driver, held)
    intended_lines = slotted_filters(running_lines, intended_lines, driver.swapped_filters)
    if running_lines == intended_lines:
        return ()
    return _delta_lines(running_lines, intended_lines, driver, platform)


def rollback_lines(running: str, backup: str, platform: str) -> tuple[str, ...]:
    """What takes an appliance from `running` back to `backup` (its running config before a
    push): what a rollback sends, and what the push's plan shows (`ConfigDiff.rollback`). Unlike
    a remediation, an entry of a kept section the backup lacks was made since and is deleted."""
    driver = driver_for(platform)
    now, back = _held_as_intended(*_compared_lines(running, backup, driver), driver, None)
    back = slotted_filters(now, back, driver.swapped_filters)
    if now == back:
        return ()
    return _delta_lines(now, back, driver, platform, to_backup=True)


def _delta_lines(
    before: list[str], after: list[str], driver: PlatformDriver, platform: str, *, to_backup: bool = False
) -> tuple[str, ...]:
    """What turns `before` into `after` (normalised lines), in the order the platform takes it:
    where an entry must be configured anew (`recreated`), by way of `before` without it;
    `to_backup` where `after` is a backup (`keep_undeletable_sections`)."""
    cleared = recreated(before, after, driver)
    if cleared is not None:
        return _delta_lines(before, cleared, driver, platform, to_backup=to_backup) + _delta_lines(
            cleared, after, driver, platform, to_backup=to_backup
        )
    hconfig_driver = hier_driver(platform)
    running_config = get_hconfig(hconfig_driver, "\n".join(before))
    intended_config = get_hconfig(hconfig_driver, "\n".join(after))
    keep_undeletable_sections(running_config, intended_config, driver, to_backup=to_backup)
    remediation = running_config.config_to_get_to(intended_config).set_order_weight()
    return send_ordered(remediation, running_config, intended_config, driver) + entry_moves(
        running_config, intended_config, driver
    )
