"""An FRR push reports a BGP neighbour whose BFD registration bgpd lost (FRR 8.4 lib/bfd.c sends it
once: a registration sent while bgpd's zebra connection was down is never retried), so BFD would
not take that session down: bfdd runs the session up while bgpd shows its BFD status "Unknown"."""

from __future__ import annotations

import json

from storestack.devices.drivers import driver_for
from storestack.devices.health import (
    findings,
    parse_snapshot,
    snapshot_commands,
    unregistered_bfd,
)

STORE_TUNNEL = "100.64.0.1"
OTHER = "100.64.255.253"
DC = "10.0.0.1"


def _neighbors(statuses: dict[str, str | None]) -> str:
    """`show bgp neighbors json`: a neighbour without BFD has no peerBfdInfo."""
    data: dict[str, dict[str, object]] = {}
    for address, status in statuses.items():
        data[address] = {"remoteAs": 4200000000, "bgpState": "Established"}
        if status is not None:
            data[address]["peerBfdInfo"] = {"type": "single hop", "status": status, "lastUpdate": "0:00:00:01"}
    return json.dumps(data)


def _bfd(statuses: dict[str, str]) -> str:
    return json.dumps(
        [
            {"multihop": False, "peer": address, "local": "100.64.0.0", "vrf": "default", "interface": "nw-0001-wan1",
             "status": status}
            for address, status in statuses.items()
        ]
    )


def _outputs(neighbors: str, bfd: str) -> list[str]:
    summary = json.dumps({"ipv4Unicast": {"as": 65000, "peers": {STORE_TUNNEL: {"state": "Established"}}}})
    interfaces = json.dumps({"nw-0001-wan1": {"operationalStatus": "up"}})
    return [summary, interfaces, neighbors, bfd]


def test_frr_push_reads_bgpd_and_bfdd_side_by_side() -> None:
    assert snapshot_commands(driver_for("frr")) == [
        "show bgp summary json",
        "show interface json",
        "show bgp neighbors json",
        "show bfd peers json",
    ]


def test_a_session_bfdd_runs_up_that_bgpd_shows_unknown_is_unregistered() -> None:
    neighbors = _neighbors({STORE_TUNNEL: "Unknown", OTHER: "Up", DC: None})
    bfd = _bfd({STORE_TUNNEL: "up", OTHER: "up"})
    assert unregistered_bfd(neighbors, bfd) == [STORE_TUNNEL]


def test_unknown_while_bfdd_is_not_up_yet_is_no_lost_registration() -> None:
    # A new session: bfdd answers the registration with its state (down), bgpd shows Down; an
    # Unknown beside a session bfdd does not have up says nothing about the registration.
    neighbors = _neighbors({STORE_TUNNEL: "Unknown", OTHER: "Down"})
    bfd = _bfd({STORE_TUNNEL: "down", OTHER: "down"})
    assert unregistered_bfd(neighbors, bfd) == []


def test_the_push_reports_a_registration_lost_by_the_change() -> None:
    driver = driver_for("frr")
    before = parse_snapshot(
        driver, _outputs(_neighbors({STORE_TUNNEL: "Up", OTHER: "Up"}), _bfd({STORE_TUNNEL: "up", OTHER: "up"}))
    )
    after = parse_snapshot(
        driver, _outputs(_neighbors({STORE_TUNNEL: "Unknown", OTHER: "Up"}), _bfd({STORE_TUNNEL: "up", OTHER: "up"}))
    )
    problems = findings(before, after, must_establish=set())
    assert len(problems) == 1
    assert STORE_TUNNEL in problems[0] and "never registered" in problems[0]
    # Lost before the push already: not this change's doing, so the push is not failed for it.
    assert findings(after, after, must_establish=set()) == []
