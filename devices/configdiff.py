"""Normalise configs, compute remediation and rollback with hier_config, and redact what is shown.

The remediation (running → intended) is what gets sent; the rollback (intended → running) is
what would undo it. Both are computed from normalised text: the header lines a platform prints
by itself (FRR's `frr version`, `frr defaults`, `ip forwarding`, bare `exit` …) are dropped on
both sides, otherwise hier_config would emit lines that negate them.
"""

from __future__ import annotations

import difflib
import heapq
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from hier_config import HConfig, WorkflowRemediation, get_hconfig
from hier_config.child import HConfigChild

from storestack.devices.drivers import PlatformDriver, driver_for, hier_driver
from storestack.devices.platforms.base import (
    DeletedForm,
    DeletedWith,
    NamedObjects,
    NumberedEntries,
    PolicyRefresh,
    PrefixLists,
    RecreatedEntries,
    StoppedWhileChanged,
    SwappedFilters,
    WipedBy,
)
from storestack.devices.secret_ledger import HeldSecrets
from storestack.devices.secrets import secret_spellings

REDACTED = "<redacted>"
# Values shorter than this are not redacted by value: replacing every "ab" would wreck output
# while not hiding anything worth hiding. Pattern-based redaction still covers them.
_MIN_SECRET_LENGTH = 4


class Redactor:
    """Hides secrets in anything shown, logged or written to a report.

    Two layers: known secret values (device password, PSKs from the intended config), in every
    spelling a rendered file carries them (`secret_spellings`), are replaced wherever they
    appear, and the platform's secret patterns (`password X`, `set psksecret X` …) hide values
    we were not told about, e.g. in a running config.
    """

    def __init__(self, *, patterns: Iterable[str] = (), secrets: Iterable[str] = ()) -> None:
        self._patterns = tuple(re.compile(pattern, re.MULTILINE) for pattern in patterns)
        self._secrets = _longest_first(secrets)

    def with_secrets(self, secrets: Iterable[str]) -> Redactor:
        redactor = Redactor()
        redactor._patterns = self._patterns
        redactor._secrets = _longest_first(secrets, known=self._secrets)
        return redactor

    @property
    def secret_values(self) -> tuple[str, ...]:
        return self._secrets

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        for pattern in self._patterns:
            text = pattern.sub(_keep_prefix, text)
        return text

    def redact_lines(self, lines: Iterable[str]) -> list[str]:
        return [self.redact(line) for line in lines]


def _longest_first(secrets: Iterable[str], known: Iterable[str] = ()) -> tuple[str, ...]:
    """`known` (already spelled) and every spelling a rendered file may carry `secrets` in
    (chrony's key file holds the NTP key in hex), longest first so that no shorter value
    splits a longer one."""
    spelled = {*known, *(spelling for secret in secrets for spelling in secret_spellings(secret))}
    return tuple(sorted({s for s in spelled if len(s) >= _MIN_SECRET_LENGTH}, key=len, reverse=True))


def _keep_prefix(match: re.Match[str]) -> str:
    if match.group(0).endswith(REDACTED):
        return match.group(0)
    return f"{match.group(1)}{REDACTED}"


def redactor_for(platform: str, secrets: Iterable[str] = ()) -> Redactor:
    return Redactor(patterns=driver_for(platform).secret_patterns, secrets=secrets)


def normalise(text: str, driver: PlatformDriver) -> list[str]:
    """The config lines that matter: platform noise, blank lines and trailing blanks removed, and
    top-level lines printed one space in read as top-level (`indented_block_separator`)."""
    lines = []
    separator = re.compile(driver.indented_block_separator) if driver.indented_block_separator else None
    block_start, outdent = True, False
    for raw in text.replace("\r", "").splitlines():
        line = raw.rstrip()
        if separator is not None:
            if separator.fullmatch(line):
                block_start, outdent = True, False
                continue
            if block_start and line.strip():
                block_start, outdent = False, line.startswith(" ") and not line.startswith("  ")
            if outdent and line.startswith(" "):
                line = line[1:]
        if not line.strip() or driver.is_ignored(line):
            continue
        lines.append(driver.canonical(line) if driver.equivalent_lines else line)
    return lines


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _with_paths(lines: Iterable[str]) -> Iterable[tuple[str, tuple[str, ...]]]:
    """Each line with its path: the texts of the lines it sits under (by indentation), then its own."""
    stack: list[tuple[int, str]] = []
    for line in lines:
        depth = _indent(line)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        stack.append((depth, line.strip()))
        yield line, tuple(text for _, text in stack)


def secret_paths(intended: str, platform: str) -> list[tuple[str, ...]]:
    """The paths of the intended config's secret lines (and lines the device never shows): what
    the secret ledger records once an appliance holds the intended config."""
    driver = driver_for(platform)
    if not driver.hides_secrets:
        return []
    return [
        path
        for line, path in _with_paths(normalise(intended, driver))
        if driver.secret_shape(line) != line or (len(path) == 1 and driver.is_unshown(line))
    ]


def _without_factory_objects(running_lines: list[str], intended_lines: list[str], driver: PlatformDriver) -> list[str]:
    """The running lines without the device's own objects (`PlatformDriver.factory_objects`)
    that the intended config does not name, each with the lines under it."""
    if not driver.factory_objects:
        return running_lines
    objects = [tuple(re.compile(level) for level in path) for path in driver.factory_objects]
    intended_paths = {path for _, path in _with_paths(intended_lines)}
    kept: list[str] = []
    skipping: int | None = None  # the indentation of the object being left out
    for line, path in _with_paths(running_lines):
        if skipping is not None and _indent(line) > skipping:
            continue
        skipping = None
        if path not in intended_paths and any(
            len(levels) == len(path) and all(level.fullmatch(text) for level, text in zip(levels, path, strict=True))
            for levels in objects
        ):
            skipping = _indent(line)
            continue
        kept.append(line)
    return kept


def _compared_lines(running: str, intended: str, driver: PlatformDriver) -> tuple[list[str], list[str]]:
    """The running and intended lines a diff compares: both normalised, and the running config
    without the device's own objects the intended config does not name."""
    wanted = normalise(intended, driver)
    return _without_factory_objects(normalise(running, driver), wanted, driver), wanted


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
    for line, path in _with_paths(intended_lines):
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
    for line, path in _with_paths(running_lines):
        shape = driver.secret_shape(line)
        if shape == line:
            running_read.append(line)
        elif len(path) == 1 and shape in unshown:
            continue
        elif (found := secret_lines.get((*path[:-1], shape))) is None:
            running_read.append(line)
        elif found[1] or found[0] == line.strip():
            # held, or shown as sent: the intended line (indented as the running one)
            running_read.append(line[: _indent(line)] + found[0])
    intended_read = [line for line in intended_lines if _indent(line) or driver.secret_shape(line) not in unshown]
    return running_read, intended_read


