"""Entry names given up before another entry of their table takes them (`UniqueNames`)."""

from __future__ import annotations

import re

from hier_config import HConfig

from storestack.devices.platforms.base import UniqueNames


def _names(config: HConfig, table: UniqueNames) -> dict[str, str]:
    """Each entry of `table.section` in `config` (its line) with the name it holds."""
    section = config.get_child(equals=table.section)
    entry, name = re.compile(table.entry), re.compile(table.name)
    held: dict[str, str] = {}
    for child in section.children if section is not None else ():
        if not entry.fullmatch(child.text):
            continue
        for line in child.children:
            if (found := name.fullmatch(line.text)) is not None:
                held[child.text] = found["name"]
    return held


def names_freed_first(lines: tuple[str, ...], before: HConfig, after: HConfig, table: UniqueNames) -> tuple[str, ...]:
    """`lines` (what turns `before` into `after`) headed by a block of `table.section` in which
    each entry whose name another entry holds in `after` gives it up (`table.freed_as`, its
    name line with the entry's id): deleted
    or renamed later in the push, it holds a name of its own meanwhile, so no line gives an
    entry a name another still holds. Nothing else of the entry changes there. Lines as they
    are where no name moves."""
    holders = {name: entry for entry, name in _names(after, table).items()}
    freed = [
        (entry, table.freed_as.format(entry=entry.split(maxsplit=1)[-1]))
        for entry, name in _names(before, table).items()
        if holders.get(name, entry) != entry
    ]
    if not freed:
        return lines
    name = re.compile(table.name)
    head = [table.section]
    for entry, freed_as in freed:
        found = name.fullmatch(freed_as)
        assert found is not None and found["name"] not in holders, f"{freed_as!r} is no name of its own"
        head += [f"  {entry}", f"    {freed_as}", f"    {table.exit}"]
    head.append(f"  {table.section_exit}")
    return (*head, *lines)
