"""A FortiGate hub's BEACON-CONDITION rules and static routes keep their ids when the inventory adds
an HQ range.

The condition's rules were numbered by place: the hub's own DC LAN leg (denied), then HQ's
summaries. An HQ range listed first turned the rule of 10.0.0.0/16 into the new range's in place,
so while the push edited it the condition no longer matched the routes of HQ's old range, and a
hub that learned only those withdrew its beacon from every store. Now the leg's rule has an id of
its own and a summary's is its address: every id both configs hold is one rule in both, and at
every line of the push (and of its rollback) the unit holds every rule both configs hold."""

from __future__ import annotations

import dataclasses
import ipaddress

import pytest
from testsupport.emulator_push import forti_entries, fortios_holding, fortios_holds_kept_at_every_line
from testsupport.rendering import hq_range_chain, on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.errors import RenderError
from storestack.devices.platforms import fortinet
from storestack.devices.render import render_hub
from storestack.devices.secret_ledger import HELD_AS_SENT
from storestack.devices.views import Net, ViewBuilder
from storestack.inventory import Fleet, load_fleet
from storestack.lab.emulator.forticonfig import FortiConfig
from storestack.lab.emulator.profiles.fortinet import FortiSession

HUB = "hq-hub1"
CONDITION = ("router prefix-list", "BEACON-CONDITION", "rule")
ROUTES = ("router static",)
TABLES = ((CONDITION, ("prefix", "action")), (ROUTES, ("dst", "device", "blackhole")))


def _hub(chain: Fleet) -> str:
    return render_hub(on_platform(chain, "fortinet"), HUB).text


def _entries(text: str) -> dict[tuple[str, ...], dict[str, tuple[str | None, ...]]]:
    """Each table's entries by id: what each is (its prefix and action; its route's destination,
    device and blackhole)."""
    config = FortiConfig(text)
    out: dict[tuple[str, ...], dict[str, tuple[str | None, ...]]] = {}
    for path, key in TABLES:
        out[path] = {number: tuple(dict(entry).get(k) for k in key) for number, entry in forti_entries(config, path).items()}
    return out


@pytest.fixture(scope="module")
def hub(fleet: Fleet) -> str:
    return _hub(fleet)


@pytest.fixture(scope="module")
def with_range(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A second HQ range, listed before 10.0.0.0/16."""
    return _hub(load_fleet(hq_range_chain(tmp_path_factory.mktemp("hq-range"))))


def test_the_range_joins_the_condition(hub: str, with_range: str) -> None:
    before, after = _entries(hub)[CONDITION], _entries(with_range)[CONDITION]
    prefixes = {what[0] for what in after.values()}
    assert {"10.8.0.0 255.255.0.0", "10.0.0.0 255.255.0.0"} <= prefixes
    assert len(after) == len(before) + 1
    # The leg's deny is read first (rules in id order), before any summary's permit.
    first = min(after, key=int)
    assert after[first][1] == "deny"


def test_every_kept_id_is_one_rule_both_ways(hub: str, with_range: str) -> None:
    old, new = _entries(hub), _entries(with_range)
    for path, _ in TABLES:
        for number in sorted(old[path].keys() & new[path].keys()):
            assert old[path][number] == new[path][number], f"{path} {number}: {old[path][number]} before, {new[path][number]} after"


def _held_at_every_line(lines: tuple[str, ...], before: str, after: str, session: FortiSession) -> None:
    assert set(_entries(before)[CONDITION].values()) & set(_entries(after)[CONDITION].values()), "the configs share no rule"
    fortios_holds_kept_at_every_line(session, lines, before, after, TABLES)


def test_the_push_holds_every_kept_rule_at_every_line(hub: str, with_range: str) -> None:
    device, session = fortios_holding(hub)
    diff = compute_diff(device.running_text(), with_range, "fortinet", held=HELD_AS_SENT)
    _held_at_every_line(diff.remediation, hub, with_range, session)
    assert _entries(device.running_text()) == _entries(with_range)
    _held_at_every_line(diff.rollback, with_range, hub, session)
    assert compute_diff(device.running_text(), hub, "fortinet", held=HELD_AS_SENT).in_sync


def test_a_policy_based_vpns_routes_are_keyed_by_destination(fleet: Fleet) -> None:
    """A cloud VPN without BGP routes its peer selectors into its tunnel (none is built today): each
    route's seq-num its destination's address, the beacon's blackhole its own; a selector added
    first moves no other route."""
    view = ViewBuilder(on_platform(fleet, "fortinet")).hub_view(HUB)
    assert view.intent.beacon is not None
    tunnel = dataclasses.replace(view.cloud_tunnels[0], inside=None, peer_selectors=[Net.of(ipaddress.IPv4Network("10.16.0.0/20"))])
    one = fortinet.hub_static_routes(dataclasses.replace(view, cloud_tunnels=[tunnel]))
    wider = dataclasses.replace(tunnel, peer_selectors=[Net.of(ipaddress.IPv4Network("10.17.0.0/20")), Net.of(ipaddress.IPv4Network("10.16.0.0/20"))])
    two = fortinet.hub_static_routes(dataclasses.replace(view, cloud_tunnels=[wider]))
    assert [(n, d) for n, d, _, _ in one] == [(fortinet.BEACON_ROUTE, str(view.intent.beacon.address)), (168820736, "10.16.0.0")]
    assert {(n, d) for n, d, _, _ in one} < {(n, d) for n, d, _, _ in two}
    clash = dataclasses.replace(tunnel, peer_selectors=[Net.of(ipaddress.IPv4Network("10.16.0.0/20")), Net.of(ipaddress.IPv4Network("10.16.0.0/24"))])
    with pytest.raises(RenderError, match="static route 168820736"):
        fortinet.hub_static_routes(dataclasses.replace(view, cloud_tunnels=[clash]))