def parse(text: str, platform: str) -> HConfig:
    driver = driver_for(platform)
    return get_hconfig(hier_driver(platform), "\n".join(normalise(text, driver)))


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
    intended_lines = _slotted_filters(running_lines, intended_lines, driver.swapped_filters)
    if running_lines == intended_lines:
        # The appliance shows exactly the intended lines: nothing to send, and no need to parse
        # (parsing is most of a diff's cost, and most appliances of a push are in sync).
        return ConfigDiff(platform=platform, running=tuple(running_lines), intended=tuple(intended_lines), remediation=())
    hconfig_driver = hier_driver(platform)
    running_config = get_hconfig(hconfig_driver, "\n".join(running_lines))
    intended_config = get_hconfig(hconfig_driver, "\n".join(intended_lines))
    _keep_undeletable_sections(running_config, intended_config, driver)
    workflow = WorkflowRemediation(running_config, intended_config)
    recreating = _recreated(running_lines, intended_lines, driver) is not None
    if recreating:
        # Entries the device cannot change in place: deleted first, configured anew after.
        remediation = _delta_lines(running_lines, intended_lines, driver, platform)
    else:
        remediation = send_ordered(workflow.remediation_config, running_config, intended_config, driver)
        remediation += _entry_moves(running_config, intended_config, driver)
    if not remediation:
        # Nothing to change means nothing to undo; most appliances of a push are in sync.
        rollback: tuple[str, ...] = ()
    else:
        # The way back restores the secrets the appliance showed, in their stored form (which it
        # takes as input): read the other way round, with nothing held.
        intended_back, running_back = _held_as_intended(wanted, shown, driver, None)
        intended_back = _slotted_filters(running_back, intended_back, driver.swapped_filters)
        if recreating:
            rollback = _delta_lines(intended_back, running_back, driver, platform)
        elif (intended_back, running_back) == (intended_lines, running_lines):
            rollback = send_ordered(workflow.rollback_config, intended_config, running_config, driver)
        else:
            back_from = get_hconfig(hconfig_driver, "\n".join(intended_back))
            back_to = get_hconfig(hconfig_driver, "\n".join(running_back))
            _keep_undeletable_sections(back_to, back_from, driver)
            back = back_from.config_to_get_to(back_to).set_order_weight()
            rollback = send_ordered(back, back_from, back_to, driver)
        rollback += _entry_moves(intended_config, running_config, driver)
    refresh, policy_wait_s = _policy_change(running_lines, intended_lines, driver.policy_refresh) if remediation else ((), 0.0)
    return ConfigDiff(
        platform=platform,
        running=tuple(running_lines),
        intended=tuple(intended_lines),
        remediation=remediation,
        rollback=rollback,
        refresh=refresh,
        policy_wait_s=policy_wait_s,
        running_config=running_config,
        intended_config=intended_config,
    )


def _acl_blocks(lines: list[str], definition: re.Pattern[str]) -> dict[str, tuple[int, list[str]]]:
    """Each filter `lines` define: name → (number, its entry lines, stripped)."""
    blocks: dict[str, tuple[int, list[str]]] = {}
    current: list[str] | None = None
    for line in lines:
        if not line[:1].isspace():
            found = definition.match(line)
            current = None
            if found is not None:
                current = []
                blocks[found.group(1)] = (int(found.group(2)), current)
        elif current is not None:
            current.append(line.strip())
    return blocks


def _unsafe_in_place(held: list[str], wanted: list[str], entry: re.Pattern[str]) -> bool:
    """Whether changing a filter's entries from `held` to `wanted` in place has no safe order.
    Entries only deleted (from the highest number down) or only added (from the lowest up) leave
    every packet, at every line, with the verdict of the old or of the new filter: its first
    match is either an entry both hold, then the same in the one being approached, or one of the
    entries not yet deleted (resp. already added), above which all of that side's entries are
    held. Both at once (a renumbering, an entry changed in place) pass through the entries both
    sides hold alone."""

    def by_number(lines: list[str]) -> dict[int, str]:
        return {int(found.group(1)): line for line in lines if (found := entry.match(line)) is not None}

    old, new = by_number(held), by_number(wanted)
    deleted = any(new.get(number) != line for number, line in old.items())
    added = any(old.get(number) != line for number, line in new.items())
    return deleted and added


def _slotted_filters(running: list[str], intended: list[str], kind: SwappedFilters | None) -> list[str]:
    """`intended` with each bound filter under the name the device is to hold it by
    (`SwappedFilters`): a filter held under either name keeps that one where its entries are the
    intended ones or change safely in place (`_unsafe_in_place`); else it is built under the
    other (the intended name, or it with the suffix and the highest number of the range neither
    side uses). The diff then adds the new filter whole, binds it in place of the old one and
    deletes the old one last (`_rebound_in_place`); the way back does the same. A filter held
    under its name at another number than the intended one (numbered by its place in a list, as
    a hub's FROM-STORE-<id> filters are: a store decommissioned moves every later one) stays at
    the held number: defined again under the new one, it was deleted while bound ("the services
    may be interrupted", AR command reference "acl name"). A filter not held that way whose
    intended number another keeps takes a free one; a number an ACL named by number takes (one
    not bound by name) is never kept for another."""
    if kind is None:
        return intended
    definition, binding, entry = re.compile(kind.definition), re.compile(kind.binding), re.compile(kind.entry)
    bound = {found.group(1) for line in intended if line[:1].isspace() and (found := binding.match(line.strip()))}
    if not bound:
        return intended
    held, wanted = _acl_blocks(running, definition), _acl_blocks(intended, definition)
    used = {number for number, _ in held.values()} | {number for number, _ in wanted.values()}
    free = (n for n in range(kind.numbers[1], kind.numbers[0] - 1, -1) if n not in used)
    fixed = {number for name, (number, _) in wanted.items() if name not in bound}
    slots: dict[str, tuple[str, int]] = {}
    for name in sorted(bound & wanted.keys()):
        number, rules = wanted[name]
        other = name + kind.suffix
        holder = name if name in held else other if other in held else None
        if holder is None or len(other) > kind.longest_name or other in wanted:
            continue
        held_number, held_rules = held[holder]
        if holder == other or (held_number != number and held_number not in fixed):
            # held under another number (the filters numbered before it changed): kept there
            slots[name] = (holder, held_number)
        if not _unsafe_in_place(held_rules, rules, entry):
            continue
        if holder == other:
            slots.pop(name)
        elif (free_number := next(free, None)) is not None:
            slots[name] = (other, free_number)
    # A filter kept at its held number never shares it: one the device does not hold under that
    # number and whose intended number is kept by another takes a free number.
    kept = {slot[1] for name, slot in slots.items() if slot[1] != wanted[name][0]}
    for name, (number, _) in sorted(wanted.items()):
        if name in bound and name not in slots and number in kept and (free_number := next(free, None)) is not None:
            slots[name] = (name, free_number)
    if not slots:
        return intended
    lines: list[str] = []
    for line in intended:
        if not line[:1].isspace():
            found = definition.match(line)
            if found is not None and found.group(1) in slots:
                line = line[: found.start(1)] + "{} {}".format(*slots[found.group(1)]) + line[found.end(2) :]
        elif (found := binding.match(text := line.strip())) is not None and found.group(1) in slots:
            line = line[: _indent(line)] + text[: found.start(1)] + slots[found.group(1)][0] + text[found.end(1) :]
        lines.append(line)
    return lines


