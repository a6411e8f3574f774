"""An FRR hub's last push of a fleet change that changes its partner hubs (`HubIntent.return_partners`)
never sends a shared store's return packets to a hub that is not its partner, at any step of the
push.

A partner is reached through three files applied one after the other (devices/platforms/frr.py
`hub_companions`, then the FRR lines): the ruleset marks a store's packets with the partner's
mark (map partner_stores), the routing batch's `ip rule fwmark MARK lookup TABLE` picks the
partner's table, and FRR's `ip route 0.0.0.0/0 LOOPBACK table TABLE` routes it to that partner.
Removing hq-hub2 of three, hq-hub1 and hq-hub3 go from partners (hq-hub2, hq-hub3 / hq-hub1)
in their first config to the one remaining hub in their last. When a partner's table was its
position among the partners, table 5300 went from hq-hub2 to the remaining hub: the new ruleset
put every store on mark 0x5300 while FRR still routed table 5300 to hq-hub2, the retiring hub,
until the FRR lines were applied, and a flow pinned to the old meaning of a mark moved with it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from testsupport.rendering import (
    TEST_IPSEC_PSK_SEED,
    TEST_SECRETS,
    edited_sample_chain,
    hub_removed_chain,
    three_hub_chain,
)

from storestack.devices.errors import RenderError
from storestack.devices.platforms import get_platform
from storestack.devices.render import render_change_hubs, render_hub
from storestack.inventory import load_fleet

_STORES = re.compile(r"map partner_stores \{[^}]*elements = \{ (?P<elements>[^}]*) \}")
_RULE = re.compile(r"^rule add fwmark (0x[0-9a-f]+) lookup (\d+) ", re.M)
_ROUTE = re.compile(r"^ip route 0\.0\.0\.0/0 (\S+) table (\d+)$", re.M)


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)


def _files(config: str, companions: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return {"": config, **dict(companions)}


def _marks(files: dict[str, str], loopbacks: dict[str, str]) -> dict[int, str]:
    """Each partner mark -> the hub its packets reach with these files (rule, then table route)."""
    tables = {int(mark, 16): table for mark, table in _RULE.findall(files["routing"])}
    routes = {table: loopbacks[loopback] for loopback, table in _ROUTE.findall(files[""])}
    return {mark: routes[table] for mark, table in tables.items() if table in routes}


def _partner_of(files: dict[str, str], loopbacks: dict[str, str]) -> dict[str, str | None]:
    """Each shared store address -> the hub a packet the ruleset passes to a partner reaches."""
    found = _STORES.search(files["nftables.conf"])
    assert found is not None
    marks = _marks(files, loopbacks)
    return {
        net.strip(): marks.get(int(mark, 16))
        for element in found.group("elements").split(",")
        for net, _, mark in [element.partition(" : ")]
    }


@pytest.mark.parametrize("hub", ["hq-hub1", "hq-hub3"])
def test_a_hubs_last_push_never_passes_a_store_to_a_hub_that_is_not_its_partner(tmp_path: Path, hub: str) -> None:
    before = load_fleet(three_hub_chain(tmp_path / "before"))
    after = load_fleet(hub_removed_chain(tmp_path / "after"))
    loopbacks = {str(h.loopback): name for name, h in before.hubs.items()}
    (union,) = render_change_hubs(before, after, [hub])
    final = render_hub(after, hub)
    first, last = _files(union.text, union.companions), _files(final.text, final.companions)
    allowed = {
        net: {partner for partner in (_partner_of(first, loopbacks).get(net), _partner_of(last, loopbacks).get(net))}
        for net in _partner_of(last, loopbacks)
    }
    # The push's steps: each companion in the platform's order, then the FRR lines.
    steps = [name for name, _ in get_platform("frr").hub_companions] + [""]
    state = dict(first)
    meaning: dict[int, set[str]] = {}
    wrong = []
    for step in steps:
        state[step] = last[step]
        for mark, partner in _marks(state, loopbacks).items():
            meaning.setdefault(mark, set()).add(partner)
        for net, partner in _partner_of(state, loopbacks).items():
            if partner is not None and net in allowed and partner not in allowed[net]:
                wrong.append((step or "frr", net, partner))
    assert wrong == [], "a shared store's return packets went to a hub that is not its partner"
    changed = {mark: hubs for mark, hubs in meaning.items() if len(hubs) > 1}
    assert changed == {}, "a partner mark (and the flows pinned to it) changed hub during the push"
    assert set(_partner_of(last, loopbacks).values()) == {"hq-hub3" if hub == "hq-hub1" else "hq-hub1"}


def test_a_partner_past_the_partner_tables_is_refused_at_render(tmp_path: Path) -> None:
    # A DC core LAN of a /24 with hq-hub2 at host 150: its table would be 5450, past the partner
    # tables into the management table's; no table is made up for it.
    chain = edited_sample_chain(
        tmp_path,
        "        serial: NW-HUB-0002\n",
        "        serial: NW-HUB-0002\n        dc_address: 10.0.0.150\n    core:\n      subnet: 10.0.0.0/24\n",
    )
    with pytest.raises(RenderError) as refused:
        render_hub(load_fleet(chain), "hq-hub1")
    assert "hq-hub2 sit at host 100 or above of the DC core LAN 10.0.0.0/24" in str(refused.value)
