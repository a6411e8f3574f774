"""What a changed BGP policy takes to apply (`PolicyRefresh`): the soft refresh commands, or the
seconds to wait for the device's own timer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from storestack.devices.configdiff.lines import normalise, with_paths
from storestack.devices.drivers import driver_for
from storestack.devices.platforms.base import PolicyRefresh


def policy_change(running: str, intended: str, platform: str) -> tuple[tuple[str, ...], float]:
    """What the BGP policy `intended` changes from `running` (a rollback's too) takes to apply:
    the exec commands that make it apply to the routes the sessions hold already
    (`PlatformDriver.policy_refresh`), and the seconds the appliance takes to apply it itself
    (`PolicyRefresh.applied_after_s`, 0 where no session's changed)."""
    driver = driver_for(platform)
    if driver.policy_refresh is None:
        return (), 0.0
    return policy_change_of_lines(normalise(running, driver), normalise(intended, driver), driver.policy_refresh)


@dataclass
class _Policies:
    """What a config says of its BGP policy (`PolicyRefresh`): each object's lines and the words
    in them, the sessions, each session's or peer group's bound objects, each group's members."""

    lines: dict[str, list[str]] = field(default_factory=dict)
    words: dict[str, set[str]] = field(default_factory=dict)
    sessions: list[str] = field(default_factory=list)
    bound: dict[str, set[str]] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)


def _policies(lines: list[str], refresh: PolicyRefresh) -> _Policies:
    objects = [re.compile(pattern) for pattern in refresh.objects]
    bindings = [re.compile(pattern) for pattern in refresh.bindings]
    session = re.compile(refresh.sessions)
    member = re.compile(refresh.members) if refresh.members else None
    found = _Policies()
    for _, path in with_paths(lines):
        text = " / ".join(path)
        for pattern in objects:
            if match := pattern.search(text):
                name = match.group("name")
                found.lines.setdefault(name, []).append(text)
                found.words.setdefault(name, set()).update(word.strip('"') for word in path[-1].split())
        if (match := session.search(text)) and match.group("neighbor") not in found.sessions:
            found.sessions.append(match.group("neighbor"))
        for pattern in bindings:
            if match := pattern.search(text):
                found.bound.setdefault(match.group("neighbor"), set()).add(match.group("policy"))
        if member is not None and (match := member.search(text)):
            found.members.setdefault(match.group("group"), []).append(match.group("neighbor"))
    return found


def policy_change_of_lines(
    running: list[str], intended: list[str], refresh: PolicyRefresh | None
) -> tuple[tuple[str, ...], float]:
    """`policy_change` of normalised lines, each config read once. The commands: for each
    session both configs hold whose bindings changed, or which is bound (itself or through its
    peer group) to an object that changed or names one that did, the platform's commands, in the
    intended config's order of sessions. The wait: the platform's delay where any such session
    is, or a new session is bound to an object the running config holds that changed (or names
    one that did). A new session bound only to objects the change adds or leaves alone waits
    for nothing: it starts with the new policy (FRR binds a route-map that exists at once, and
    the push defines the objects it adds before what binds them); a deleted one takes its
    routes with it."""
    if refresh is None or not (refresh.commands or refresh.applied_after_s):
        return (), 0.0
    before, after = _policies(running, refresh), _policies(intended, refresh)
    if refresh.whole:
        changed = before.lines != after.lines or before.bound != after.bound
        return (refresh.commands if changed else ()), 0.0
    stale = _stale(before, after)
    held = set(before.sessions)
    refreshed = [neighbor for neighbor in after.sessions if neighbor in stale and neighbor in held]
    commands = tuple(command.format(neighbor=neighbor) for neighbor in refreshed for command in refresh.commands)
    return commands, (refresh.applied_after_s if refreshed or _new_bound_to_edited(before, after) else 0.0)


def _new_bound_to_edited(before: _Policies, after: _Policies) -> bool:
    """Whether a session only `after` holds is bound (itself or through its peer group) to an
    object `before` holds that changed, or names one that did: edited in place, not defined
    before the session binds it."""
    edited = _naming(
        before, after, {name for name, lines in before.lines.items() if after.lines.get(name, lines) != lines}
    )
    held = set(before.sessions)
    return any(
        after.bound.get(holder, set()) & edited
        for neighbor in after.sessions
        if neighbor not in held
        for holder in (neighbor, *(group for group, members in after.members.items() if neighbor in members))
    )


def _naming(before: _Policies, after: _Policies, changed: set[str]) -> set[str]:
    """`changed` with every object that names one of them, in either config (a route-map whose
    prefix list changed changed too)."""
    changed = set(changed)
    growing = True
    while growing:
        named = {
            name
            for side in (before, after)
            for name, words in side.words.items()
            if name not in changed and words & changed
        }
        changed |= named
        growing = bool(named)
    return changed


def _stale(before: _Policies, after: _Policies) -> set[str]:
    """The sessions and peer groups (with their members) whose bindings changed, or which are
    bound to an object that changed or names one that did."""
    changed = _naming(
        before, after, {name for name in {*before.lines, *after.lines} if before.lines.get(name) != after.lines.get(name)}
    )
    stale: set[str] = set()
    for holder in {*before.bound, *after.bound}:
        old, new = before.bound.get(holder, set()), after.bound.get(holder, set())
        if old != new or (old | new) & changed:
            stale.update({holder, *before.members.get(holder, []), *after.members.get(holder, [])})
    return stale