def _rebound_in_place(lines: tuple[str, ...], kind: SwappedFilters, negation: str) -> tuple[str, ...]:
    """`lines` (a remediation as sent) with each filter bound anew in place, never unbound first:
    an interface block that binds a filter drops its deletion of the binding it replaces in that
    direction; a filter the lines bind is defined first; and the deletion of a filter, in the
    documented form (`deleted_as`), goes last, once nothing sent names it (never where the same lines define a filter of its name or
    number). hier_config deletes first: the old filter, then the binding, then binds the new one,
    so the interface was for a moment without a filter, or bound to a deleted one."""
    definition, binding = re.compile(kind.definition), re.compile(kind.binding)
    blocks: list[list[str]] = []
    for line in lines:
        if not line[:1].isspace() or not blocks:
            blocks.append([])
        blocks[-1].append(line)
    defined = [found for block in blocks if (found := definition.match(block[0])) is not None]
    names, numbers = {found.group(1) for found in defined}, {found.group(2) for found in defined}
    deleted = [
        found
        for block in blocks
        if block[0].startswith(negation) and (found := definition.match(block[0].removeprefix(negation)))
    ]
    bound = {found.group(1) for line in lines if (found := binding.match(line.strip())) is not None}
    # A filter these lines bind goes first, before any block that binds it (the rest of the
    # lines may follow the order of a config that prints interfaces before ACLs).
    first = [
        block
        for block in blocks
        if (found := definition.match(block[0])) is not None
        and found.group(1) in bound
        and not any(found.group(1) == gone.group(1) or found.group(2) == gone.group(2) for gone in deleted)
    ]
    kept: list[str] = [line for block in first for line in block]
    deletions: list[str] = []
    # The slots each interface binds anew, over every block of it (a send order may split one).
    slots: dict[str, set[str]] = {}
    for block in blocks:
        for line in block[1:]:
            if (found := binding.match(text := line.strip())) is not None:
                slots.setdefault(block[0], set()).add(text[: found.start(1)])
    for block in blocks:
        if any(block is moved for moved in first):
            continue
        header = block[0]
        found = definition.match(header.removeprefix(negation)) if header.startswith(negation) else None
        if found is not None and len(block) == 1 and found.group(1) not in names and found.group(2) not in numbers:
            deletions.append(negation + kind.deleted_as.format(name=found.group(1)))
            continue
        for line in block:
            text = line.strip()
            if line[:1].isspace() and text.startswith(negation):
                found = binding.match(text.removeprefix(negation))
                if found is not None and text.removeprefix(negation)[: found.start(1)] in slots.get(header, ()):
                    continue
            kept.append(line)
    return (*kept, *deletions)


def _prefix_lists_kept(
    lines: tuple[str, ...], before: HConfig, after: HConfig, kind: PrefixLists, negation: str
) -> tuple[str, ...]:
    """`lines` (a remediation as sent) with each changed route filter list's lines replaced by
    a sequence that never leaves an intended list empty (`PrefixLists`): sent where the list's
    first line was, or last where the list is no longer intended at all."""
    entry = re.compile(kind.entry)

    def entries(texts: Iterable[str]) -> dict[str, dict[int, re.Match[str]]]:
        found_by_list: dict[str, dict[int, re.Match[str]]] = {}
        for text in texts:
            if (found := entry.match(text)) is not None:
                found_by_list.setdefault(found.group(1), {})[int(found.group(2))] = found
        return found_by_list

    held = entries(child.text for child in before.children)
    wanted = entries(child.text for child in after.children)

    def deletion(name: str, number: int) -> str:
        return negation + kind.deleted_as.format(name=name, number=number)

    def sequence(name: str) -> list[str]:
        old = {number: found.string for number, found in held.get(name, {}).items()}
        new = wanted.get(name, {})
        current = set(old)
        out: list[str] = []
        for number in sorted(set(new) - current):
            out.append(new[number].string)
            current.add(number)
        for number in sorted(set(new) & set(old)):
            line = new[number].string
            if line == old[number]:
                continue
            if current == {number}:
                # The list's last entry: an entry that matches no route more than the list did
                # holds the list, at a spare number after it, meanwhile.
                spare = number + 1
                while spare in current or spare in new or spare in old:
                    spare += 1
                held_by = kind.placeholder.format(name=name, number=spare)
                out += [held_by, deletion(name, number), line, deletion(name, spare)]
            else:
                out += [deletion(name, number), line]
        out += [deletion(name, number) for number in sorted(set(old) - set(new), reverse=True)]
        return out

    kept: list[str] = []
    last: list[str] = []
    sent: set[str] = set()
    for line in lines:
        text = line.removeprefix(negation) if not line[:1].isspace() else ""
        found = entry.match(text)
        if found is None:
            kept.append(line)
            continue
        name = found.group(1)
        if name in sent:
            continue
        sent.add(name)
        (kept if name in wanted else last).extend(sequence(name))
    return (*kept, *last)


def policy_change(running: str, intended: str, platform: str) -> tuple[tuple[str, ...], float]:
    """What the BGP policy `intended` changes from `running` (a rollback's too) takes to apply:
    the exec commands that make it apply to the routes the sessions hold already
    (`PlatformDriver.policy_refresh`), and the seconds the appliance takes to apply it itself
    (`PolicyRefresh.applied_after_s`, 0 where no session's changed)."""
    driver = driver_for(platform)
    if driver.policy_refresh is None:
        return (), 0.0
    return _policy_change(normalise(running, driver), normalise(intended, driver), driver.policy_refresh)


@dataclass
class _Policies:
    """What a config says of its BGP policy (`PolicyRefresh`): each object's lines and the words
    in them, the sessions, each session's or peer group's bound objects, each group's members."""

    lines: dict[str, list[str]] = field(default_factory=dict)
    words: dict[str, set[str]] = field(default_factory=dict)
    sessions: list[str] = field(default_factory=list)
    bound: dict[str, set[str]] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)


def _policies(lines: list[str], refresh: PolicyRefresh) -> _Policies:
    objects = [re.compile(pattern) for pattern in refresh.objects]
    bindings = [re.compile(pattern) for pattern in refresh.bindings]
    session = re.compile(refresh.sessions)
    member = re.compile(refresh.members) if refresh.members else None
    found = _Policies()
    for _, path in _with_paths(lines):
        text = " / ".join(path)
        for pattern in objects:
            if match := pattern.search(text):
                name = match.group("name")
                found.lines.setdefault(name, []).append(text)
                found.words.setdefault(name, set()).update(word.strip('"') for word in path[-1].split())
        if (match := session.search(text)) and match.group("neighbor") not in found.sessions:
            found.sessions.append(match.group("neighbor"))
        for pattern in bindings:
            if match := pattern.search(text):
                found.bound.setdefault(match.group("neighbor"), set()).add(match.group("policy"))
        if member is not None and (match := member.search(text)):
            found.members.setdefault(match.group("group"), []).append(match.group("neighbor"))
    return found


def _policy_change(
    running: list[str], intended: list[str], refresh: PolicyRefresh | None
) -> tuple[tuple[str, ...], float]:
    """`policy_change` of normalised lines, each config read once. The commands: for each
    session both configs hold whose bindings changed, or which is bound (itself or through its
    peer group) to an object that changed or names one that did, the platform's commands, in the
    intended config's order of sessions. The wait: the platform's delay where any such session
    is, or a new session is bound to an object the running config holds that changed (or names
    one that did). A new session bound only to objects the change adds or leaves alone waits
    for nothing: it starts with the new policy (FRR binds a route-map that exists at once, and
    the push defines the objects it adds before what binds them); a deleted one takes its
    routes with it."""
    if refresh is None or not (refresh.commands or refresh.applied_after_s):
        return (), 0.0
    before, after = _policies(running, refresh), _policies(intended, refresh)
    if refresh.whole:
        changed = before.lines != after.lines or before.bound != after.bound
        return (refresh.commands if changed else ()), 0.0
    stale = _stale(before, after)
    held = set(before.sessions)
    refreshed = [neighbor for neighbor in after.sessions if neighbor in stale and neighbor in held]
    commands = tuple(command.format(neighbor=neighbor) for neighbor in refreshed for command in refresh.commands)
    return commands, (refresh.applied_after_s if refreshed or _new_bound_to_edited(before, after) else 0.0)


