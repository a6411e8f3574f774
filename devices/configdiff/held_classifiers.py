"""Classifier ACLs held by a twin while they are edited rule by rule (`HeldClassifiers`): make
before break for an ACL a traffic classifier matches by number."""

from __future__ import annotations

import re

from hier_config import HConfig

from storestack.devices.configdiff.lines import indent_width
from storestack.devices.configdiff.slotted_filters import unsafe_in_place
from storestack.devices.platforms.base import HeldClassifiers


def _acl_rules(config: HConfig, definition: re.Pattern[str]) -> dict[str, tuple[int, list[str]]]:
    """Each ACL `config` defines: name → (number, its rule lines)."""
    return {
        found.group(1): (int(found.group(2)), [child.text for child in block.children])
        for block in config.children
        if (found := definition.match(block.text)) is not None
    }


def classifiers_held(
    lines: tuple[str, ...], before: HConfig, after: HConfig, kind: HeldClassifiers, negation: str
) -> tuple[str, ...]:
    """`lines` (what turns `before` into `after`, as sent) with each classifier ACL whose change
    has no safe order in place (`unsafe_in_place`: rules both deleted and added) held by a twin
    while its block is sent: before it, the twin (the ACL as intended, under the highest number
    of `kind.numbers` that neither config nor the lines use) and, in every classifier of ORed
    rules that matches the ACL in both configs, a rule matching the twin; after it, that rule
    taken out again and the twin deleted. Every packet that both the old and the new ACL
    classify is then classified at every line: by the twin while the ACL is edited, by the ACL
    before and after. An ACL whose block is not sent once, whole, is left as it is."""
    definition, classifier = re.compile(kind.definition), re.compile(kind.classifier)
    entry = re.compile(kind.entry)
    twin_header = re.compile(re.escape(kind.twin).replace(re.escape("{number}"), r"(\d+)") + "$")
    held, wanted = _acl_rules(before, definition), _acl_rules(after, definition)
    used = {number for number, _ in (*held.values(), *wanted.values())}
    for line in lines:
        text = line.removeprefix(negation)
        if (found := definition.match(text)) is not None:
            used.add(int(found.group(2)))
        elif (found := twin_header.match(text)) is not None:
            used.add(int(found.group(1)))
    free = (number for number in range(kind.numbers[1], kind.numbers[0] - 1, -1) if number not in used)
    result = list(lines)
    for name in sorted(held.keys() & wanted.keys()):
        (number, old), (intended_number, new) = held[name], wanted[name]
        if number != intended_number or not unsafe_in_place(old, new, entry):
            continue
        reference = kind.reference.format(number=number)
        holders = [
            block.text
            for block in before.children
            if classifier.match(block.text) is not None
            and block.get_child(equals=reference) is not None
            and (kept := after.get_child(equals=block.text)) is not None
            and kept.get_child(equals=reference) is not None
        ]
        starts = [i for i, line in enumerate(result) if (found := definition.match(line)) and found.group(1) == name]
        if not holders or len(starts) != 1:
            continue
        start = starts[0]
        end = next((i for i in range(start + 1, len(result)) if not result[i][:1].isspace()), len(result))
        twin = next(free, None)
        if twin is None:
            continue
        indent = " " * (indent_width(result[start + 1]) if end > start + 1 else 1)
        matching_twin = kind.reference.format(number=twin)
        hold = [kind.twin.format(number=twin), *(indent + rule for rule in new), indent + kind.exit]
        release: list[str] = []
        for text in holders:
            hold += [text, indent + matching_twin, indent + kind.exit]
            release += [text, indent + negation + matching_twin, indent + kind.exit]
        release.append(negation + kind.deleted_as.format(number=twin))
        result[start:end] = [*hold, *result[start:end], *release]
    return tuple(result)
