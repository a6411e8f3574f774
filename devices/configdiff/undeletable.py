"""Sections a platform cannot delete (a physical interface): emptied instead of negated."""

from __future__ import annotations

import re

from hier_config import HConfig
from hier_config.child import HConfigChild

from storestack.devices.configdiff.deleted_with import gone_with_owner
from storestack.devices.drivers import PlatformDriver
from storestack.devices.platforms.base import EmptiedEntry


def _mirror_blocks(one: HConfigChild, other: HConfigChild) -> None:
    """Give `other` an empty copy of each `config` block of `one` it lacks, at any depth under
    the entries and blocks both hold."""
    for child in one.children:
        match = other.get_child(equals=child.text)
        if match is None and child.text.startswith("config "):
            match = other.add_child(child.text)
        if match is not None and child.children:
            _mirror_blocks(child, match)


def _factory_entries_as_shipped(amended: HConfig, shipped: HConfig, entry_pattern: str, kept_setting: str) -> None:
    """Each factory entry of `amended` (`PlatformDriver.factory_entries`) that `shipped` lacks
    goes; one it holds takes the settings `shipped` keeps (its password) it lacks."""
    for amended_section in amended.children:
        shipped_section = shipped.get_child(equals=amended_section.text)
        for entry in list(amended_section.children):
            if not re.match(entry_pattern, entry.text):
                continue
            held = shipped_section.get_child(equals=entry.text) if shipped_section is not None else None
            if held is None:
                entry.delete()
                continue
            for setting in held.children:
                if re.match(kept_setting, setting.text) and entry.get_child(equals=setting.text) is None:
                    entry.add_deep_copy_of(setting)


def emptied_rule(section: str, entry: HConfigChild, rules: tuple[EmptiedEntry, ...]) -> EmptiedEntry | None:
    """The rule of `rules` (`PlatformDriver.emptied_entries`) that empties `entry`, an entry of
    `section` as the device holds it, where the intended config no longer names it: one whose
    entry pattern it matches and one of whose settings says the push configured it."""
    for rule in rules:
        if (
            rule.section == section
            and re.match(rule.entry, entry.text)
            and any(re.match(rule.made, child.text) for child in entry.children)
        ):
            return rule
    return None


def _emptied_copy(intended_section: HConfigChild, entry: HConfigChild, rule: EmptiedEntry) -> None:
    """`entry` added to `intended_section` with only the settings `rule` keeps."""
    emptied = intended_section.add_child(entry.text)
    for child in entry.children:
        if re.match(rule.kept, child.text):
            emptied.add_deep_copy_of(child)


def keep_undeletable_sections(
    running: HConfig, intended: HConfig, driver: PlatformDriver, *, to_backup: bool = False
) -> None:
    """A section the platform cannot delete (a physical interface) is emptied instead of negated.

    Adding the bare section header to the intended side makes hier_config negate the
    section's children one by one, which every platform accepts. A factory entry the intended
    config amends (`factory_entries`) is amended only where the device still has it, its kept
    settings read as intended. An entry of a kept section (`keep_entries`) the intended
    config lacks is kept, emptied where the push made it (`emptied_entries`: a FortiOS WAN port
    whose link is gone), unless `to_backup`: the intended config is then a backup.
    """
    for section in running.children:
        if not driver.keep_sections:
            break
        kept = any(re.fullmatch(pattern, section.text) for pattern in driver.keep_sections)
        if kept and intended.get_child(equals=section.text) is None:
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
        # Amended only where the device has it; back to a backup (to_backup), never made by a
        # push, so never deleted by its rollback, nor its kept settings sent back.
        sides = ((intended, running), (running, intended)) if to_backup else ((intended, running),)
        for amended, shipped in sides:
            _factory_entries_as_shipped(amended, shipped, entry_pattern, kept_setting)
    if to_backup:
        # Back to a backup (a rollback): it holds every entry the device had before the push,
        # so an entry it lacks was made since and goes.
        return
    for section_text in driver.keep_entries:
        running_section = running.get_child(equals=section_text)
        intended_section = intended.get_child(equals=section_text)
        if running_section is None or intended_section is None:
            continue
        for entry in running_section.children:
            owned = (driver.owned_entries is not None and re.match(driver.owned_entries, entry.text)) or (
                driver.owned_settings is not None
                and any(re.match(driver.owned_settings, child.text) for child in entry.children)
            )
            gone = gone_with_owner(section_text, entry.text, running, intended, driver.deleted_with)
            if owned or gone or intended_section.get_child(equals=entry.text) is not None:
                continue
            rule = emptied_rule(section_text, entry, driver.emptied_entries)
            if rule is not None:
                _emptied_copy(intended_section, entry, rule)
            else:
                intended_section.add_deep_copy_of(entry)