def _new_bound_to_edited(before: _Policies, after: _Policies) -> bool:
    """Whether a session only `after` holds is bound (itself or through its peer group) to an
    object `before` holds that changed, or names one that did: edited in place, not defined
    before the session binds it."""
    edited = _naming(
        before, after, {name for name, lines in before.lines.items() if after.lines.get(name, lines) != lines}
    )
    held = set(before.sessions)
    return any(
        after.bound.get(holder, set()) & edited
        for neighbor in after.sessions
        if neighbor not in held
        for holder in (neighbor, *(group for group, members in after.members.items() if neighbor in members))
    )


def _naming(before: _Policies, after: _Policies, changed: set[str]) -> set[str]:
    """`changed` with every object that names one of them, in either config (a route-map whose
    prefix list changed changed too)."""
    changed = set(changed)
    growing = True
    while growing:
        named = {
            name
            for side in (before, after)
            for name, words in side.words.items()
            if name not in changed and words & changed
        }
        changed |= named
        growing = bool(named)
    return changed


def _stale(before: _Policies, after: _Policies) -> set[str]:
    """The sessions and peer groups (with their members) whose bindings changed, or which are
    bound to an object that changed or names one that did."""
    changed = _naming(
        before, after, {name for name in {*before.lines, *after.lines} if before.lines.get(name) != after.lines.get(name)}
    )
    stale: set[str] = set()
    for holder in {*before.bound, *after.bound}:
        old, new = before.bound.get(holder, set()), after.bound.get(holder, set())
        if old != new or (old | new) & changed:
            stale.update({holder, *before.members.get(holder, []), *after.members.get(holder, [])})
    return stale


def remediation_lines(
    running: str, intended: str, platform: str, *, held: HeldSecrets | None = None
) -> tuple[str, ...]:
    """Only the remediation (cheaper than compute_diff: no rollback is built); `held` as there."""
    driver = driver_for(platform)
    running_lines, intended_lines = _held_as_intended(*_compared_lines(running, intended, driver), driver, held)
    intended_lines = _slotted_filters(running_lines, intended_lines, driver.swapped_filters)
    if running_lines == intended_lines:
        return ()
    return _delta_lines(running_lines, intended_lines, driver, platform)


def _delta_lines(before: list[str], after: list[str], driver: PlatformDriver, platform: str) -> tuple[str, ...]:
    """What turns `before` into `after` (normalised lines), in the order the platform takes it:
    where an entry must be configured anew (`_recreated`), by way of `before` without it."""
    cleared = _recreated(before, after, driver)
    if cleared is not None:
        return _delta_lines(before, cleared, driver, platform) + _delta_lines(cleared, after, driver, platform)
    hconfig_driver = hier_driver(platform)
    running_config = get_hconfig(hconfig_driver, "\n".join(before))
    intended_config = get_hconfig(hconfig_driver, "\n".join(after))
    _keep_undeletable_sections(running_config, intended_config, driver)
    remediation = running_config.config_to_get_to(intended_config).set_order_weight()
    return send_ordered(remediation, running_config, intended_config, driver) + _entry_moves(
        running_config, intended_config, driver
    )


# A value of a `set <key> <values>` line: a quoted string whole, or a word.
_SETTING_VALUE = re.compile(r'"[^"]*"|\S+')


def _setting_values(text: str) -> list[str]:
    """The values of a `set <key> <values>` line; none for any other line."""
    parts = text.split(" ", 2)
    if len(parts) < 3 or parts[0] != "set":
        return []
    return _SETTING_VALUE.findall(parts[2])


def _entry_settings(
    lines: list[str], kind: RecreatedEntries, entry_word: str
) -> dict[str, tuple[str, ...]]:
    """Each entry of `kind.section` in `lines` (by its name), with its lines matching `kind.setting`."""
    setting = re.compile(kind.setting)
    found: dict[str, list[str]] = {}
    for _line, path in _with_paths(lines):
        if len(path) >= 2 and path[0] == kind.section and path[1].startswith(entry_word):
            texts = found.setdefault(path[1][len(entry_word) :], [])
            if len(path) == 3 and setting.search(path[2]):
                texts.append(path[2])
    return {name: tuple(sorted(texts)) for name, texts in found.items()}


def _recreated(before: list[str], after: list[str], driver: PlatformDriver) -> list[str] | None:
    """`before` (normalised lines) without the entries the device must delete and configure anew
    to hold `after` (`PlatformDriver.recreated_entries`: a setting it takes only once differs),
    and without what names them (`_without_names`); None where no entry needs it."""
    if not driver.recreated_entries or driver.entry_word is None:
        return None
    entry_word = driver.entry_word + " "
    names: set[str] = set()
    for kind in driver.recreated_entries:
        held, wanted = _entry_settings(before, kind, entry_word), _entry_settings(after, kind, entry_word)
        names |= {name for name in held.keys() & wanted.keys() if held[name] != wanted[name]}
    return _without_names(before, names, entry_word) if names else None


def _without_names(lines: list[str], names: set[str], entry_word: str) -> list[str]:
    """`lines` without the entries called by one of `names` (in any table: FortiOS names a
    tunnel interface as its phase 1), each setting that lists one of them without it, and an
    entry whose setting named nothing else left out whole (a phase 2 of the phase 1, a zone of
    that tunnel alone), so that what names that entry by a quoted name goes in turn."""
    names = set(names)
    while True:
        doomed: set[tuple[str, ...]] = set()
        grown = False
        for _line, path in _with_paths(lines):
            text = path[-1]
            if text.startswith(entry_word) and text[len(entry_word) :] in names:
                doomed.add(path)
                continue
            values = _setting_values(text)
            if not values or not all(value in names for value in values):
                continue
            entry = next((path[: i + 1] for i in range(len(path) - 2, -1, -1) if path[i].startswith(entry_word)), None)
            if entry is None:
                continue
            doomed.add(entry)
            name = entry[-1][len(entry_word) :]
            if name.startswith('"') and name not in names:
                names.add(name)
                grown = True
        if not grown:
            break
    kept: list[str] = []
    for line, path in _with_paths(lines):
        if any(path[: len(entry)] == entry for entry in doomed):
            continue
        values = _setting_values(path[-1])
        if any(value in names for value in values):
            key = path[-1].split(" ", 2)[:2]
            line = " " * _indent(line) + " ".join([*key, *(value for value in values if value not in names)])
        kept.append(line)
    return kept


def _entry_moves(before: HConfig, after: HConfig, driver: PlatformDriver) -> tuple[str, ...]:
    """What puts the entries of each of the platform's ordered tables (`ordered_tables`) in
    `after`'s order once the rest of the remediation has run, sent last (every entry then
    exists, and the deleted ones are gone): nothing where the device will hold them so already.

    The device keeps the entries `before` holds where they are and puts a new one last (FortiOS
    appends a new policy to the end of its list), so the order it will hold is `before`'s, less
    the deleted entries, then the new ones in `after`'s order. Walking `after`'s order, each
    entry found out of place is moved after the one `after` puts before it (the first one
    before the entry that leads). Should the device have put a new entry elsewhere, the next
    diff finds the table out of order and moves it."""
    if not driver.ordered_tables or driver.move_command is None or driver.entry_word is None:
        return ()
    prefix = driver.entry_word + " "
    lines: list[str] = []
    for path in driver.ordered_tables:
        wanted = _table_entries(after, path, prefix)
        held = _table_entries(before, path, prefix)
        kept, existing = set(wanted), set(held)
        order = [name for name in held if name in kept] + [name for name in wanted if name not in existing]
        moves: list[str] = []
        for k, name in enumerate(wanted):
            if order[k] == name:
                continue
            where, anchor = ("before", order[0]) if k == 0 else ("after", wanted[k - 1])
            moves.append(driver.move_command.format(entry=name, where=where, anchor=anchor))
            order.remove(name)
            order.insert(k, name)
        if not moves:
            continue
        # Indented as hier_config writes remediation: two spaces a level, `end` one level in.
        lines += [f"{'  ' * level}{line}" for level, line in enumerate(path)]
        lines += [f"{'  ' * len(path)}{move}" for move in moves]
        lines += [f"{'  ' * level}end" for level in range(len(path), 0, -1)]
    return tuple(lines)


