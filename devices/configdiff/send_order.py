"""The order a platform must receive a delta in (`PlatformDriver.send_order`), each strategy's
reordering applied."""

from __future__ import annotations

import re
from collections.abc import Iterable

from hier_config import HConfig, get_hconfig
from hier_config.child import HConfigChild

from storestack.devices.configdiff.deleted_with import without_deletions_of_the_owned
from storestack.devices.configdiff.freed_addresses import addresses_freed_first
from storestack.devices.configdiff.freed_names import names_freed_first
from storestack.devices.configdiff.held_classifiers import classifiers_held
from storestack.devices.configdiff.lines import indent_width, only_deletions, without_deletions
from storestack.devices.configdiff.named_objects import around_named_objects
from storestack.devices.configdiff.numbered_entries import renumbered_from_the_ends
from storestack.devices.configdiff.prefix_lists import prefix_lists_kept
from storestack.devices.configdiff.removed_whole import remade_sent_whole, without_lines_of_removed
from storestack.devices.configdiff.slotted_filters import rebound_in_place
from storestack.devices.configdiff.stopped import stopped_while_changed
from storestack.devices.configdiff.undeletable import emptied_rule
from storestack.devices.configdiff.wiped import wiped_sent_again
from storestack.devices.drivers import PlatformDriver
from storestack.devices.platforms.base import DeletedForm


def send_ordered(delta: HConfig, before: HConfig, after: HConfig, driver: PlatformDriver) -> tuple[str, ...]:
    """The lines of `delta` (what turns `before` into `after`) in the order the platform must
    receive them (`_in_send_order`), without the deletions of what the device removes with an
    entry it removes whole (`PlatformDriver.removed_whole`), each deletion in the form the device
    documents for it where that is not the line negated whole (`PlatformDriver.deleted_forms`),
    each classifier ACL held by a twin while it is edited (`PlatformDriver.held_classifiers`),
    each interface address given up before another interface takes its subnet
    (`PlatformDriver.exclusive_addresses`), each entry's name given up before another entry of
    its table takes it (`PlatformDriver.unique_names`)."""
    lines = _in_send_order(delta, before, after, driver)
    negation = delta.driver.negation_prefix
    lines = without_lines_of_removed(lines, after, driver.removed_whole, negation)
    if driver.deleted_forms:
        lines = _in_deleted_forms(lines, driver.deleted_forms, negation)
    if driver.held_classifiers is not None:
        lines = classifiers_held(lines, before, after, driver.held_classifiers, negation)
    if driver.exclusive_addresses is not None:
        lines = addresses_freed_first(lines, before, after, driver.exclusive_addresses, negation)
    for table in driver.unique_names:
        lines = names_freed_first(lines, before, after, table)
    return lines


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
                    line = line[: indent_width(line)] + negation + found.expand(deleted_as)
                    break
        sent.append(line)
    return tuple(sent)


