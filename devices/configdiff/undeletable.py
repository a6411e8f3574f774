"""Sections a platform cannot delete (a physical interface): emptied instead of negated."""

from __future__ import annotations

import re

from hier_config import HConfig
from hier_config.child import HConfigChild

from storestack.devices.configdiff.deleted_with import gone_with_owner
from storestack.devices.drivers import PlatformDriver


def _mirror_blocks(one: HConfigChild, other: HConfigChild) -> None:
    """Give `other` an empty copy of each `config` block of `one` it lacks, at any depth under
    the entries and blocks both hold."""
    for child in one.children:
        match = other.get_child(equals=child.text)
        if match is None and child.text.startswith("config "):
            match = other.add_child(child.text)
        if match is not None and child.children:
            _mirror_blocks(child, match)


def keep_undeletable_sections(running: HConfig, intended: HConfig, driver: PlatformDriver) -> None:
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
            gone = gone_with_owner(section_text, entry.text, running, intended, driver.deleted_with)
            if not owned and not gone and intended_section.get_child(equals=entry.text) is None:
                intended_section.add_deep_copy_of(entry)