def _table_entries(config: HConfig, path: tuple[str, ...], prefix: str) -> list[str]:
    """The names of the entries of the table at `path`, in the order `config` holds them."""
    node: HConfig | HConfigChild | None = config
    for line in path:
        node = node.get_child(equals=line) if node is not None else None
    if node is None:
        return []
    return [child.text.removeprefix(prefix) for child in node.children if child.text.startswith(prefix)]


def send_ordered(delta: HConfig, before: HConfig, after: HConfig, driver: PlatformDriver) -> tuple[str, ...]:
    """The lines of `delta` (what turns `before` into `after`) in the order the platform must
    receive them (`_in_send_order`), each deletion in the form the device documents for it
    where that is not the line negated whole (`PlatformDriver.deleted_forms`)."""
    lines = _in_send_order(delta, before, after, driver)
    if not driver.deleted_forms:
        return lines
    return _in_deleted_forms(lines, driver.deleted_forms, delta.driver.negation_prefix)


def _in_deleted_forms(lines: tuple[str, ...], forms: tuple[DeletedForm, ...], negation: str) -> tuple[str, ...]:
    """`lines` with each deletion of a line one of `forms` matches (read without its negation,
    at any depth) sent as the form's `deleted_as`, at the same indentation."""
    patterns = [(re.compile(form.line), form.deleted_as) for form in forms]
    sent: list[str] = []
    for line in lines:
        text = line.strip()
        if text.startswith(negation):
            for pattern, deleted_as in patterns:
                if (found := pattern.match(text.removeprefix(negation))) is not None:
                    line = line[: _indent(line)] + negation + found.expand(deleted_as)
                    break
        sent.append(line)
    return tuple(sent)


def _in_send_order(delta: HConfig, before: HConfig, after: HConfig, driver: PlatformDriver) -> tuple[str, ...]:
    """The lines of `delta` (what turns `before` into `after`) in the order the platform must
    receive them (`PlatformDriver.send_order`): the staged sections stage by stage (a section's
    entries may be split over stages), then the sections no stage names as they are (what may
    refer to anything), then the staged sections' entry deletions in reverse stage order, when
    nothing sent any more refers to what they delete. A platform without a send order whose
    lines name objects by number (`PlatformDriver.named_objects`) gets hier_config's order with
    those objects' definitions and deletions moved around the lines that name them
    (`_around_named_objects`)."""
    if driver.stopped_while_changed:
        delta = _stopped_while_changed(delta, before, after, driver.stopped_while_changed)
    if driver.wiped_by:
        delta = _wiped_sent_again(delta, before, after, driver.wiped_by)
    if driver.numbered_entries:
        delta = _renumbered_from_the_ends(delta, driver.numbered_entries, before, after)
    if driver.deleted_with and driver.deletion_word is not None and driver.entry_word is not None:
        delta = _without_deletions_of_the_owned(
            delta, before, after, driver.deleted_with, driver.deletion_word + " ", driver.entry_word + " "
        )
    if not driver.send_order or driver.deletion_word is None or driver.entry_word is None:
        if driver.named_objects:
            ordered = _around_named_objects(delta, before, after, driver.named_objects)
        else:
            ordered = tuple(delta.lines(sectional_exiting=True))
        if driver.prefix_lists is not None:
            ordered = _prefix_lists_kept(ordered, before, after, driver.prefix_lists, delta.driver.negation_prefix)
        if driver.swapped_filters is not None:
            return _rebound_in_place(ordered, driver.swapped_filters, delta.driver.negation_prefix)
        return ordered
    deletion = driver.deletion_word + " "
    entry_word = driver.entry_word + " "
    stages = driver.send_order
    staged = {stage.section for stage in stages}
    additions: dict[str, list[HConfigChild]] = {}
    removals: dict[str, list[HConfigChild]] = {}
    unstaged: list[HConfigChild] = []
    for section in delta.children:
        if section.text not in staged:
            unstaged.append(section)
            continue
        kept, dropped = _without_deletions(section, deletion), _only_deletions(section, deletion)
        additions[section.text] = list(kept.children) if kept is not None else []
        removals[section.text] = list(dropped.children) if dropped is not None else []

    candidates_of: dict[str, list[int]] = {}
    for i, stage in enumerate(stages):
        candidates_of.setdefault(stage.section, []).append(i)

    def stage_of(child: HConfigChild, section: str, config: HConfig) -> int:
        """The index of the stage `child` (a line of `section`) is sent in."""
        candidates = candidates_of[section]
        default = next((i for i in candidates if stages[i].entries is None), candidates[0])
        name = child.text.removeprefix(deletion)
        if child.text.startswith(deletion):
            name = entry_word + name
        elif not child.text.startswith(entry_word):
            return default
        block = config.get_child(equals=section)
        entry = block.get_child(equals=name) if block is not None else None
        lines = [line.text for line in entry.all_children()] if entry is not None else []
        lines += [line.text for line in child.all_children()]
        for i in candidates:
            pattern = stages[i].entries
            if pattern is not None and any(re.search(pattern, line) for line in lines):
                return i
        return default

    def emit(parts: dict[str, list[HConfigChild]], order: Iterable[int], config: HConfig) -> list[str]:
        chosen_by_stage: dict[int, list[HConfigChild]] = {}
        for section, children in parts.items():
            for child in children:
                chosen_by_stage.setdefault(stage_of(child, section, config), []).append(child)
        lines: list[str] = []
        for i in order:
            chosen = chosen_by_stage.get(i)
            if not chosen:
                continue
            root = get_hconfig(delta.driver)
            block = root.add_child(stages[i].section)
            for child in chosen:
                block.add_deep_copy_of(child)
            lines += root.lines(sectional_exiting=True)
        return lines

    lines = emit(additions, range(len(stages)), after)
    for section in unstaged:
        root = get_hconfig(delta.driver)
        root.add_deep_copy_of(section)
        lines += root.lines(sectional_exiting=True)
    lines += emit(removals, reversed(range(len(stages))), before)
    return tuple(lines)


def _stopped_while_changed(
    delta: HConfig, before: HConfig, after: HConfig, kinds: tuple[StoppedWhileChanged, ...]
) -> HConfig:
    """`delta` with each block of `kinds` that it changes (both `before` and `after` hold it)
    stopped before its changes and started again after them: the kind's stop line first, then
    the changes, then the line of `after`'s block that starts it (left out where the changes
    send or delete that line themselves, or `after`'s block has none). Other blocks as they are."""
    matching = [(re.compile(kind.block), kind) for kind in kinds]
    negation = delta.driver.negation_prefix
    if not any(pattern.search(node.text) for node in delta.children for pattern, _ in matching):
        return delta
    stopped = get_hconfig(delta.driver)
    for node in delta.children:
        kind = next((kind for pattern, kind in matching if pattern.search(node.text)), None)
        old, new = before.get_child(equals=node.text), after.get_child(equals=node.text)
        if kind is None or old is None or new is None or not node.children:
            stopped.add_deep_copy_of(node)
            continue
        block = stopped.add_child(node.text)
        block.add_child(kind.stop)
        for child in node.children:
            block.add_deep_copy_of(child)
        start = re.compile(kind.start)
        sent = {child.text.removeprefix(negation) for child in node.children}
        for child in new.children:
            if start.search(child.text) and child.text not in sent:
                block.add_deep_copy_of(child)
    return stopped


