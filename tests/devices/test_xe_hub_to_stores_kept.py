"""What an IOS-XE hub announces to its stores (prefix list TO-STORES: HQ's summaries, the DC
core's default route, its own loopback and beacon, the other hubs' loopbacks) through a fleet
change, line by line.

A hub added after hq-hub2: hq-hub1 is pushed twice (`FleetChangeOrder.held_over`), first with
what it holds and gains together, then its own config. The new hub's loopback used to be
numbered among the hubs' before the beacon and the default route, so the first push deleted
the entries at seq 30 and 35 and added them again one number up: for a moment the list held
neither the beacon nor the default route. The hubs' loopbacks now come last: a hub gained takes
the next number, and no entry the hub holds is deleted by either push.

A hub removed from the middle of the fleet: numbered by place, each later hub's loopback moved
down one number, deleted and added again on every IOS-XE hub that kept it, so for the length of
the push the stores were not told of that hub. Each hub's loopback is now numbered by its slot,
which IPAM pins in the lock (`Fleet.hub_slot`): only the removed hub's entry goes.

What an IOS-XE store takes from its hubs (prefix list HUB-ROUTES: the default route, the
summaries, each hub's loopback and beacon) likewise: a store of hq-hub2 goes from [hq-hub2,
hq-hub3] to [hq-hub3, hq-hub1]. Numbered by the hubs' place in the store's tunnels, hq-hub3's
loopback and beacon moved up one number each, deleted and added again by the store's push (its
steering tracks the beacon); by the hubs' slots, the push deletes hq-hub2's and adds hq-hub1's
alone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from testsupport.rendering import (
    TEST_IPSEC_PSK_SEED,
    TEST_SECRETS,
    committed,
    hub_change_configs,
    hub_removed_chain,
    ios_hub_change,
    three_hub_chain,
    with_lock_of,
)

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_store
from storestack.inventory import load_fleet


def _entry(name: str) -> re.Pattern[str]:
    return re.compile(rf"^(?P<no>no )?ip prefix-list {name} seq (?P<seq>\d+)(?: (?P<match>(?:permit|deny) \S+.*))?$")


_ENTRY = _entry("TO-STORES")


def _entries(config: str, entry: re.Pattern[str] = _ENTRY) -> dict[int, str]:
    found = (entry.match(line) for line in config.splitlines())
    return {int(m["seq"]): m["match"] for m in found if m is not None and not m["no"]}


def _walk(held: dict[int, str], lines: tuple[str, ...]) -> list[dict[int, str]]:
    """TO-STORES after each line of a push that starts from `held`."""
    now, states = dict(held), []
    for line in lines:
        if (found := _ENTRY.match(line.strip())) is not None:
            if found["no"]:
                now.pop(int(found["seq"]), None)
            else:
                now[int(found["seq"])] = found["match"]
        states.append(dict(now))
    return states


def test_a_hub_added_takes_no_entry_of_to_stores_away_in_either_push(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)
    before, after = ios_hub_change(tmp_path, "added")
    held, union, final = hub_change_configs(before, after, "hq-hub1")
    start = _entries(held)
    assert "permit 0.0.0.0/0" in start.values() and len(start) >= 6
    gained = set(_entries(final).values()) - set(start.values())
    assert gained and gained == set(_entries(union).values()) - set(start.values())  # hq-hub3's loopback

    first = compute_diff(held, union, "cisco_xe").remediation
    states = _walk(start, first)
    assert states[-1] == _entries(union)
    for line, state in zip(first, states, strict=True):
        missing = set(start.values()) - set(state.values())
        assert not missing, f"after {line!r} TO-STORES lacks {missing}"
    # Every entry held keeps its number: nothing of it is sent again.
    sent = [found for line in first if (found := _ENTRY.match(line.strip())) is not None]
    assert sent and not [found.string for found in sent if int(found["seq"]) in start]

    last = compute_diff(union, final, "cisco_xe").remediation
    for line, state in zip(last, _walk(_entries(union), last), strict=True):
        missing = set(_entries(final).values()) - set(state.values())
        assert not missing, f"after {line!r} TO-STORES lacks {missing}"


def test_a_hub_removed_from_the_middle_deletes_its_own_entry_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)
    before, after = ios_hub_change(tmp_path, "removed")
    removed = f"permit {before.hubs['hq-hub2'].loopback}/32"
    kept_hub = f"permit {before.hubs['hq-hub3'].loopback}/32"
    held, union, final = hub_change_configs(before, after, "hq-hub1")
    assert {removed, kept_hub} <= set(_entries(held).values())
    assert set(_entries(held).values()) - set(_entries(final).values()) == {removed}

    steps = (
        (held, compute_diff(held, union, "cisco_xe").remediation),
        (union, compute_diff(union, final, "cisco_xe").remediation),
    )
    touched: list[str] = []
    for start, lines in steps:
        kept = set(_entries(start).values()) - {removed}
        for line, state in zip(lines, _walk(_entries(start), lines), strict=True):
            missing = kept - set(state.values())
            assert not missing, f"after {line!r} TO-STORES lacks {missing}"
        touched += [found.string for line in lines if (found := _ENTRY.match(line.strip())) is not None]
    # The one TO-STORES line of the whole change: the removed hub's entry deleted.
    assert touched == [f"no ip prefix-list TO-STORES seq {_number_of(held, removed)} {removed}"]


def _number_of(config: str, match: str) -> int:
    (number,) = [seq for seq, held in _entries(config).items() if held == match]
    return number


_HUB_ROUTES = _entry("HUB-ROUTES")


def _on_ios(root: Path) -> Path:
    path = root / "stores" / "nw-0002.yaml"
    text = path.read_text()
    assert "platform: frr" in text
    path.write_text(text.replace("platform: frr", "platform: cisco_xe"))
    return root


def test_a_hub_removed_renumbers_no_entry_of_a_hub_the_store_keeps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)
    before_root = committed(_on_ios(three_hub_chain(tmp_path / "before")))
    after_root = with_lock_of(_on_ios(hub_removed_chain(tmp_path / "after")), before_root)
    before, after = load_fleet(before_root), load_fleet(after_root)
    (held,) = render_store(before, "nw-0002")
    (final,) = render_store(after, "nw-0002")
    loopback = {hub: f"permit {before.hubs[hub].loopback}/32" for hub in ("hq-hub1", "hq-hub2", "hq-hub3")}
    start, end = _entries(held.text, _HUB_ROUTES), _entries(final.text, _HUB_ROUTES)
    assert {loopback["hq-hub2"], loopback["hq-hub3"]} <= set(start.values())
    assert {loopback["hq-hub1"], loopback["hq-hub3"]} <= set(end.values())

    kept = set(start.items()) & set(end.items())
    sent = [found for line in compute_diff(held.text, final.text, "cisco_xe").remediation if (found := _HUB_ROUTES.match(line.strip()))]
    # Every entry both configs hold (the default route, the summaries, hq-hub3's loopback and
    # beacon) keeps its number: no line of the push names one.
    assert sent and not [found.string for found in sent if (int(found["seq"]), found["match"]) in kept]
    assert {(seq, match) for seq, match in start.items() if match == loopback["hq-hub3"]} <= kept
    # What the push deletes is what only the config before holds: hq-hub2's entries.
    assert {(int(f["seq"]), f["match"]) for f in sent if f["no"]} == set(start.items()) - kept
