"""What an IOS-XE hub's Virtual-Template filter FROM-STORES holds through a fleet change, line by
line: each store tunnel's control traffic to the hub (BGP, ICMP, the IP SLA responder), the
denies of every hub's own addresses, the corporate ranges, the internet.

The hub is pushed twice (`FleetChangeOrder.held_over`): first with what it holds and gains
together, then its own config. Its store tunnels' control entries came in the hub's store
order, in which the stores it gains follow those it held in the first push but fall among them
in the last: the entries both pushes hold changed places, and the last push (a hub removed from
the middle of the fleet, its stores moving to this hub) deleted the filter from its closing
`deny ip any any` up to the first entry that moved and added it all again. They now come by the
stores' stable numbers (`StoreForwarding.control_by_number`): the last push deletes what only
the first holds (the removed hub's own addresses) and adds nothing.

The entries stay numbered 10, 20, ...: Cisco's "IP Access List Entry Sequence Numbering"
(Security Configuration Guide: Access Control Lists, Cisco IOS XE) says the sequence numbers
"are not nvgened" and revert to the default start and increment at a reload, so an ACL numbered
otherwise would be renumbered by the device and rewritten by the next push."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from testsupport.rendering import TEST_IPSEC_PSK_SEED, TEST_SECRETS, hub_change_configs, ios_hub_change

from storestack.devices.configdiff import compute_diff

_NAME = "FROM-STORES"
_ENTRY = re.compile(r"^(?P<no>no )?(?P<seq>\d+) (?P<rule>.+)$")
_RESEQUENCE = re.compile(rf"^ip access-list resequence {_NAME} (?P<start>\d+) (?P<step>\d+)$")


def _entries(config: str) -> dict[int, str]:
    """FROM-STORES's entries in a rendered config, by number."""
    found: dict[int, str] = {}
    inside = False
    for line in config.splitlines():
        if not line.startswith(" "):
            inside = line == f"ip access-list extended {_NAME}"
        elif inside and (entry := _ENTRY.match(line.strip())) is not None:
            found[int(entry["seq"])] = entry["rule"]
    return found


def _walk(held: dict[int, str], lines: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """FROM-STORES's rules in order after each line of a push that starts from `held` (an
    entry line inside the block added or deleted, a resequence renumbering it in place)."""
    now, states, inside = dict(held), [], False
    for line in lines:
        text = line.strip()
        if not line.startswith(" "):
            inside = text == f"ip access-list extended {_NAME}"
            if (renumber := _RESEQUENCE.match(text)) is not None:
                start, step = int(renumber["start"]), int(renumber["step"])
                now = {start + step * index: rule for index, (_, rule) in enumerate(sorted(now.items()))}
        elif inside and (entry := _ENTRY.match(text)) is not None:
            if entry["no"]:
                assert now.get(int(entry["seq"])) == entry["rule"], f"{line!r} deletes no entry held"
                del now[int(entry["seq"])]
            else:
                assert int(entry["seq"]) not in now, f"{line!r}: the number is taken"
                now[int(entry["seq"])] = entry["rule"]
        states.append((line, [rule for _, rule in sorted(now.items())]))
    return states


def _assert_change_keeps_filter(held: str, union: str, final: str) -> list[str]:
    """Both pushes of a hub's change: FROM-STORES holds, after every line, every rule the push
    starts and ends with, each in the order both give it. The last push's FROM-STORES lines."""
    touched: list[str] = []
    for start, end in ((held, union), (union, final)):
        lines = compute_diff(start, end, "cisco_xe").remediation
        before, after = list(_entries(start).values()), list(_entries(end).values())
        kept = [rule for rule in after if rule in before]
        assert kept == [rule for rule in before if rule in after], "the two configs order their common rules apart"
        states = _walk(_entries(start), lines)
        for line, state in states:
            assert [rule for rule in state if rule in kept] == kept, f"after {line!r} FROM-STORES lacks or moved a rule"
        assert (states[-1][1] if states else before) == after
        touched = [line.strip() for (line, state), (_, previous) in zip(states, [("", before), *states], strict=False) if state != previous]
    return touched


def test_a_hub_removed_from_the_middle_moves_no_rule_of_from_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)
    before, after = ios_hub_change(tmp_path, "removed")
    held, union, final = hub_change_configs(before, after, "hq-hub1")
    # The change moves stores onto hq-hub1: its filter gains their tunnels' control entries.
    gained = set(_entries(final).values()) - set(_entries(held).values())
    assert any(rule.endswith("eq bgp") for rule in gained)
    assert f"deny ip host {before.hubs['hq-hub2'].loopback} any" in _entries(held).values()
    last = _assert_change_keeps_filter(held, union, final)
    # The last push deletes what only the first holds (hq-hub2's loopback and beacon) and adds
    # nothing: every rule both hold keeps its place.
    assert {f"no {seq} {rule}" for seq, rule in _entries(union).items() if rule not in _entries(final).values()} == {
        line for line in last if line.startswith("no ")
    }
    assert f"deny ip host {before.hubs['hq-hub2'].loopback} any" in " ".join(last)
    assert not [line for line in last if (m := _ENTRY.match(line)) is not None and not m["no"]]


def test_a_hub_added_moves_no_rule_of_from_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)
    before, after = ios_hub_change(tmp_path, "added")
    held, union, final = hub_change_configs(before, after, "hq-hub1")
    assert _entries(held) and _entries(final)
    _assert_change_keeps_filter(held, union, final)