def _renumbered_from_the_ends(
    delta: HConfig, kinds: tuple[NumberedEntries, ...], before: HConfig, after: HConfig
) -> HConfig:
    """`delta` with the entry deletions of each numbered block (a block whose header matches a
    kind's `section`: `PlatformDriver.numbered_entries`) first, from the highest number down,
    each in the kind's `deleted_as` form where it has one (VRP: `undo rule 20`), then the rest of
    the block as it was (hier_config adds entries in the intended order, the lowest number
    first).

    The device applies each line as it comes. An entry put into the middle of a first-match
    block moves every later entry to a new number: they are deleted and added again. Deleted
    from the top, the block held its later permits without the denies above them for as long as
    the deletions ran (an office `permit ... any` without the `deny ... 10.0.0.0/8` before it).
    From the bottom, the block is always the start of the old one, which passes nothing the old
    block denies; the additions from the top then build the start of the new one. A kept entry
    below a deleted one (an entry changed in place) is exposed only for the line between its
    deletion and its replacement.

    A block whose change keeps its common entries in their order, on a platform that renumbers
    in place (`NumberedEntries.resequence`), moves no entry: `_resequenced`."""
    negation = delta.driver.negation_prefix
    patterns = [(re.compile(kind.section), re.compile(kind.entry), kind) for kind in kinds]

    def kind_of(section: HConfigChild) -> tuple[re.Pattern[str], NumberedEntries] | None:
        return next(((entry, kind) for header, entry, kind in patterns if header.match(section.text)), None)

    def deleted_number(child: HConfigChild, entry: re.Pattern[str]) -> int | None:
        if not child.text.startswith(negation):
            return None
        found = entry.match(child.text.removeprefix(negation))
        return int(found.group(1)) if found is not None else None

    def numbered(section: HConfigChild) -> bool:
        found = kind_of(section)
        return found is not None and any(deleted_number(child, found[0]) is not None for child in section.children)

    if not any(numbered(section) for section in delta.children):
        return delta
    result = get_hconfig(delta.driver)
    for section in delta.children:
        found = kind_of(section)
        if found is None:
            result.add_deep_copy_of(section)
            continue
        entry, kind = found
        resequenced = _resequenced(section.text, kind, entry, before, after)
        if resequenced is not None:
            spread, lines, renumbering = resequenced
            for line in spread:
                result.add_child(line)
            block = result.add_child(section.text)
            for line in lines:
                block.add_child(line)
            result.add_child(renumbering)
            continue
        block = result.add_child(section.text)
        deletions = sorted(
            ((number, child) for child in section.children if (number := deleted_number(child, entry)) is not None),
            key=lambda pair: pair[0],
            reverse=True,
        )
        rest = [child for child in section.children if deleted_number(child, entry) is None]
        new_closing = _closing_swap(deletions, rest, entry, kind.closing, negation)
        if new_closing is not None:
            # The old closing entry stays until it is swapped for the new one: every other
            # deletion, the additions below the old one, the swap, then the additions above it.
            (closing_number, old_closing), *deletions = deletions
            below = [child for child in rest if (_entry_number(child, entry) or 0) < closing_number]
            rest = [
                *(child for child in below if child is not new_closing),
                old_closing,
                new_closing,
                *(child for child in rest if child not in below and child is not new_closing),
            ]
        for number, child in deletions:
            _add_deletion(block, child, number, kind, negation)
        for child in rest:
            number = deleted_number(child, entry)
            if number is not None:
                _add_deletion(block, child, number, kind, negation)
            else:
                block.add_deep_copy_of(child)
    return result


def _resequenced(
    header: str, kind: NumberedEntries, entry: re.Pattern[str], before: HConfig, after: HConfig
) -> tuple[list[str], list[str], str] | None:
    """The change of block `header` from `before` to `after` without moving an entry, where the
    kind allows it (`NumberedEntries.resequence`): the new entries at free numbers between the
    held entries they come between, from the lowest up, the deletions of the entries that go,
    from the highest down, then (last) the command that numbers the block 10, 20, ...: (the
    commands before the block, the block's lines, the command after it). Where the
    held numbers leave too few free ones between two kept entries, the block is first numbered
    apart (the same command, a wider step), which moves no entry either. None where it does not
    apply: entries both hold in another order, an entry held twice, intended numbers other than
    10, 20, ...

    Every moment holds every entry both sides hold, the new entries added so far (those that come
    first in the new block) and the old entries not yet deleted (those that came first in the
    old one), each side's in its own order. A packet's first match is then an entry of the old
    block with none of the old entries above it matching (so the old block's verdict), or a new
    entry with none of the new entries above it matching (the new block's verdict): the block
    passes what both pass (a hub's transit through its DC port's closing `permit ip any any`,
    the push's own SSH) and passes nothing both deny."""
    if kind.resequence is None:
        return None
    held_block, wanted_block = before.get_child(equals=header), after.get_child(equals=header)
    if held_block is None or wanted_block is None:
        return None

    def entries(block: HConfigChild) -> list[tuple[int, str]] | None:
        found = [(entry.match(child.text), child.text) for child in block.children]
        if any(match is None for match, _ in found):
            return None
        return [(int(match.group(1)), text[match.end() :]) for match, text in found if match is not None]

    held, wanted = entries(held_block), entries(wanted_block)
    if held is None or wanted is None or [number for number, _ in wanted] != [10 * (i + 1) for i in range(len(wanted))]:
        return None
    held_numbers = {text: number for number, text in held}
    wanted_texts = {text for _, text in wanted}
    if len(held_numbers) != len(held) or len(wanted_texts) != len(wanted):
        return None
    kept = [held_numbers[text] for _, text in wanted if text in held_numbers]
    if kept != sorted(kept):
        return None
    name = header.split()[-1]
    spread: list[str] = []
    additions = _between(held, wanted, kind.highest)
    if additions is None:
        # Numbered apart first: the held entries, in their order, a step wider than any run of
        # new entries that goes between two of them.
        step = 10 * (len(wanted) + 1)
        held = [(step * (index + 1), text) for index, (_, text) in enumerate(sorted(held))]
        if held and held[-1][0] > kind.highest:
            return None
        spread = [kind.resequence.format(name=name, start=step, step=step)]
        additions = _between(held, wanted, kind.highest)
        if additions is None:
            return None
    negation = before.driver.negation_prefix
    deletions = [f"{negation}{number} {text}" for number, text in sorted(held, reverse=True) if text not in wanted_texts]
    return spread, [*additions, *deletions], kind.resequence.format(name=name, start=10, step=10)


def _between(held: list[tuple[int, str]], wanted: list[tuple[int, str]], highest: int) -> list[str] | None:
    """The entries of `wanted` that `held` lacks, each numbered between the held entries (or the
    new ones before it) it comes after and the held entry it comes before, from the lowest up;
    None where a gap has too few free numbers (none above `highest`)."""
    held_numbers = {text: number for number, text in held}
    taken = {number for number, _ in held}
    additions: list[str] = []
    floor = 0
    for position, (_, text) in enumerate(wanted):
        if text in held_numbers:
            floor = held_numbers[text]
            continue
        ceiling = next((held_numbers[later] for _, later in wanted[position + 1 :] if later in held_numbers), None)
        number = next((n for n in range(floor + 1, floor + 10**6) if n not in taken), None)
        if number is None or number > highest or (ceiling is not None and number >= ceiling):
            return None
        taken.add(number)
        floor = number
        additions.append(f"{number} {text}")
    return additions


