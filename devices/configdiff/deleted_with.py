"""Entries the device deletes itself with an entry of another table (`DeletedWith`): never deleted
on their own."""

from __future__ import annotations

from hier_config import HConfig, get_hconfig

from storestack.devices.platforms.base import DeletedWith


def gone_with_owner(section: str, entry: str, before: HConfig, after: HConfig, kinds: tuple[DeletedWith, ...]) -> bool:
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


def without_deletions_of_the_owned(
    delta: HConfig, before: HConfig, after: HConfig, kinds: tuple[DeletedWith, ...], deletion: str, entry_word: str
) -> HConfig:
    """`delta` without the deletions of entries the device deletes itself with their owner
    (`DeletedWith`): sent, each would find its entry in use by the owner, or gone with it."""

    def implied(section: str, line: str) -> bool:
        name = line.removeprefix(deletion)
        return name != line and gone_with_owner(section, entry_word + name, before, after, kinds)

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
