"""Entries that take a setting only when they are made (`RecreatedEntries`): deleted, with what
names them, and configured anew."""

from __future__ import annotations

import re

from storestack.devices.configdiff.lines import indent_width, with_paths
from storestack.devices.drivers import PlatformDriver
from storestack.devices.platforms.base import RecreatedEntries

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
    for _line, path in with_paths(lines):
        if len(path) >= 2 and path[0] == kind.section and path[1].startswith(entry_word):
            texts = found.setdefault(path[1][len(entry_word) :], [])
            if len(path) == 3 and setting.search(path[2]):
                texts.append(path[2])
    return {name: tuple(sorted(texts)) for name, texts in found.items()}


def recreated(before: list[str], after: list[str], driver: PlatformDriver) -> list[str] | None:
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
        for _line, path in with_paths(lines):
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
    for line, path in with_paths(lines):
        if any(path[: len(entry)] == entry for entry in doomed):
            continue
        values = _setting_values(path[-1])
        if any(value in names for value in values):
            key = path[-1].split(" ", 2)[:2]
            line = " " * indent_width(line) + " ".join([*key, *(value for value in values if value not in names)])
        kept.append(line)
    return kept
