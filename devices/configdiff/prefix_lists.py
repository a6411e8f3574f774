"""Route filter lists never left empty while changed (`PrefixLists`)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from hier_config import HConfig

from storestack.devices.platforms.base import PrefixLists


def prefix_lists_kept(
    lines: tuple[str, ...], before: HConfig, after: HConfig, kind: PrefixLists, negation: str
) -> tuple[str, ...]:
    """`lines` (a remediation as sent) with each changed route filter list's lines replaced by
    a sequence that never leaves an intended list empty (`PrefixLists`): sent where the list's
    first line was, or last where the list is no longer intended at all."""
    entry = re.compile(kind.entry)

    def entries(texts: Iterable[str]) -> dict[str, dict[int, re.Match[str]]]:
        found_by_list: dict[str, dict[int, re.Match[str]]] = {}
        for text in texts:
            if (found := entry.match(text)) is not None:
                found_by_list.setdefault(found.group(1), {})[int(found.group(2))] = found
        return found_by_list

    held = entries(child.text for child in before.children)
    wanted = entries(child.text for child in after.children)

    def deletion(name: str, number: int) -> str:
        return negation + kind.deleted_as.format(name=name, number=number)

    def spare_after(number: int, *taken: Iterable[int]) -> int:
        """The first number after `number` none of `taken` holds."""
        used = set().union(*taken)
        spare = number + 1
        while spare in used:
            spare += 1
        return spare

    def moved(old: dict[int, re.Match[str]], new: dict[int, re.Match[str]]) -> set[int]:
        """The held entries that change or go while the intended list holds their match at
        another number (`PrefixLists.unique_matches`)."""
        if not kind.unique_matches:
            return set()
        matches = {found.string[found.end() :] for found in new.values()}
        return {
            number
            for number, found in old.items()
            if (number not in new or new[number].string != found.string) and found.string[found.end() :] in matches
        }

    def sequence(name: str) -> list[str]:
        old = {number: found.string for number, found in held.get(name, {}).items()}
        new = wanted.get(name, {})
        current = set(old)
        out: list[str] = []
        # Gone before any entry is added, so that none is added while its match is held
        # elsewhere; the list held meanwhile where they are all it holds.
        first = moved(held.get(name, {}), new)
        holder = spare_after(max(old), old, new) if first and first == current else None
        if holder is not None:
            out.append(kind.placeholder.format(name=name, number=holder))
        out += [deletion(name, number) for number in sorted(first, reverse=True)]
        current -= first
        for number in sorted(set(new) - set(old)):
            out.append(new[number].string)
            current.add(number)
        for number in sorted(set(new) & set(old)):
            line = new[number].string
            if line == old[number]:
                continue
            if number not in current:
                out.append(line)
                current.add(number)
            elif current == {number}:
                # The list's last entry: an entry that matches no route more than the list did
                # holds the list, at a spare number after it, meanwhile.
                spare = spare_after(number, current, new, old)
                held_by = kind.placeholder.format(name=name, number=spare)
                out += [held_by, deletion(name, number), line, deletion(name, spare)]
            else:
                out += [deletion(name, number), line]
        out += [deletion(name, number) for number in sorted(set(old) - set(new) - first, reverse=True)]
        if holder is not None:
            out.append(deletion(name, holder))
        return out

    kept: list[str] = []
    last: list[str] = []
    sent: set[str] = set()
    for line in lines:
        text = line.removeprefix(negation) if not line[:1].isspace() else ""
        found = entry.match(text)
        if found is None:
            kept.append(line)
            continue
        name = found.group(1)
        if name in sent:
            continue
        sent.add(name)
        (kept if name in wanted else last).extend(sequence(name))
    return (*kept, *last)
