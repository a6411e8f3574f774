"""Lines the device drops when another line of their block changes (`WipedBy`): sent again."""

from __future__ import annotations

import re

from hier_config import HConfig, get_hconfig
from hier_config.child import HConfigChild

from storestack.devices.platforms.base import WipedBy


def wiped_sent_again(delta: HConfig, before: HConfig, after: HConfig, kinds: tuple[WipedBy, ...]) -> HConfig:
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