def _entry_number(child: HConfigChild, entry: re.Pattern[str]) -> int | None:
    found = entry.match(child.text)
    return int(found.group(1)) if found is not None else None


def _add_deletion(block: HConfigChild, child: HConfigChild, number: int, kind: NumberedEntries, negation: str) -> None:
    """The deletion of entry `number`, in the kind's `deleted_as` form where it has one."""
    if kind.deleted_as is None:
        block.add_deep_copy_of(child)
    else:
        block.add_child(negation + kind.deleted_as.format(number=number))


def _closing_swap(
    deletions: list[tuple[int, HConfigChild]],
    additions: list[HConfigChild],
    entry: re.Pattern[str],
    closing: str | None,
    negation: str,
) -> HConfigChild | None:
    """Where a block's highest-numbered deletion (`deletions`, highest first) and its
    highest-numbered addition both match `closing` (`NumberedEntries.closing`), the addition."""
    if closing is None or not deletions:
        return None
    pattern = re.compile(closing)
    numbered = [(number, child) for child in additions if (number := _entry_number(child, entry)) is not None]
    if not numbered or not pattern.match(deletions[0][1].text.removeprefix(negation)):
        return None
    new = max(numbered, key=lambda pair: pair[0])[1]
    return new if pattern.match(new.text) else None


def _wiped_sent_again(delta: HConfig, before: HConfig, after: HConfig, kinds: tuple[WipedBy, ...]) -> HConfig:
    """`delta` with, in each top-level block both `before` and `after` hold whose changes add or
    delete a line matching a kind's `trigger`, every line of `after`'s block matching its
    `wiped` sent again after those changes (unless they send it already). Other blocks as they
    are."""
    negation = delta.driver.negation_prefix

    def wiping(node: HConfigChild) -> list[WipedBy]:
        texts = [child.text.removeprefix(negation) for child in node.children]
        return [kind for kind in kinds if any(re.search(kind.trigger, text) for text in texts)]

    if not any(wiping(node) for node in delta.children):
        return delta
    resent = get_hconfig(delta.driver)
    for node in delta.children:
        block = resent.add_deep_copy_of(node)
        new = after.get_child(equals=node.text)
        if before.get_child(equals=node.text) is None or new is None:
            continue
        for kind in wiping(node):
            sent = {child.text for child in block.children}
            for child in new.children:
                if re.search(kind.wiped, child.text) and child.text not in sent:
                    block.add_deep_copy_of(child)
    return resent


_Name = tuple[int, str]  # (the index of a kind of `NamedObjects`, an object's name)


@dataclass
class _Piece:
    """One top-level block of a delta (or the deletions or the rest of one), with the objects
    its lines define, delete, name and stop naming."""

    node: HConfigChild
    defines: set[_Name] = field(default_factory=set)
    deletes: set[_Name] = field(default_factory=set)
    names: set[_Name] = field(default_factory=set)
    unnames: set[_Name] = field(default_factory=set)


