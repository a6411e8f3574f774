"""A hub's first push of two in a fleet change (`FleetChangeOrder.held_over`), on every hub
platform: its config before the change with what it gains added, rendered by the platform's own
template. Sent over the hub's config before the change, it deletes nothing, so no store tunnel,
session or filter entry a store still uses goes; its last push then goes from it to the hub's
config after the change like any push.

Removing hq-hub2 of three: hq-hub3 gains the backup tunnels of hq-hub1's stores (and changes
those of the stores re-homed to it, kept in their old form); hq-hub1 gains the re-homed stores'
backup tunnels; both keep their session with hq-hub2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from testsupport.rendering import (
    TEST_IPSEC_PSK_SEED,
    TEST_SECRETS,
    hub_removed_chain,
    hubs_on_yaml,
    static_wan_yaml,
    three_hub_chain,
)

from storestack.common.platforms import Platform
from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_change_hubs, render_hub
from storestack.inventory import load_fleet
from storestack.network.build import NetworkIntent

# How each platform's remediation spells a deletion.
DELETIONS = {"frr": ("no ",), "cisco_xe": ("no ",), "huawei_vrp": ("undo ",), "fortinet": ("delete ", "unset ")}


def _cuts(remediation: tuple[str, ...], platform: Platform, names: list[str]) -> list[str]:
    """The deletions of `remediation` that name one of `names`."""
    return [
        line
        for line in remediation
        if line.strip().startswith(DELETIONS[platform]) and any(re.search(rf"{re.escape(n)}\b", line) for n in names)
    ]


@pytest.mark.parametrize("platform", sorted(DELETIONS))
def test_a_hubs_first_push_deletes_nothing_and_adds_what_it_gains(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)
    roots = three_hub_chain(tmp_path / "before"), hub_removed_chain(tmp_path / "after")
    for root, hubs in zip(roots, (3, 2), strict=True):
        hubs_on_yaml(root, *([platform] * hubs))
        static_wan_yaml(root)
    before, after = (load_fleet(root) for root in roots)
    intent = NetworkIntent(before)
    for hub in ("hq-hub1", "hq-hub3"):
        # What names a store tunnel the hub holds before the change: a store id, or either end's
        # inside address (a platform deletes a BGP neighbour or an address by it).
        names = ["nw-0"] + [
            str(address)
            for t in intent.hub(hub).tunnels
            if t.kind == "store-hub" and t.local_inside is not None
            for address in (t.local_inside.ip, t.peer_inside)
        ]

        held = render_hub(before, hub).text
        (union,) = render_change_hubs(before, after, [hub])
        final = render_hub(after, hub).text
        first = compute_diff(held, union.text, platform)
        assert first.remediation and _cuts(first.remediation, platform, names) == [], (hub, _cuts(first.remediation, platform, names)[:5])
        # What it gains: a store's tunnel it serves after the change only.
        gained = {"hq-hub1": "nw-0002", "hq-hub3": "nw-0001"}[hub]
        assert gained not in held and gained in union.text and gained in final
        # Its session with hq-hub2 stays until its last push.
        assert ("hq-hub2" in union.text) and ("hq-hub2" not in final)
        if hub == "hq-hub3":
            # Its config after the change, pushed first as it was, cut the re-homed stores' ends.
            assert _cuts(compute_diff(held, final, platform).remediation, platform, names)
