"""Blocks the device refuses to change while running (`StoppedWhileChanged`): stopped, changed,
started again."""

from __future__ import annotations

import re

from hier_config import HConfig, get_hconfig

from storestack.devices.platforms.base import StoppedWhileChanged


def stopped_while_changed(
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
