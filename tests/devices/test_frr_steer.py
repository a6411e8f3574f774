"""storestack-steer (devices/frr_steer.py): the rendered steering.conf reads back as the intent's
class order, and the decision follows the paths' BFD/BGP state with each class's hold-down and
recovery."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
from testsupport.rendering import on_platform

from storestack.devices.frr_steer import (
    UNSTEERED,
    RouteOffer,
    Steering,
    SteeringConfig,
    main,
    paths_up,
    route_command,
    withheld_paths,
)
from storestack.devices.render import render_store
from storestack.devices.views import ViewBuilder
from storestack.inventory import Fleet

CONFIG = """
# a comment
poll-ms 100
path xfrm1 100.64.0.0
path xfrm3 100.64.255.254
path xfrm2 100.64.0.2
class pos 0x00005102 5102 hold-down 2 detection 10 recovery 30 via xfrm1 xfrm3 xfrm2
class bulk 0x00005105 5105 hold-down 10 detection 30 recovery 60 via xfrm1 xfrm3
"""


@pytest.fixture(scope="module")
def config() -> SteeringConfig:
    return SteeringConfig.parse(CONFIG)


def _run(steering: Steering, timeline: list[tuple[float, dict[str, bool]]]) -> list[dict[str, str | None]]:
    return [steering.observe(states, now) for now, states in timeline]


ALL_UP = {"xfrm1": True, "xfrm3": True, "xfrm2": True}
FIBRE_DOWN = {"xfrm1": False, "xfrm3": False, "xfrm2": True}


def test_first_start_is_taken_at_once_and_the_preferred_path_wins(config: SteeringConfig) -> None:
    steering = Steering(config)
    # No BFD session configured on any path (before the first push): the main table decides.
    assert steering.observe({}, 0.0) == {"pos": UNSTEERED, "bulk": UNSTEERED}
    # Sessions configured, none up yet: no class has a path (unreachable, never another path).
    assert steering.observe(dict.fromkeys(ALL_UP, False), 0.5) == {"pos": None, "bulk": None}
    # The LTE tunnel comes up first, the fibre a second later: no recovery wait on a first start.
    assert steering.observe({**dict.fromkeys(ALL_UP, False), "xfrm2": True}, 1.0) == {"pos": "xfrm2", "bulk": None}
    assert steering.observe(ALL_UP, 2.0) == {"pos": "xfrm1", "bulk": "xfrm1"}


def test_a_failed_path_is_left_after_the_hold_down_and_retaken_after_the_recovery(config: SteeringConfig) -> None:
    steering = Steering(config)
    steering.observe(ALL_UP, 0.0)
    # Fibre's BFD goes down at t=10: POS (hold-down 2 s) stays until 12, bulk (10 s) until 20.
    assert steering.observe(FIBRE_DOWN, 10.0)["pos"] == "xfrm1"
    assert steering.observe(FIBRE_DOWN, 11.9)["pos"] == "xfrm1"
    assert steering.observe(FIBRE_DOWN, 12.0) == {"pos": "xfrm2", "bulk": "xfrm1"}
    # Bulk may not use LTE: with both fibre tunnels gone it has no path at all.
    assert steering.observe(FIBRE_DOWN, 20.0) == {"pos": "xfrm2", "bulk": None}
    # The fibre returns at t=30: POS waits its 30 s recovery on LTE. Bulk has nothing that passed
    # its recovery: it takes the first of its paths that is up rather than stay unreachable.
    assert steering.observe(ALL_UP, 30.0) == {"pos": "xfrm2", "bulk": "xfrm1"}
    assert steering.observe(ALL_UP, 59.9)["pos"] == "xfrm2"
    assert steering.observe(ALL_UP, 60.0) == {"pos": "xfrm1", "bulk": "xfrm1"}
    assert steering.observe(ALL_UP, 90.0) == {"pos": "xfrm1", "bulk": "xfrm1"}


def test_a_single_drop_within_the_hold_down_is_ignored_a_brownout_is_not(config: SteeringConfig) -> None:
    steering = Steering(config)
    steering.observe(ALL_UP, 0.0)
    # One drop it came back from within POS's 2 s hold-down, not repeated within its 10 s
    # detection time: POS never moves.
    choices = _run(steering, [(5.0, FIBRE_DOWN), (5.5, ALL_UP), (7.0, ALL_UP), (9.0, ALL_UP), (15.0, ALL_UP)])
    assert {choice["pos"] for choice in choices} == {"xfrm1"}
    # A brownout: the path keeps dropping and coming back; the second drop within the
    # hold-down leaves it, though it happens to be up when the hold-down ends.
    choices = _run(steering, [(20.0, FIBRE_DOWN), (20.3, ALL_UP), (21.0, FIBRE_DOWN), (21.3, ALL_UP), (22.0, ALL_UP)])
    assert [choice["pos"] for choice in choices] == ["xfrm1"] * 4 + ["xfrm2"]


def test_a_brownout_whose_drops_come_seconds_apart_leaves_the_path(config: SteeringConfig) -> None:
    """What 30 % loss does to a 200 ms BFD session: a drop every few seconds, each one back up
    (BFD and BGP) before the hold-down ends. The second drop within the detection time leaves
    the path at once; the hold-down alone would keep it as long as each drop came back in time."""
    steering = Steering(config)
    steering.observe(ALL_UP, 0.0)
    timeline = [(10.0, FIBRE_DOWN), (11.0, ALL_UP), (12.0, ALL_UP), (14.9, ALL_UP), (15.0, FIBRE_DOWN)]
    assert [choice["pos"] for choice in _run(steering, timeline)] == ["xfrm1"] * 4 + ["xfrm2"]


def test_drops_further_apart_than_the_detection_time_move_nothing(config: SteeringConfig) -> None:
    steering = Steering(config)
    steering.observe(ALL_UP, 0.0)
    timeline = [(10.0, FIBRE_DOWN), (10.5, ALL_UP), (20.0, ALL_UP), (21.0, FIBRE_DOWN), (21.5, ALL_UP), (32.0, ALL_UP)]
    assert {choice["pos"] for choice in _run(steering, timeline)} == {"xfrm1"}


def test_a_flapping_path_restarts_its_recovery(config: SteeringConfig) -> None:
    steering = Steering(config)
    steering.observe(ALL_UP, 0.0)
    steering.observe(FIBRE_DOWN, 10.0)
    assert steering.observe(FIBRE_DOWN, 12.0)["pos"] == "xfrm2"
    # Up at 20, down again at 40 (before the 30 s recovery), up again at 41: recovery counts from 41.
    choices = _run(steering, [(20.0, ALL_UP), (40.0, FIBRE_DOWN), (41.0, ALL_UP), (70.9, ALL_UP)])
    assert {choice["pos"] for choice in choices} == {"xfrm2"}
    assert steering.observe(ALL_UP, 71.0)["pos"] == "xfrm1"


def test_route_commands_point_a_class_table_at_its_path_or_at_nothing(config: SteeringConfig) -> None:
    pos = config.classes[0]
    assert route_command(config, pos, "xfrm3") == [
        "ip", "route", "replace", "default", "via", "100.64.255.254", "dev", "xfrm3", "onlink",
        "table", "5102", "proto", "static",
    ]  # fmt: skip
    assert route_command(config, pos, None)[3:5] == ["unreachable", "default"]
    assert route_command(config, pos, UNSTEERED) == ["ip", "route", "flush", "table", "5102"]


def test_a_broken_config_names_its_line() -> None:
    with pytest.raises(ValueError, match="line 2: path xfrm9 is not declared"):
        SteeringConfig.parse("path xfrm1 10.0.0.1\nclass pos 0x5102 5102 hold-down 2 detection 10 recovery 30 via xfrm9\n")
    with pytest.raises(ValueError, match="line 1: cannot read"):
        SteeringConfig.parse("class pos 0x5102\n")
    with pytest.raises(ValueError, match=r"line 2: .*10\.0\.10\.1/24"):
        SteeringConfig.parse(
            "path xfrm1 10.0.0.1\nclass pos 0x5102 5102 hold-down 2 detection 10 recovery 30 via xfrm1 to 10.0.10.1/24\n"
        )
    with pytest.raises(ValueError, match="line 2: cannot read"):
        SteeringConfig.parse("path xfrm1 10.0.0.1\nclass pos 0x5102 5102 hold-down 2 detection 10 recovery 30 via xfrm1 to\n")


ROUTED = """
path xfrm1 100.64.0.0
path xfrm3 100.64.255.254
path xfrm2 100.64.0.2
class pos 0x00005102 5102 hold-down 2 detection 10 recovery 30 via xfrm1 xfrm3 xfrm2 to 10.0.10.0/24 10.0.11.0/24
class bulk 0x00005105 5105 hold-down 10 detection 30 recovery 60 via xfrm1 xfrm3
"""
# Which hub's tunnel is which: xfrm1 (wan1) and xfrm2 (lte1) reach hub1, xfrm3 (wan1) hub2.
HUB1 = frozenset({"100.64.0.0", "100.64.0.2"})
HUB2 = frozenset({"100.64.255.254"})
HQ = ("10.0.10.0/24", "10.0.11.0/24")


def routed(peers: frozenset[str], best_hub: frozenset[str]) -> dict[str, RouteOffer]:
    """Both HQ destinations with the same route: valid paths from `peers`, the best on `best_hub`."""
    return dict.fromkeys(HQ, RouteOffer(peers, best_hub))


def _frr_path(peer: str, router_id: str, *, best: bool = False, valid: bool = True) -> dict[str, object]:
    """One path of `show bgp ipv4 unicast A.B.C.D json`, as FRR 8.4 prints it."""
    path: dict[str, object] = {"valid": valid, "peer": {"peerId": peer, "routerId": router_id, "type": "external"}}
    if best:
        path["bestpath"] = {"overall": True, "selectionReason": "Local Pref"}
    return path


def test_a_route_offers_its_valid_paths_and_the_best_paths_hub() -> None:
    paths = [
        _frr_path("100.64.255.254", "10.255.0.2"),
        _frr_path("100.64.0.2", "10.255.0.1"),
        _frr_path("100.64.0.0", "10.255.0.1", best=True),
        _frr_path("100.64.0.9", "10.255.0.2", valid=False),
    ]
    assert RouteOffer.of(paths) == RouteOffer(HUB1 | HUB2, HUB1)
    assert RouteOffer.of([]) == RouteOffer()


def test_a_class_goes_through_the_hub_bgp_routes_its_destinations_through() -> None:
    """hub1 lost the DC core: it withdraws HQ's summary while BFD and BGP to it stay up. POS,
    whose destinations are HQ's, leaves hub1 at once (the DC core now sends the store's answers
    through hub2 too) and returns at once when hub1 offers HQ again; bulk, with no
    destinations, stays."""
    config = SteeringConfig.parse(ROUTED)
    assert config.classes[0].destinations == HQ
    steering = Steering(config)

    def at(now: float, offers: dict[str, RouteOffer]) -> dict[str, str | None]:
        return steering.observe(ALL_UP, now, withheld_paths(config, offers))

    assert at(0.0, routed(HUB1 | HUB2, HUB1)) == {"pos": "xfrm1", "bulk": "xfrm1"}
    assert withheld_paths(config, routed(HUB2, HUB2)) == {"pos": frozenset({"xfrm1", "xfrm2"})}
    assert at(1.0, routed(HUB2, HUB2)) == {"pos": "xfrm3", "bulk": "xfrm1"}
    assert at(2.0, routed(HUB1 | HUB2, HUB1)) == {"pos": "xfrm1", "bulk": "xfrm1"}


def test_a_flapping_primary_keeps_the_class_on_the_hub_bgp_answers_through() -> None:
    """The store's fibre tunnel to hub1 keeps dropping (BFD and BGP go down with it, and come
    back). Each time it is back, BGP's best path is hub1's again, and so is the DC's way back
    (hub1 gives the store's fibre the highest preference): POS stays with hub1, on its LTE
    tunnel while the fibre is in its recovery, rather than on hub2's fibre, where hub1 would
    drop every answer from HQ for want of a connection. While the fibre is down, BGP (and the
    DC) go through hub2, and so does POS."""
    config = SteeringConfig.parse(ROUTED)
    steering = Steering(config)
    fibre_down = {"xfrm1": False, "xfrm3": True, "xfrm2": True}
    hub1_best, hub2_best = routed(HUB1 | HUB2, HUB1), routed(HUB2 | {"100.64.0.2"}, HUB2)
    timeline = [(0.0, ALL_UP, hub1_best)]
    for drop in (10.0, 15.0, 20.0, 25.0, 30.0):
        timeline += [(drop, fibre_down, hub2_best), (drop + 1.5, ALL_UP, hub1_best), (drop + 3.0, ALL_UP, hub1_best)]
    choices = [steering.observe(up, now, withheld_paths(config, offers))["pos"] for now, up, offers in timeline]
    assert choices[:4] == ["xfrm1", "xfrm3", "xfrm1", "xfrm1"]  # one drop: back at once
    # From the second drop on, the fibre is left: through hub2 while it is down, hub1's LTE after.
    assert choices[4:] == ["xfrm3", "xfrm2", "xfrm2"] * 4
    assert steering.observe(ALL_UP, 63.0, withheld_paths(config, hub1_best))["pos"] == "xfrm1"  # recovered


# Both hubs over both links: xfrm1 (wan1) and xfrm2 (lte1) reach hub1, xfrm3 (wan1) and xfrm4 (lte1) hub2.
TWO_LINKS = """
path xfrm1 100.64.0.0 over wan1 hub hub1
path xfrm3 100.64.255.254 over wan1 hub hub2
path xfrm2 100.64.0.2 over lte1 hub hub1
path xfrm4 100.64.255.252 over lte1 hub hub2
class pos 0x00005102 5102 hold-down 2 detection 10 recovery 30 via xfrm1 xfrm3 xfrm2 xfrm4 to 10.0.10.0/24 10.0.11.0/24
"""
HUB2_BOTH = frozenset({"100.64.255.254", "100.64.255.252"})


def test_a_brownout_on_the_fibre_keeps_pos_off_the_fibre_to_either_hub() -> None:
    """30 % loss on wan1: its tunnel to hub1 keeps dropping (BFD, BGP with it) and is left; its
    tunnel to hub2 loses as much, but its own drops come at other moments, so for a while it
    looks clean. Each drop of the hub1 tunnel moves BGP's best path, and HQ's way back, to
    hub2's fibre for a second or two: POS goes through hub2 then, and over LTE, never over
    the fibre it just left, until the fibre to hub1 has passed its recovery."""
    config = SteeringConfig.parse(TWO_LINKS)
    assert config.paths["xfrm4"].transport == "lte1" and not config.paths["xfrm4"].bgp_only
    steering = Steering(config)
    everything = HUB1 | HUB2_BOTH
    hub1_best = routed(everything, HUB1)
    hub2_best = routed(everything - {"100.64.0.0"}, HUB2_BOTH)
    all_up = dict.fromkeys(("xfrm1", "xfrm2", "xfrm3", "xfrm4"), True)
    hub1_fibre_down = {**all_up, "xfrm1": False}
    timeline = [(0.0, all_up, hub1_best)]
    for drop in (10.0, 13.0, 17.0, 21.0, 26.0):
        timeline += [(drop, hub1_fibre_down, hub2_best), (drop + 1.5, all_up, hub1_best)]
    choices = [steering.observe(up, now, withheld_paths(config, offers))["pos"] for now, up, offers in timeline]
    assert choices[:3] == ["xfrm1", "xfrm3", "xfrm1"]  # one drop, within the hold-down: nothing yet
    # From the second drop on: hub2's LTE while BGP goes through hub2, hub1's LTE after.
    assert choices[3:] == ["xfrm4", "xfrm2"] * 4
    # The fibre to hub1 is clean from 27.5 on: POS stays on LTE for its 30 s recovery, then returns.
    assert steering.observe(all_up, 57.4, withheld_paths(config, hub1_best))["pos"] == "xfrm2"
    assert steering.observe(all_up, 57.5, withheld_paths(config, hub1_best))["pos"] == "xfrm1"


def test_a_tunnel_that_stays_down_clears_its_link_after_the_detection_time() -> None:
    """hub1's end of the fibre tunnel is gone for good (its SA, not the link): after the hold-down
    POS leaves it, to hub2 as BGP does; the fibre to hub2 is trusted again once the tunnel to
    hub1 has not come back within POS's detection time, so POS does not ride LTE for an outage
    the fibre has nothing to do with."""
    config = SteeringConfig.parse(TWO_LINKS)
    steering = Steering(config)
    everything = HUB1 | HUB2_BOTH
    all_up = dict.fromkeys(("xfrm1", "xfrm2", "xfrm3", "xfrm4"), True)
    hub2_best = withheld_paths(config, routed(everything - {"100.64.0.0"}, HUB2_BOTH))
    assert steering.observe(all_up, 0.0, withheld_paths(config, routed(everything, HUB1)))["pos"] == "xfrm1"
    gone = {**all_up, "xfrm1": False}
    assert steering.observe(gone, 10.0, hub2_best)["pos"] == "xfrm3"  # within the hold-down: BGP's way
    assert steering.observe(gone, 12.0, hub2_best)["pos"] == "xfrm4"
    assert steering.observe(gone, 19.9, hub2_best)["pos"] == "xfrm4"
    assert steering.observe(gone, 20.0, hub2_best)["pos"] == "xfrm3"
    # hub1 down altogether (both its tunnels): each link has a tunnel just left, so neither
    # is preferred, and POS takes hub2's fibre, the first usable path, not LTE.
    steering = Steering(config)
    steering.observe(all_up, 0.0, withheld_paths(config, routed(everything, HUB1)))
    hub1_gone = {**all_up, "xfrm1": False, "xfrm2": False}
    only_hub2 = withheld_paths(config, routed(HUB2_BOTH, HUB2_BOTH))
    assert [steering.observe(hub1_gone, now, only_hub2)["pos"] for now in (10.0, 12.0, 15.0, 25.0)] == ["xfrm3"] * 4


def test_each_fibre_tunnel_dropping_once_is_a_brownout_of_the_fibre() -> None:
    """Loss on the fibre for a few seconds: its tunnel to hub2 drops once, then its tunnel to
    hub1 once (each back within the hold-down), and BGP, back on hub2's fibre first, routes HQ
    through hub2 for a while. Neither tunnel dropped twice, but the fibre did: each is left, so
    POS rides LTE through whichever hub BGP uses, not the fibre to hub2 two seconds after the
    loss ended, and returns to the fibre after its recovery time."""
    config = SteeringConfig.parse(TWO_LINKS)
    steering = Steering(config)
    everything = HUB1 | HUB2_BOTH
    all_up = dict.fromkeys(("xfrm1", "xfrm2", "xfrm3", "xfrm4"), True)
    hub1_best = routed(everything, HUB1)
    # (from, paths up, BGP's route to HQ): polled every 0.5 s and as each phase starts
    phases = [
        (0.0, all_up, hub1_best),
        (10.0, {**all_up, "xfrm3": False}, routed(everything - {"100.64.255.254"}, HUB1)),
        (11.5, all_up, hub1_best),
        (11.6, {**all_up, "xfrm1": False}, routed(everything - {"100.64.0.0"}, HUB1 - {"100.64.0.0"})),  # hub1's LTE
        (13.5, {**all_up, "xfrm1": False}, routed(everything - {"100.64.0.0"}, HUB2_BOTH)),  # hub2's fibre first
        (14.0, all_up, hub1_best),
    ]
    seen: dict[float, str | None] = {}
    for now in sorted({step / 2 for step in range(100)} | {start for start, _, _ in phases}):
        _, up, offers = [phase for phase in phases if phase[0] <= now][-1]
        seen[now] = steering.observe(up, now, withheld_paths(config, offers))["pos"]
    assert seen[10.0] == seen[11.5] == "xfrm1"  # one drop of one tunnel: nothing yet
    assert seen[12.0] == "xfrm2"  # BGP's hub1, over LTE
    assert seen[13.5] == "xfrm4"  # BGP's hub2, over LTE too
    assert {link for at, link in seen.items() if 12.0 <= at < 44.0} <= {"xfrm2", "xfrm4"}
    assert seen[44.0] == "xfrm1"  # the fibre to hub1 stayed up for the 30 s recovery


def test_a_hub_that_restarts_is_not_a_brownout_of_the_links() -> None:
    """hub2 restarts: both its tunnels go down for 20 s and come back, and each is left and
    serves its recovery. That is hub2's outage, not the fibre's nor LTE's: POS stays on the
    fibre to hub1 (BGP's hub throughout), and a blip of that tunnel meanwhile is one drop."""
    config = SteeringConfig.parse(TWO_LINKS)
    steering = Steering(config)
    all_up = dict.fromkeys(("xfrm1", "xfrm2", "xfrm3", "xfrm4"), True)
    hub2_down = {**all_up, "xfrm3": False, "xfrm4": False}
    hub1_best = withheld_paths(config, routed(HUB1 | HUB2_BOTH, HUB1))
    only_hub1 = withheld_paths(config, routed(HUB1, HUB1))
    phases = [(0.0, all_up, hub1_best), (10.0, hub2_down, only_hub1), (30.0, all_up, hub1_best)]
    seen = []
    for now in [step / 2 for step in range(140)]:
        _, up, withheld = [phase for phase in phases if phase[0] <= now][-1]
        if now == 14.0:  # a blip of the fibre to hub1, back within the hold-down
            up = {**up, "xfrm1": False}
        seen.append(steering.observe(up, now, withheld)["pos"])
        if now == 45.0:  # hub2's tunnels were left, and serve their recovery (30 s from 30.0)
            assert not steering.states[("pos", "xfrm3")].usable and not steering.states[("pos", "xfrm4")].usable
    assert set(seen) == {"xfrm1"}, seen


# The lab's POS timers (tests/lab/test_lab_sla.py): 1 s hold-down, 40 s detection, 25 s recovery.
LAB_TIMERS = TWO_LINKS.replace("hold-down 2 detection 10 recovery 30", "hold-down 1 detection 40 recovery 25")


def _flapping_fibre_to_hub1(
    steering: Steering, config: SteeringConfig, lte_blip: tuple[float, float] | None, until: float = 60.0
) -> dict[float, str | None]:
    """The lab's flapping tunnel, polled every 0.25 s until `until`: the fibre tunnel to hub1
    (xfrm1) down for 3 s (1.5 s of lost BFD, then BGP's reconnect) every 12 s from 0 s on, four
    times, BGP (and HQ's way back) on hub2 meanwhile; `lte_blip`: hub1's LTE tunnel (xfrm2) down
    from .. to (a BFD session that timed out for a moment, BGP reconnecting), BGP on hub1's
    fibre then."""
    everything = HUB1 | HUB2_BOTH
    hub1_best = withheld_paths(config, routed(everything, HUB1))
    hub2_best = withheld_paths(config, routed(everything - {"100.64.0.0"}, HUB2_BOTH))
    hub1_fibre_only = withheld_paths(config, routed(everything - {"100.64.0.2"}, HUB1 - {"100.64.0.2"}))
    seen: dict[float, str | None] = {}
    for step in range(-20, int(until * 4)):
        now = step / 4
        up = dict.fromkeys(("xfrm1", "xfrm2", "xfrm3", "xfrm4"), True)
        up["xfrm1"] = not any(drop <= now < drop + 3.0 for drop in (0.0, 12.0, 24.0, 36.0))
        up["xfrm2"] = lte_blip is None or not lte_blip[0] <= now < lte_blip[1]
        withheld = hub2_best if not up["xfrm1"] else hub1_best if up["xfrm2"] else hub1_fibre_only
        seen[now] = steering.observe(up, now, withheld)["pos"]
    return seen


def test_one_lte_blip_while_the_fibre_to_the_primary_hub_flaps_is_not_a_hub_outage() -> None:
    """The lab's flapping tunnel to the primary hub, with one spurious drop of hub1's LTE tunnel
    in the middle (its BFD session timing out once on a starved CPU, BGP reconnecting): one blip
    is not hub1 failing on both links. POS keeps off the flapping fibre, to either hub, but for
    the moments hub1's LTE tunnel is down while BGP (and HQ's way back) goes through hub1's
    fibre: the only path that answers then. After the blip it takes hub1's LTE tunnel again,
    not the fibre, though both serve a recovery; and when the fibre drops again, hub2's LTE, not
    hub2's fibre."""
    config = SteeringConfig.parse(LAB_TIMERS)
    calm = _flapping_fibre_to_hub1(Steering(config), config, None)
    assert {link for at, link in calm.items() if at >= 13.0} == {"xfrm2", "xfrm4"}
    seen = _flapping_fibre_to_hub1(Steering(config), config, (30.0, 31.5))
    lte_down = {at for at in seen if 30.0 <= at < 31.5}
    on_fibre = sorted(at for at, link in seen.items() if at >= 13.0 and link in ("xfrm1", "xfrm3") and at not in lte_down)
    assert not on_fibre, f"POS on the flapping fibre at {on_fibre}"
    assert {seen[at] for at in lte_down} <= {"xfrm1", "xfrm2"}  # hub1: the hub HQ answers through
    assert seen[32.0] == seen[35.75] == "xfrm2" and seen[36.0] == seen[38.75] == "xfrm4"


def test_after_the_flapping_pos_returns_to_the_fibre_once_without_a_detour_over_lte() -> None:
    """hub1's LTE tunnel drops with the fibre tunnel's last drop (hub1's outage, as far as the
    store can tell) and is left too: both serve their recovery, none of POS's paths to hub1 (BGP's
    hub) is usable, and POS rides the one up the longest, hub1's LTE, which passes its recovery a
    second before the fibre. POS moves once, back to the fibre when it has passed its recovery;
    taking the fibre first, because it is preferred, sent POS over LTE for that second (it left
    the fibre when LTE passed its recovery) and back again."""
    config = SteeringConfig.parse(LAB_TIMERS)
    seen = _flapping_fibre_to_hub1(Steering(config), config, (36.5, 38.0), until=90.0)
    after = [seen[at] for at in sorted(seen) if at >= 39.0]  # the fibre is up for good from 39 s
    moves = [(a, b) for a, b in pairwise(after) if a != b]
    assert moves == [("xfrm2", "xfrm1")], moves
    assert {link for at, link in seen.items() if 39.0 <= at < 64.0} == {"xfrm2"}  # the fibre's recovery
    assert {link for at, link in seen.items() if at >= 64.0} == {"xfrm1"}


def _browning_fibre(
    config: SteeringConfig, downs: dict[str, list[tuple[float, float]]], until: float
) -> dict[float, str | None]:
    """POS's path, polled every 0.25 s until `until`, with each tunnel down over the spans
    `downs` names (BFD timed out, then BGP reconnecting), and BGP's best path to HQ (and HQ's
    way back) as the lab's hubs rank the tunnels: the fibre before LTE, hub1 first, each
    tunnel while its session is up."""
    peers = {"xfrm1": "100.64.0.0", "xfrm3": "100.64.255.254", "xfrm2": "100.64.0.2", "xfrm4": "100.64.255.252"}
    hub1 = {"xfrm1", "xfrm2"}
    steering = Steering(config)
    seen: dict[float, str | None] = {}
    for step in range(int(until * 4)):
        now = step / 4
        up = {path: not any(start <= now < end for start, end in downs.get(path, ())) for path in peers}
        valid = [path for path in peers if up[path]]
        best_hub = hub1 if valid and valid[0] in hub1 else set(peers) - hub1
        offers = routed(frozenset(peers[p] for p in valid), frozenset(peers[p] for p in valid if p in best_hub))
        seen[now] = steering.observe(up, now, withheld_paths(config, offers))["pos"]
    return seen


def test_a_browning_fibre_stays_left_when_every_bfd_session_times_out_at_once() -> None:
    """30 % loss on the fibre: its tunnels drop at moments of their own, and POS leaves it for
    LTE. Then the loaded appliance's bfdd misses its timers once: every BFD session, LTE's
    too, times out at the same moment, and BGP reconnects over each a second and a half later.
    That looks like both hubs failing on both links at once, but it explains only the drops
    it shares: the fibre kept dropping before it, and still loses 30 %. POS stays on LTE
    (through whichever hub BGP uses); taking every link for clean again put POS back on the
    fibre the moment the sessions returned."""
    config = SteeringConfig.parse(LAB_TIMERS)
    stall = (12.0, 13.5)
    downs = {
        "xfrm3": [(1.0, 2.5), (7.0, 8.5), stall, (19.0, 20.5)],
        "xfrm1": [(4.0, 5.5), stall, (16.0, 17.5)],
        "xfrm2": [stall],
        "xfrm4": [stall],
    }
    seen = _browning_fibre(config, downs, 30.0)
    assert seen[6.0] in ("xfrm2", "xfrm4")  # left the fibre
    on_fibre = sorted(at for at, path in seen.items() if at >= 6.0 and path in ("xfrm1", "xfrm3"))
    assert not on_fibre, f"POS back on the lossy fibre at {on_fibre}"


def test_one_lte_timeout_within_seconds_of_a_fibre_drop_does_not_release_a_browning_fibre() -> None:
    """The fibre tunnel to hub1 keeps dropping (30 % loss on the fibre) and POS rides LTE; a
    loaded appliance's BFD session on hub1's LTE tunnel times out once, two seconds after one
    of the fibre's drops. That pair looks like hub1 failing on both links, but the fibre had
    dropped three times before on its own: POS stays off it, not on hub2's fibre tunnel for
    BGP's moment through hub2. (While hub1's LTE tunnel is down and BGP goes through hub1's
    fibre, that fibre is the one path HQ's answers come back on, and POS takes it: that is
    routing, not the link being trusted again.)"""
    config = SteeringConfig.parse(LAB_TIMERS)
    downs = {
        "xfrm1": [(2.5, 4.5), (5.5, 7.5), (8.0, 9.75), (10.0, 12.5)],
        "xfrm2": [(12.25, 14.5)],
    }
    seen = _browning_fibre(config, downs, 30.0)
    assert seen[5.0] in ("xfrm2", "xfrm4")  # left the fibre
    forced = {at for at in seen if 12.5 <= at < 14.5}  # hub1's LTE down, BGP on hub1's fibre
    on_fibre = sorted(at for at, path in seen.items() if at >= 5.0 and at not in forced and path in ("xfrm1", "xfrm3"))
    assert not on_fibre, f"POS back on the lossy fibre at {on_fibre}"


def test_one_lte_blip_does_not_excuse_the_fibre_dropping_twice() -> None:
    """Each fibre tunnel drops once (the fibre browns out), a second after hub1's LTE tunnel
    blipped once at a moment of its own (back within the hold-down). The blip is not hub1's
    outage, so the fibre tunnel to hub1's drop still counts as the fibre's: the fibre dropped
    twice, and POS leaves it for LTE."""
    config = SteeringConfig.parse(TWO_LINKS)
    steering = Steering(config)
    all_up = dict.fromkeys(("xfrm1", "xfrm2", "xfrm3", "xfrm4"), True)
    downs = {"xfrm2": (8.0, 8.5), "xfrm3": (10.0, 10.5), "xfrm1": (11.5, 12.0)}
    seen = {}
    for now in [step / 4 for step in range(80)]:
        up = {**all_up, **{path: not start <= now < end for path, (start, end) in downs.items()}}
        seen[now] = steering.observe(up, now)["pos"]
    assert seen[11.0] == "xfrm1"  # one drop of each of two tunnels of the fibre: not yet
    assert seen[14.0] == seen[19.75] == "xfrm2"


def _hub1_outage_then_a_fibre_blip_to_hub2(detect_ms: int) -> dict[float, str | None]:
    """hub1 fails at 5.0 and stays down: its fibre tunnel's BFD session (which had already lost
    probes) drops at 5.25, its LTE tunnel's at 9.25, 4 s later, as a class's detection time
    allows; BGP (and HQ's way back) goes through hub2 from the first drop on. At 11.0 the fibre
    tunnel to hub2 drops once for half a second (a BFD session timing out for a moment). Every
    path's BFD detection time is `detect_ms`; polled every 0.25 s."""
    config = SteeringConfig.parse(TWO_LINKS.replace(" hub hub", f" detect-ms {detect_ms} hub hub"))
    steering = Steering(config)
    everything = HUB1 | HUB2_BOTH
    hub1_best = withheld_paths(config, routed(everything, HUB1))
    only_hub2 = withheld_paths(config, routed(HUB2_BOTH, HUB2_BOTH))
    seen: dict[float, str | None] = {}
    for now in [step / 4 for step in range(120)]:
        up = {"xfrm1": now < 5.25, "xfrm2": now < 9.25, "xfrm3": not 11.0 <= now < 11.5, "xfrm4": True}
        seen[now] = steering.observe(up, now, hub1_best if now < 5.25 else only_hub2)["pos"]
    return seen


def test_a_hub_outage_whose_slow_bfd_sessions_drop_seconds_apart_is_the_hubs() -> None:
    """A class of 1000 ms x 5 probes: the hub's two tunnels time out up to 5 s apart. Drops 4 s
    apart are still hub1's outage, not the fibre's: a single blip of the fibre tunnel to hub2
    afterwards is one drop of the fibre, and POS stays on the fibre to hub2, not on LTE. With
    600 ms BFD (200 ms x 3) drops 4 s apart are no outage of one hub: the fibre dropped twice
    within POS's detection time, and POS leaves it for LTE."""
    slow = _hub1_outage_then_a_fibre_blip_to_hub2(5000)
    assert slow[0.0] == "xfrm1"
    # Between the drops nothing tells hub1's outage from the fibre's: once the fibre tunnel to
    # hub1 is left (its hold-down), POS takes LTE, and the fibre again once hub1's LTE tunnel drops.
    assert slow[5.25] == "xfrm3" and slow[7.25] == slow[9.0] == "xfrm4"
    assert {slow[at] for at in slow if at >= 9.25} == {"xfrm3"}, slow
    fast = _hub1_outage_then_a_fibre_blip_to_hub2(600)
    assert fast[10.75] == "xfrm3" and {fast[at] for at in fast if at >= 11.0} == {"xfrm4"}, fast


def test_a_path_line_carries_its_bfd_detection_time() -> None:
    config = SteeringConfig.parse("path xfrm1 100.64.0.0 detect-ms 5000 over wan1\npath xfrm2 100.64.0.2\n")
    assert (config.paths["xfrm1"].detect_ms, config.paths["xfrm1"].transport) == (5000, "wan1")
    assert config.paths["xfrm2"].detect_ms is None
    for bad in ("detect-ms", "detect-ms x", "detect-ms 0", "detect-ms 5 detect-ms 6"):
        with pytest.raises(ValueError, match="line 1"):
            SteeringConfig.parse(f"path xfrm1 100.64.0.0 {bad}\n")


def test_a_path_line_names_its_link_and_reads_its_options_in_any_order() -> None:
    config = SteeringConfig.parse("path xfrm1 100.64.0.0 bgp-only hub hq-hub1 over wan1\npath xfrm2 100.64.0.2\n")
    assert (config.paths["xfrm1"].transport, config.paths["xfrm1"].hub, config.paths["xfrm1"].bgp_only) == (
        "wan1", "hq-hub1", True
    )
    assert config.paths["xfrm2"].transport is None  # no link named: it shares no link's state
    broken_lines = (
        "path xfrm1 100.64.0.0 over", "path xfrm1 100.64.0.0 over wan1 over lte1", "path xfrm1 100.64.0.0 via wan1",
        "path xfrm1 100.64.0.0 hub a hub b",
    )  # fmt: skip
    for broken in broken_lines:
        with pytest.raises(ValueError, match="line 1: cannot read"):
            SteeringConfig.parse(broken + "\n")


def test_with_no_path_up_to_bgps_hub_the_class_follows_bgp_not_the_other_hub() -> None:
    """BGP routes HQ through hub1 (its sessions are up) but the BFD sessions to hub1 are down
    (never came up: that does not hold BGP down). POS may not take hub2's paths, where HQ's
    answers would not come back, nor an unreachable route while BGP has a way: the main table."""
    config = SteeringConfig.parse(ROUTED)
    steering = Steering(config)
    hub1_bfd_down = {"xfrm1": False, "xfrm3": True, "xfrm2": False}
    assert steering.observe(hub1_bfd_down, 0.0, withheld_paths(config, routed(HUB1 | HUB2, HUB1)))["pos"] == UNSTEERED
    # With nothing up at all, nothing: never the main table, whose best path may be one the class
    # may not use.
    nothing = dict.fromkeys(hub1_bfd_down, False)
    assert steering.observe(nothing, 1.0, withheld_paths(config, routed(HUB1 | HUB2, HUB1)))["pos"] is None


def test_a_destination_no_hub_of_the_class_offers_decides_nothing() -> None:
    """No route at all, or only another neighbour's (an AWS tunnel's), or the default route from
    every hub alike: no path is left for it, so the class is never stranded by routing alone."""
    config = SteeringConfig.parse(ROUTED)
    aws = RouteOffer(frozenset({"169.254.0.9"}), frozenset({"169.254.0.9"}))
    assert withheld_paths(config, {"10.0.10.0/24": RouteOffer(), "10.0.11.0/24": aws}) == {}
    # Each hub is BGP's way to one destination: no single path serves the class, and the main
    # table (BGP, per destination) takes it rather than an unreachable route.
    split = {"10.0.10.0/24": RouteOffer(HUB1 | HUB2, HUB1), "10.0.11.0/24": RouteOffer(HUB1 | HUB2, HUB2)}
    assert withheld_paths(config, split) == {"pos": frozenset({"xfrm1", "xfrm2", "xfrm3"})}
    assert Steering(config).observe(ALL_UP, 0.0, withheld_paths(config, split)) == {"pos": UNSTEERED, "bulk": "xfrm1"}


def test_the_rendered_steering_conf_is_the_intents_class_order(fleet: Fleet, tmp_path: Path) -> None:
    store = fleet.store("nw-0001")
    view = ViewBuilder(fleet).store_view(store, store.appliances[0].hostname)
    (rendered,) = render_store(fleet, "nw-0001")
    text = dict(rendered.companions)["steering.conf"]
    path = tmp_path / "steering.conf"
    path.write_text(text)
    assert main(["--config", str(path), "--check"]) == 0
    config = SteeringConfig.parse(text)
    tunnels = {(t.link, t.hub.hostname): t for t in view.tunnels}
    assert config.classes
    for steered in config.classes:
        application = view.intent.sla.application(steered.name)
        assert steered.mark == application.mark and steered.table == application.table
        assert steered.paths == tuple(tunnels[(p.transport, p.hub)].ifname for p in application.paths if p.hub)
        assert (steered.hold_down, steered.recovery) == (
            application.sla.timers.hold_down_seconds,
            application.sla.timers.recovery_seconds,
        )
        for ifname in steered.paths:  # the next hop is the hub's end of that very tunnel
            assert config.paths[ifname].peer == next(t.inside_peer for t in view.tunnels if t.ifname == ifname)
    # Guest Wi-Fi breaks out locally (not steered); bulk never lists a tunnel over LTE, POS does.
    assert "guest" not in {steered.name for steered in config.classes}
    lte = {t.ifname for t in view.tunnels if t.link.startswith("lte")}
    by_name = {steered.name: steered for steered in config.classes}
    assert lte and not set(by_name["bulk"].paths) & lte and set(by_name["pos"].paths) & lte


def test_a_path_to_a_hub_without_bfd_is_judged_by_its_bgp_session() -> None:
    config = SteeringConfig.parse(
        "path xfrm1 100.64.0.0 bgp-only\npath xfrm2 100.64.0.2\n"
        "class pos 0x5102 5102 hold-down 2 detection 10 recovery 30 via xfrm1 xfrm2\n"
    )
    assert config.paths["xfrm1"].bgp_only and not config.paths["xfrm2"].bgp_only
    # Before the first push FRR knows neither path: the main table decides.
    assert paths_up(config, {}, {}) == {}
    # xfrm1's hub answers no BFD: its established BGP session is what makes it up. xfrm2 needs
    # its BFD session (up only with BGP established: FrrSource folds that in).
    both = paths_up(config, {"100.64.0.2": False}, {"100.64.0.0": True, "100.64.0.2": True})
    assert both == {"xfrm1": True, "xfrm2": False}
    # A BFD session to the bgp-only peer (none is configured, but one could linger) is not asked.
    assert paths_up(config, {"100.64.0.0": True}, {"100.64.0.0": False}) == {"xfrm1": False}
    steering = Steering(config)
    fibre_bgp_down = paths_up(config, {"100.64.0.2": True}, {"100.64.0.0": False})
    assert steering.observe(paths_up(config, {"100.64.0.2": True}, {"100.64.0.0": True}), 0.0) == {"pos": "xfrm1"}
    assert steering.observe(fibre_bgp_down, 1.0) == {"pos": "xfrm1"}  # within POS's 2 s hold-down
    assert steering.observe(fibre_bgp_down, 3.5) == {"pos": "xfrm2"}
    with pytest.raises(ValueError, match="line 1: cannot read"):
        SteeringConfig.parse("path xfrm1 100.64.0.0 bfd-only\n")


def test_an_frr_store_runs_no_bfd_towards_ios_xe_hubs_and_steers_by_bgp_there(fleet: Fleet) -> None:
    """An IOS-XE hub runs no BFD on its FlexVPN virtual-access interfaces: an FRR store's BFD
    session towards it would stay down, and steering would never use that hub."""
    (towards_xe,) = render_store(on_platform(fleet, "frr", hubs="cisco_xe"), "nw-0001")
    assert " bfd" not in towards_xe.text and "\nbfd\n" not in towards_xe.text
    config = SteeringConfig.parse(dict(towards_xe.companions)["steering.conf"])
    assert config.classes and all(path.bgp_only for path in config.paths.values())
    (towards_frr,) = render_store(on_platform(fleet, "frr", hubs="frr"), "nw-0001")
    assert "\nbfd\n" in towards_frr.text
    paths = SteeringConfig.parse(dict(towards_frr.companions)["steering.conf"]).paths.values()
    assert paths and not any(path.bgp_only for path in paths)


def _bfd_detection_ms(frr_conf: str) -> dict[str, int]:
    """Per BFD peer address in a rendered frr.conf, its profile's interval x multiplier (FRR's
    defaults, 300 ms x 3, where the profile leaves them out)."""
    profiles: dict[str, dict[str, int]] = {}
    peers: dict[str, str] = {}
    profile = peer = None
    for line in frr_conf.splitlines():
        words = line.split()
        if line.startswith(" profile "):
            profile, peer = words[1], None
            profiles[profile] = {"transmit-interval": 300, "detect-multiplier": 3}
        elif line.startswith(" peer "):
            peer, profile = words[1], None
        elif profile and words and words[0] in profiles[profile]:
            profiles[profile][words[0]] = int(words[1])
        elif peer and words[:1] == ["profile"]:
            peers[peer] = words[1]
    return {
        address: profiles[name]["transmit-interval"] * profiles[name]["detect-multiplier"]
        for address, name in peers.items()
    }


def test_each_steered_path_carries_the_detection_time_of_the_bfd_its_tunnel_runs(fleet: Fleet) -> None:
    """A store whose POS and voice classes probe every 2 s: bfdd times its tunnels out after 6 s,
    not 0.6 s, and steering.conf says so per path (what `hub_outage_spread` reads). Towards
    IOS-XE hubs (no BFD) a path goes down with its BGP session: its hold time."""
    store = fleet.stores["nw-0001"]
    slow = {
        name: fleet.spec.sla.classes[name].model_copy(update={"probe_interval_ms": 2000}) for name in ("strict", "realtime")
    }
    sla = store.sla.model_copy(update={"classes": {**store.sla.classes, **slow}})
    slow_fleet = Fleet(fleet.spec, fleet.hubs, {**fleet.stores, store.id: store.model_copy(update={"sla": sla})}, fleet.root)
    (rendered,) = render_store(on_platform(slow_fleet, "frr", hubs="frr"), "nw-0001")
    bfd = _bfd_detection_ms(rendered.text)
    paths = SteeringConfig.parse(dict(rendered.companions)["steering.conf"]).paths.values()
    assert paths and {path.peer: path.detect_ms for path in paths} == {path.peer: bfd[path.peer] for path in paths}
    assert min(bfd[path.peer] for path in paths) > 3000, bfd
    (towards_xe,) = render_store(on_platform(slow_fleet, "frr", hubs="cisco_xe"), "nw-0001")
    # ` neighbor A timers KEEPALIVE HOLD` of each hub session
    timers = [line.split()[3:] for line in towards_xe.text.splitlines() if line.split()[2:3] == ["timers"]]
    (hold_s,) = {int(hold) for keepalive, hold in (pair for pair in timers if pair[0] != "connect")}
    paths = SteeringConfig.parse(dict(towards_xe.companions)["steering.conf"]).paths.values()
    assert paths and {path.detect_ms for path in paths} == {hold_s * 1000}


@pytest.mark.parametrize("platform", ["huawei_vrp", "fortinet"])
def test_vendor_stores_run_no_bfd_towards_ios_xe_hubs(fleet: Fleet, platform: str) -> None:
    (towards_xe,) = render_store(on_platform(fleet, platform, hubs="cisco_xe"), "nw-0001")  # type: ignore[arg-type]
    (towards_frr,) = render_store(on_platform(fleet, platform, hubs="frr"), "nw-0001")  # type: ignore[arg-type]
    per_peer = "bfd enable" if platform == "huawei_vrp" else "\n        set bfd-desired-min-tx"  # an interface's
    assert per_peer not in towards_xe.text and per_peer in towards_frr.text
    if platform == "fortinet":  # nor on a BGP neighbour (the global `set bfd enable` may stay)
        neighbours = towards_xe.text.split("config neighbor", 1)[1].split("\n    end", 1)[0]
        assert "set bfd enable" not in neighbours


def test_a_path_towards_an_ios_xe_hub_goes_down_after_the_negotiated_hold_time(fleet: Fleet) -> None:
    """Without BFD (an IOS-XE hub runs none towards stores) a path goes down when its BGP session
    does: after the hold time the two ends negotiated, the smaller of each end's configured one
    (RFC 4271 4.2; FRR bgpd `bgp_open_receive`: `peer->v_holdtime` is the smaller of the OPEN's
    and its own). `detect-ms` is that, read from both rendered ends: the store's `neighbor X
    timers` and the hub's for the store's address (its own line or its peer group's)."""
    from storestack.devices.render import render_hub

    chain = on_platform(fleet, "frr", hubs="cisco_xe")
    (store,) = render_store(chain, "nw-0001")
    config = SteeringConfig.parse(dict(store.companions)["steering.conf"])
    own: dict[str, str] = {}  # tunnel interface -> the store's address on it
    store_hold: dict[str, int] = {}  # hub inside address -> the store's hold time towards it
    ifname = None
    for line in store.text.splitlines():
        words = line.split()
        if line.startswith("interface "):
            ifname = words[1]
        elif ifname and words[:2] == ["ip", "address"]:
            own[ifname] = words[2].split("/")[0]
        elif words[:1] == ["neighbor"] and words[2:3] == ["timers"] and words[3] != "connect":
            store_hold[words[1]] = int(words[4])
    hub_hold: dict[str, dict[str, int]] = {}  # hub -> neighbour or peer group -> hold time
    groups: dict[str, dict[str, str]] = {}
    for path in config.paths.values():
        assert path.hub is not None
        if path.hub in hub_hold:
            continue
        hub_hold[path.hub], groups[path.hub] = {}, {}
        for line in render_hub(chain, path.hub).text.splitlines():
            words = line.split()
            if words[:1] == ["neighbor"] and words[2:3] == ["timers"] and words[3] != "connect":
                hub_hold[path.hub][words[1]] = int(words[4])
            elif words[:1] == ["neighbor"] and words[2:3] == ["peer-group"] and len(words) == 4:
                groups[path.hub][words[1]] = words[3]
    assert config.paths
    for ifname, path in config.paths.items():
        assert path.bgp_only and path.hub is not None
        address = own[ifname]
        # IOS-XE's default (180 s) where neither the neighbour nor its group sets one.
        hub = hub_hold[path.hub].get(address) or hub_hold[path.hub].get(groups[path.hub][address], 180)
        assert path.detect_ms == 1000 * min(store_hold[path.peer], hub), (ifname, path)
