"""The order an IOS-XE remediation sends track objects and the lines that name them in.

The running and intended configs are the rendered dual-WAN store (its golden file) with the
steering that a push removes, adds or changes taken out or put in. A line that names track N
(a tracked static route, a route-map's `set ip next-hop verify-availability … track N`, a track
list's `object N`, an EEM applet's `action … track set N`) is removed before `no track N`, and
sent after `track N` is defined.
"""

from __future__ import annotations

import re
from pathlib import Path

from storestack.devices.configdiff import compute_diff, remediation_lines

GOLDEN = (Path(__file__).parent / "golden" / "cisco_xe" / "dual-wan.cfg").read_text(encoding="utf-8")


def _without(config: str, pattern: str) -> str:
    """`config` without the lines matching `pattern`; a top-level line goes with its block."""
    kept: list[str] = []
    dropping = False
    for line in config.splitlines():
        if not line[:1].isspace():
            dropping = re.search(pattern, line) is not None
        if dropping or re.search(pattern, line):
            continue
        kept.append(line)
    return "\n".join(kept) + "\n"


def _naming(track: int) -> str:
    """Every line that names track `track`, its definition included."""
    return rf"\btrack (?:set )?{track}\b|^ object {track}\b"


def _sent(running: str, intended: str) -> list[str]:
    diff = compute_diff(running, intended, "cisco_xe")
    # push and drift send compute_diff's remediation; the push's own checks the cheaper one.
    assert remediation_lines(running, intended, "cisco_xe") == diff.remediation
    return [line.strip() for line in diff.remediation]


def test_a_removed_track_goes_after_the_tracked_route_that_names_it() -> None:
    """The store loses its return signals: `no track 500` only once no route names it."""
    intended = _without(GOLDEN, _naming(500))
    sent = _sent(GOLDEN, intended)
    route = sent.index("no ip route 198.18.255.254 255.255.255.255 Null0 track 500")
    assert route < sent.index("no track 500 list boolean and")


def test_a_removed_track_goes_after_every_line_that_names_it() -> None:
    """One path of the realtime class goes away: its steering track 443 is named by a route, a
    route-map next hop and the "none" track list 500, which stays. Each of them lets go of 443
    before 443 is removed."""
    sent = _sent(GOLDEN, _without(GOLDEN, _naming(443)))
    removed = sent.index("no track 443 list boolean and")
    list_object = sent.index("no object 443 not")
    assert sent[:list_object][-1] == "track 500 list boolean and"  # inside the list that stays
    assert list_object < removed
    assert sent.index("no set ip next-hop verify-availability 100.64.255.248 3 track 443") < removed
    assert sent.index("no ip route 198.18.255.4 255.255.255.255 Null0 track 443") < removed
    # Nothing else that names a track is removed for it.
    assert [line for line in sent if line.startswith("no ") and "track" in line and "443" not in line] == []


def test_a_removed_stub_track_goes_after_its_applets_and_its_list_object() -> None:
    """A reaction stub goes away: the EEM applets that set it and the steering list's `object`
    let go of it first."""
    intended = _without(GOLDEN, rf"{_naming(111)}|^event manager applet SLA11-PACKETLOSSSD-")
    sent = _sent(GOLDEN, intended)
    removed = sent.index("no track 111 stub-object")
    assert sent.index("no event manager applet SLA11-PACKETLOSSSD-BREACH") < removed
    assert sent.index("no event manager applet SLA11-PACKETLOSSSD-CLEAR") < removed
    assert sent.index("no object 111") < removed


def test_a_track_of_another_type_is_removed_then_defined_again_before_what_changes_to_name_it() -> None:
    """Track 413 was an IP SLA state track and becomes a list: a track's type cannot change in
    place, so it is removed and defined again. The old route naming it and the route-map next hop
    that moves go before `no track 413`; the new route and next hop after the new definition;
    what names 413 and does not change (track list 500's `object 413 not`) is not touched."""
    list_413 = "track 413 list boolean and\n object 13\n object 113\n object 213\n object 313\n delay down 2 up 30\n"
    assert list_413 in GOLDEN
    running = GOLDEN.replace(list_413, "track 413 ip sla 13 state\n")
    running = running.replace(
        "ip route 198.18.255.1 255.255.255.255 Null0 track 413", "ip route 198.18.255.9 255.255.255.255 Null0 track 413"
    )
    running = running.replace(
        " set ip next-hop verify-availability 100.64.0.4 1 track 413\n set ip next-hop verify-availability 100.64.255.250 2 track 433\n",
        " set ip next-hop verify-availability 100.64.255.250 1 track 433\n set ip next-hop verify-availability 100.64.0.4 2 track 413\n",
    )
    sent = _sent(running, GOLDEN)

    removed = sent.index("no track 413 ip sla 13 state")
    defined = sent.index("track 413 list boolean and")
    assert sent.index("no ip route 198.18.255.9 255.255.255.255 Null0 track 413") < removed
    assert sent.index("no set ip next-hop verify-availability 100.64.0.4 2 track 413") < removed
    assert removed < defined
    assert sent[defined + 1 : defined + 6] == ["object 13", "object 113", "object 213", "object 313", "delay down 2 up 30"]
    assert defined < sent.index("set ip next-hop verify-availability 100.64.0.4 1 track 413")
    assert defined < sent.index("ip route 198.18.255.1 255.255.255.255 Null0 track 413")
    assert not any("object 413" in line for line in sent)


def test_an_added_track_goes_before_the_lines_that_name_it() -> None:
    """The realtime class gains a path (the reverse of the removal above): track 443 is defined
    before the list, the route-map and the route name it; the rollback of the removal does the same."""
    running = _without(GOLDEN, _naming(443))
    sent = _sent(running, GOLDEN)
    defined = sent.index("track 443 list boolean and")
    assert defined < sent.index("object 443 not")
    assert defined < sent.index("set ip next-hop verify-availability 100.64.255.248 3 track 443")
    assert defined < sent.index("ip route 198.18.255.4 255.255.255.255 Null0 track 443")

    rollback = [line.strip() for line in compute_diff(GOLDEN, running, "cisco_xe").rollback]
    assert rollback.index("track 443 list boolean and") < rollback.index("object 443 not")
    assert rollback.index("track 443 list boolean and") < rollback.index(
        "ip route 198.18.255.4 255.255.255.255 Null0 track 443"
    )
