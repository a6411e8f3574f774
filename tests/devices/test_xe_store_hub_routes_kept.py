"""What an IOS-XE store takes from its hubs (prefix list HUB-ROUTES: the default route, HQ's and
the clouds' summaries, each hub's loopback and beacon) through a fleet change.

hq-hub2 of three removed: its stores move to hq-hub3, which they kept as their backup, so a store
of hq-hub2 goes from [hq-hub2, hq-hub3] to [hq-hub3, hq-hub1]. Numbered by the hubs' place in
the store's tunnels, hq-hub3's loopback and beacon moved up one number each: the store's push
deleted them and added them again, and for its length the store took neither from the hub it
kept (its steering tracks the beacon). Each hub's entries are now numbered by the hub's slot,
which IPAM pins in the lock (`Fleet.hub_slot`): the push deletes hq-hub2's and adds hq-hub1's
alone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from testsupport.rendering import (
    TEST_IPSEC_PSK_SEED,
    TEST_SECRETS,
    committed,
    hub_removed_chain,
    three_hub_chain,
    with_lock_of,
)

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_store
from storestack.inventory import load_fleet

_ENTRY = re.compile(r"^(?P<no>no )?ip prefix-list HUB-ROUTES seq (?P<seq>\d+) (?P<match>permit \S+)$")


def _entries(config: str) -> dict[int, str]:
    found = (_ENTRY.match(line) for line in config.splitlines())
    return {int(m["seq"]): m["match"] for m in found if m is not None}


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
    start, end = _entries(held.text), _entries(final.text)
    assert {loopback["hq-hub2"], loopback["hq-hub3"]} <= set(start.values())
    assert {loopback["hq-hub1"], loopback["hq-hub3"]} <= set(end.values())

    kept = set(start.items()) & set(end.items())
    sent = [found for line in compute_diff(held.text, final.text, "cisco_xe").remediation if (found := _ENTRY.match(line.strip()))]
    # Every entry both configs hold (the default route, the summaries, hq-hub3's loopback and
    # beacon) keeps its number: no line of the push names one.
    assert sent and not [found.string for found in sent if (int(found["seq"]), found["match"]) in kept]
    assert {(seq, match) for seq, match in start.items() if match == loopback["hq-hub3"]} <= kept
    # What the push deletes is what only the config before holds: hq-hub2's entries.
    assert {(int(f["seq"]), f["match"]) for f in sent if f["no"]} == set(start.items()) - kept
