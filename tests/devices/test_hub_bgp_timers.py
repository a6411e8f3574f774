"""BGP timers on every hub platform, as the intent sets them per session class (`BGP_TIMERS`).

A crashed hub is noticed by the DC core (eBGP) only when its hold timer runs out: no BFD runs
with the DC core (the other hub notices it by BFD, `test_hub_hub_bfd.py`, the hold time only its
back-up). Until then the DC core keeps its session to the dead hub, and HQ's traffic back to
the stores is dropped. Every hub renders hold 9 s (keepalive 3 s) towards the other hubs and the DC
core routers; the store links (BFD covers them) and the cloud VPNs (AWS's own timers) keep
keepalive 10 s, hold 30 s."""

from __future__ import annotations

import re

import pytest
from testsupport.rendering import on_platform

from storestack.devices.lint.run import config_files
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent
from storestack.network.model import BgpSession

HUB_PLATFORMS = ("frr", "cisco_xe", "huawei_vrp", "fortinet")


def _neighbor_timers(platform: str, text: str) -> dict[str, tuple[int, int]]:
    """Each BGP neighbour's or peer group's (keepalive, hold) as the hub's config sets it."""
    if platform in ("frr", "cisco_xe"):
        pattern = r"^ neighbor (\S+) timers (\d+) (\d+)$"
    elif platform == "huawei_vrp":
        pattern = r"^ peer (\S+) timer keepalive (\d+) hold (\d+)$"
    else:
        bgp = text[text.index("config router bgp\n") :]
        neighbors = bgp[bgp.index("    config neighbor\n") :]
        neighbors = neighbors[: neighbors.index("\n    end\n")]
        found: dict[str, tuple[int, int]] = {}
        for entry in re.findall(r'^        edit "([^"]+)"\n(.*?)^        next$', neighbors, re.M | re.S):
            keepalive = re.search(r"^            set keep-alive-timer (\d+)$", entry[1], re.M)
            hold = re.search(r"^            set holdtime-timer (\d+)$", entry[1], re.M)
            assert keepalive and hold, f"{entry[0]}: no timers"
            found[entry[0]] = (int(keepalive[1]), int(hold[1]))
        return found
    return {m[0]: (int(m[1]), int(m[2])) for m in re.findall(pattern, text, re.M)}


@pytest.fixture(scope="module", params=HUB_PLATFORMS)
def hubs(request: pytest.FixtureRequest, fleet: Fleet) -> tuple[str, Fleet, dict[str, str]]:
    platform = request.param
    on = on_platform(fleet, None, hubs=platform)
    texts = {f.name: f.text for f in config_files(on) if f.name.startswith("hq-hub") and not f.suffix}
    return platform, on, texts


def _sessions(fleet: Fleet, hub: str, *kinds: str) -> list[BgpSession]:
    return [s for s in NetworkIntent(fleet).hub(hub).sessions if s.kind in kinds]


def test_the_intent_holds_the_dc_lan_sessions_to_nine_seconds_and_the_others_to_thirty(fleet: Fleet) -> None:
    intent = NetworkIntent(fleet)
    for hub in fleet.hubs:
        sessions = intent.hub(hub).sessions
        assert {s.kind for s in sessions} >= {"hub-hub", "hub-dc", "store-hub"}
        for s in sessions:
            expected = (3, 9) if s.kind in ("hub-hub", "hub-dc") else (10, 30)
            assert (s.timers.keepalive, s.timers.hold) == expected, (hub, s.kind, s.peer)
    store = intent.store("nw-0001")
    assert {(s.kind, s.timers.keepalive, s.timers.hold) for s in store.sessions} == {
        ("store-hub", 10, 30),
        ("store-aws", 10, 30),
    }


def test_every_hub_holds_its_dc_lan_sessions_to_nine_seconds(hubs: tuple[str, Fleet, dict[str, str]]) -> None:
    platform, fleet, texts = hubs
    assert set(texts) == {f"{hub}.cfg" for hub in fleet.hubs}
    for hub in fleet.hubs:
        timers = _neighbor_timers(platform, texts[f"{hub}.cfg"])
        dc_lan = _sessions(fleet, hub, "hub-hub", "hub-dc")
        assert {s.kind for s in dc_lan} == {"hub-hub", "hub-dc"}
        for s in dc_lan:
            assert timers.get(str(s.peer_address)) == (3, 9), (platform, hub, s.kind, s.peer)


def test_store_links_and_cloud_vpns_keep_their_timers(hubs: tuple[str, Fleet, dict[str, str]]) -> None:
    platform, fleet, texts = hubs
    for hub in fleet.hubs:
        timers = _neighbor_timers(platform, texts[f"{hub}.cfg"])
        clouds = _sessions(fleet, hub, "hub-aws", "hub-openstack")
        assert clouds
        assert all(timers.get(str(s.peer_address)) == (10, 30) for s in clouds), (platform, hub)
        stores = _sessions(fleet, hub, "store-hub")
        if platform == "fortinet":  # per neighbour
            assert all(timers.get(str(s.peer_address)) == (10, 30) for s in stores)
        else:  # on the store peer groups
            groups = {name: value for name, value in timers.items() if name.startswith("STORES-")}
            assert groups and set(groups.values()) == {(10, 30)}
            assert not any(str(s.peer_address) in timers for s in stores)
        # nothing but these
        dc_lan = _sessions(fleet, hub, "hub-hub", "hub-dc")
        assert sorted(v for v in timers.values() if v != (10, 30)) == [(3, 9)] * len(dc_lan)