def _around_named_objects(
    delta: HConfig, before: HConfig, after: HConfig, kinds: tuple[NamedObjects, ...]
) -> tuple[str, ...]:
    """hier_config's remediation order (every top-level deletion first, then what is added or
    changed, in the order of the config it leads to), with what `kinds` says about objects that
    other lines name:

    - a line that stops naming object N (deleted, or a changed block's deleted line) goes before
      the deletion of N: nothing still names N when it goes;
    - the definition of N goes before every line that starts naming it;
    - where N is deleted and defined again (its defining line changed: an IOS-XE track of
      another type; or its block changed and its kind is `replaced_whole`: an IOS-XE IP SLA
      operation, sent as its deletion and the whole block `after` holds), the deletion goes
      before the new definition. The lines that name N and do not change are not in the delta,
      so they stay as they are;
    - the lines that belong to N (`NamedObjects.parts`), which the device removes with N, are
      not deleted again after N (nor before: N's own deletion takes them); where N is defined
      again, every part `after` gives it follows the new definition, in `after`'s order, the
      unchanged ones too, which the delta lacks.

    The top-level blocks keep hier_config's order except where these rules move one later (a
    stable topological sort). A changed block that both stops naming an object the delta
    deletes and starts naming one it defines (a route-map whose next hops move while the track
    they follow changes type) is sent as two blocks, its deletions and the rest, so that each
    can go where it must. Where the delta defines and deletes no such object, the order is
    hier_config's."""
    negation = delta.driver.negation_prefix
    definitions = [re.compile(kind.defined_by) for kind in kinds]
    # A part names its object too: it is sent after the object's definition.
    namings = [(i, re.compile(pattern)) for i, kind in enumerate(kinds) for pattern in (*kind.named_by, *kind.parts)]
    owners = [(i, re.compile(pattern)) for i, kind in enumerate(kinds) for pattern in kind.parts]
    whole = [definitions[i] for i, kind in enumerate(kinds) if kind.replaced_whole]

    def defined(text: str) -> set[_Name]:
        """The objects a top-level line defines."""
        return {(i, match.group(1)) for i, pattern in enumerate(definitions) if (match := pattern.search(text))}

    def owned(text: str) -> set[_Name]:
        """The objects a top-level line (read without its negation) is a part of."""
        return {(i, match.group(1)) for i, pattern in owners if (match := pattern.search(text.removeprefix(negation)))}

    def named(*texts: str) -> set[_Name]:
        return {(i, match.group(1)) for text in texts for i, pattern in namings for match in pattern.finditer(text)}

    def named_in(node: HConfigChild) -> set[_Name]:
        """The objects `node` and the lines under it name, a top-level definition not itself."""
        found = named(node.text, *(child.text for child in node.all_children()))
        return found - defined(node.text) if node.parent is node.root else found

    def changes(node: HConfigChild, old: HConfigChild, piece: _Piece) -> None:
        """What the lines under `node` (a block `old` held already) stop and start naming."""
        for child in node.children:
            if child.text.startswith(negation):
                text = child.text.removeprefix(negation)
                gone = old.get_child(equals=text)
                piece.unnames |= named_in(gone) if gone is not None else named(text)
            elif (prior := old.get_child(equals=child.text)) is not None:
                changes(child, prior, piece)
            else:
                piece.names |= named_in(child)

    pieces: list[_Piece] = []
    for node in sorted(delta.children):
        piece = _Piece(node)
        old = before.get_child(equals=node.text)
        gone = before.get_child(equals=node.text.removeprefix(negation)) if node.text.startswith(negation) else None
        new = after.get_child(equals=node.text)
        if old is not None and new is not None and any(pattern.search(node.text) for pattern in whole):
            # A block hier_config found changed (the order of its lines is no change to it) whose
            # kind cannot change in place: its deletion, then the whole block `after` holds.
            deletion = get_hconfig(delta.driver).add_child(negation + node.text)
            pieces.append(_Piece(deletion, deletes=defined(node.text), unnames=named_in(old)))
            piece.defines, piece.names, piece.node = defined(new.text), named_in(new), new
        elif old is not None:
            changes(node, old, piece)
        elif gone is not None and not node.children:
            piece.deletes, piece.unnames = defined(gone.text), named_in(gone)
        else:
            piece.defines, piece.names = defined(node.text), named_in(node)
        pieces.append(piece)
    deleted: set[_Name] = set().union(*(piece.deletes for piece in pieces))
    added: set[_Name] = set().union(*(piece.defines for piece in pieces))
    if not deleted and not added:
        return tuple(delta.lines(sectional_exiting=True))

    redefined = deleted & added
    kept: list[_Piece] = []
    for piece in pieces:
        parts_of = owned(piece.node.text)
        if piece.node.text.startswith(negation) and parts_of & deleted:
            continue  # gone with its object
        if parts_of & redefined:
            continue  # sent again below, with the parts that do not change
        kept.append(piece)
        for name in sorted(piece.defines & redefined):
            kept += [_Piece(part, names={name}) for part in after.children if name in owned(part.text)]
    pieces = kept

    split: list[_Piece] = []
    for piece in pieces:
        if piece.unnames & deleted and piece.names & added:
            deletions = _only_deletions(piece.node, negation, reverse=False)
            rest = _without_deletions(piece.node, negation)
            if deletions is not None and rest is not None:
                split += [_Piece(deletions, unnames=piece.unnames), _Piece(rest, names=piece.names)]
                continue
        split.append(piece)
    pieces = split

    def holding(attribute: str) -> dict[_Name, list[int]]:
        index: dict[_Name, list[int]] = {}
        for i, piece in enumerate(pieces):
            for name in getattr(piece, attribute):
                index.setdefault(name, []).append(i)
        return index

    deleting, defining, naming, unnaming = holding("deletes"), holding("defines"), holding("names"), holding("unnames")
    # later[i]: the blocks that must go after block i.
    later: list[set[int]] = [set() for _ in pieces]
    for name, indices in deleting.items():
        for i in unnaming.get(name, []):
            later[i].update(indices)
        for i in indices:
            later[i].update(defining.get(name, []))
    for name, indices in defining.items():
        for i in indices:
            later[i].update(naming.get(name, []))
    waiting = [0] * len(pieces)
    for i, successors in enumerate(later):
        successors.discard(i)
        for j in successors:
            waiting[j] += 1
    ready = [i for i, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for j in later[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                heapq.heappush(ready, j)
    # Objects that name each other in a circle: the blocks left go in hier_config's order.
    sent = set(order)
    order += [i for i in range(len(pieces)) if i not in sent]

    # Each piece is a top-level block of its tree (the delta's, or a split block's own).
    return tuple(line for i in order for line in pieces[i].node.lines(sectional_exiting=True))


def _mirror_blocks(one: HConfigChild, other: HConfigChild) -> None:
    """Give `other` an empty copy of each `config` block of `one` it lacks, at any depth under
    the entries and blocks both hold."""
    for child in one.children:
        match = other.get_child(equals=child.text)
        if match is None and child.text.startswith("config "):
            match = other.add_child(child.text)
        if match is not None and child.children:
            _mirror_blocks(child, match)


def _without_deletions(node: HConfigChild, deletion: str) -> HConfigChild | None:
    """A copy of `node` without its deletion lines (None when it held nothing else)."""
    if node.text.startswith(deletion):
        return None
    copy = get_hconfig(node.driver).add_child(node.text)
    for child in node.children:
        kept = _without_deletions(child, deletion)
        if kept is not None:
            copy.add_deep_copy_of(kept)
    return copy if copy.children or not node.children else None


def _only_deletions(node: HConfigChild, deletion: str, *, reverse: bool = True) -> HConfigChild | None:
    """A copy of `node` with only its deletion lines and the sections that hold them, each
    level in reverse order (`reverse`) or in the order `node` holds them."""
    copy = get_hconfig(node.driver).add_child(node.text)
    if node.text.startswith(deletion):
        return copy
    # Within a block, what comes later may refer to what comes earlier: deleted last first.
    for child in reversed(node.children) if reverse else node.children:
        dropped = _only_deletions(child, deletion, reverse=reverse)
        if dropped is not None:
            copy.add_deep_copy_of(dropped)
    return copy if copy.children else None


def _keep_undeletable_sections(running: HConfig, intended: HConfig, driver: PlatformDriver) -> None:
    """A section the platform cannot delete (a physical interface) is emptied instead of negated.

    Adding the bare section header to the intended side makes hier_config negate the
    section's children one by one, which every platform accepts. A factory entry the intended
    config amends (`factory_entries`) is amended only where the device still has it, its kept
    settings read as intended.
    """
    for section in running.children:
        if not driver.keep_sections:
            break
        if section.text.startswith(driver.keep_sections) and intended.get_child(equals=section.text) is None:
            intended.add_child(section.text)
    if driver.send_order:
        # A section (or a block inside one) one side lacks holds entries to delete or create one
        # by one; negated whole, FortiOS would keep every entry of it.
        staged = {stage.section for stage in driver.send_order}
        for one, other in ((running, intended), (intended, running)):
            for section in one.children:
                if section.text in staged:
                    _mirror_blocks(section, other.get_child(equals=section.text) or other.add_child(section.text))
    for entry_pattern, kept_setting in driver.factory_entries:
        for intended_section in intended.children:
            running_section = running.get_child(equals=intended_section.text)
            for entry in list(intended_section.children):
                if not re.match(entry_pattern, entry.text):
                    continue
                shipped = running_section.get_child(equals=entry.text) if running_section is not None else None
                if shipped is None:
                    entry.delete()
                    continue
                for setting in shipped.children:
                    if re.match(kept_setting, setting.text) and entry.get_child(equals=setting.text) is None:
                        entry.add_deep_copy_of(setting)
    for section_text in driver.keep_entries:
        running_section = running.get_child(equals=section_text)
        intended_section = intended.get_child(equals=section_text)
        if running_section is None or intended_section is None:
            continue
        for entry in running_section.children:
            owned = driver.owned_entries is not None and re.match(driver.owned_entries, entry.text)
            gone = _gone_with_owner(section_text, entry.text, running, intended, driver.deleted_with)
            if not owned and not gone and intended_section.get_child(equals=entry.text) is None:
                intended_section.add_deep_copy_of(entry)


def _gone_with_owner(section: str, entry: str, before: HConfig, after: HConfig, kinds: tuple[DeletedWith, ...]) -> bool:
    """Whether the device deletes the entry `entry` (its `edit` line) of `section` itself on the
    way from `before` to `after`: the entry of that name of its owner's table (`DeletedWith`)
    goes."""
    for kind in kinds:
        if kind.section != section:
            continue
        held, kept = before.get_child(equals=kind.owner), after.get_child(equals=kind.owner)
        if held is None or held.get_child(equals=entry) is None:
            continue
        if kept is None or kept.get_child(equals=entry) is None:
            return True
    return False


def _without_deletions_of_the_owned(
    delta: HConfig, before: HConfig, after: HConfig, kinds: tuple[DeletedWith, ...], deletion: str, entry_word: str
) -> HConfig:
    """`delta` without the deletions of entries the device deletes itself with their owner
    (`DeletedWith`): sent, each would find its entry in use by the owner, or gone with it."""

    def implied(section: str, line: str) -> bool:
        name = line.removeprefix(deletion)
        return name != line and _gone_with_owner(section, entry_word + name, before, after, kinds)

    if not any(implied(node.text, child.text) for node in delta.children for child in node.children):
        return delta
    kept = get_hconfig(delta.driver)
    for node in delta.children:
        block = kept.add_deep_copy_of(node)
        for child in list(block.children):
            if implied(node.text, child.text):
                child.delete()
        if not block.children:
            block.delete()
    return kept
