"""Entries of ordered tables (`ordered_tables`) moved into the intended order, last."""

from __future__ import annotations

from hier_config import HConfig
from hier_config.child import HConfigChild

from storestack.devices.drivers import PlatformDriver


def entry_moves(before: HConfig, after: HConfig, driver: PlatformDriver) -> tuple[str, ...]:
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