def _in_send_order(delta: HConfig, before: HConfig, after: HConfig, driver: PlatformDriver) -> tuple[str, ...]:
    """The lines of `delta` (what turns `before` into `after`) in the order the platform must
    receive them (`PlatformDriver.send_order`): the staged sections stage by stage (a section's
    entries may be split over stages), then the sections no stage names as they are (what may
    refer to anything), then the staged sections' entry deletions in reverse stage order, when
    nothing sent any more refers to what they delete, then the entries emptied of what the push
    made (`SendStage.emptied`), once nothing names them any more. A platform without a send order whose
    lines name objects by number (`PlatformDriver.named_objects`) gets hier_config's order with
    those objects' definitions and deletions moved around the lines that name them
    (`around_named_objects`)."""
    if driver.stopped_while_changed:
        delta = stopped_while_changed(delta, before, after, driver.stopped_while_changed)
    if driver.wiped_by:
        delta = wiped_sent_again(delta, before, after, driver.wiped_by)
    if driver.removed_whole:
        delta = remade_sent_whole(delta, before, after, driver.removed_whole)
    if driver.numbered_entries:
        delta = renumbered_from_the_ends(delta, driver.numbered_entries, before, after)
    if driver.deleted_with and driver.deletion_word is not None and driver.entry_word is not None:
        delta = without_deletions_of_the_owned(
            delta, before, after, driver.deleted_with, driver.deletion_word + " ", driver.entry_word + " "
        )
    if not driver.send_order or driver.deletion_word is None or driver.entry_word is None:
        if driver.named_objects:
            ordered = around_named_objects(delta, before, after, driver.named_objects)
        else:
            ordered = tuple(delta.lines(sectional_exiting=True))
        if driver.prefix_lists is not None:
            ordered = prefix_lists_kept(ordered, before, after, driver.prefix_lists, delta.driver.negation_prefix)
        if driver.swapped_filters is not None:
            return rebound_in_place(ordered, driver.swapped_filters, delta.driver.negation_prefix)
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
        kept, dropped = without_deletions(section, deletion), only_deletions(section, deletion)
        additions[section.text] = list(kept.children) if kept is not None else []
        removals[section.text] = list(dropped.children) if dropped is not None else []

    candidates_of: dict[str, list[int]] = {}
    for i, stage in enumerate(stages):
        candidates_of.setdefault(stage.section, []).append(i)

    def stage_of(child: HConfigChild, section: str, config: HConfig) -> int:
        """The index of the stage `child` (a line of `section`) is sent in."""
        candidates = candidates_of[section]
        default = next((i for i in candidates if stages[i].entries is None and not stages[i].emptied), candidates[0])
        name = child.text.removeprefix(deletion)
        if child.text.startswith(deletion):
            name = entry_word + name
        elif not child.text.startswith(entry_word):
            return default
        emptied = next((i for i in candidates if stages[i].emptied), None)
        if emptied is not None and config is after and _emptied(section, name, before, after, driver):
            return emptied
        block = config.get_child(equals=section)
        entry = block.get_child(equals=name) if block is not None else None
        lines = [line.text for line in entry.all_children()] if entry is not None else []
        lines += [line.text for line in child.all_children()]
        for i in candidates:
            if stages[i].emptied:
                continue
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
                if stages[i].emptied:
                    _add_emptied(block, child, delta.driver.negation_prefix)
                else:
                    block.add_deep_copy_of(child)
            lines += root.lines(sectional_exiting=True)
        return lines

    emptied_stages = [i for i, stage in enumerate(stages) if stage.emptied]
    lines = emit(additions, [i for i in range(len(stages)) if i not in emptied_stages], after)
    for section in unstaged:
        root = get_hconfig(delta.driver)
        root.add_deep_copy_of(section)
        lines += root.lines(sectional_exiting=True)
    lines += emit(removals, reversed(range(len(stages))), before)
    lines += emit(additions, emptied_stages, after)
    return tuple(lines)


def _emptied(section: str, name: str, before: HConfig, after: HConfig, driver: PlatformDriver) -> bool:
    """Whether entry `name` of `section` is one the change empties of what the push made: one
    `before` holds as made by it (`PlatformDriver.emptied_entries`) and `after` holds without a
    line saying so."""
    held = before.get_child(equals=section)
    kept = after.get_child(equals=section)
    entry = held.get_child(equals=name) if held is not None else None
    emptied = kept.get_child(equals=name) if kept is not None else None
    if entry is None or emptied is None:
        return False
    rule = emptied_rule(section, entry, driver.emptied_entries)
    return rule is not None and emptied_rule(section, emptied, (rule,)) is None


def _add_emptied(block: HConfigChild, entry: HConfigChild, negation: str) -> None:
    """`entry` (its delta) added to `block` with its negations last-held first: a setting the
    device offers only while another holds is unset before it."""
    copy = block.add_child(entry.text)
    settings = [child for child in entry.children if not child.text.startswith(negation)]
    negations = [child for child in entry.children if child.text.startswith(negation)]
    for child in [*settings, *reversed(negations)]:
        copy.add_deep_copy_of(child)
