"""The order an IOS-XE remediation sends track objects, IP SLA operations and the lines that name
them in.

The running and intended configs are the rendered dual-WAN store (its golden file) with the
steering that a push removes, adds or changes taken out or put in. A line that names track N
(a tracked static route, a route-map's `set ip next-hop verify-availability … track N`, a track
list's `object N`, an EEM applet's `action … track set N`) is removed before `no track N`, and
sent after `track N` is defined. An IP SLA operation goes after the track that follows it, with
its reaction configuration and schedule (`no ip sla N` removes them), and a changed one is
deleted and defined again whole: IOS refuses to change a scheduled operation in place.
"""

from __future__ import annotations

import re
from pathlib import Path

from testsupport.rendering import config_without

from storestack.devices.configdiff import compute_diff, remediation_lines
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.models import EmulatedDevice
from storestack.lab.emulator.profiles.cisco_xe import IosSession

GOLDEN = (Path(__file__).parent / "golden" / "cisco_xe" / "dual-wan.cfg").read_text(encoding="utf-8")


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
    intended = config_without(GOLDEN, _naming(500))
    sent = _sent(GOLDEN, intended)
    route = sent.index("no ip route 198.18.255.254 255.255.255.255 Null0 track 500")
    assert route < sent.index("no track 500 list boolean and")


def test_a_removed_track_goes_after_every_line_that_names_it() -> None:
    """One path of the realtime class goes away: its steering track 443 is named by a route, a
    route-map next hop and the "none" track list 500, which stays. Each of them lets go of 443
    before 443 is removed."""
    sent = _sent(GOLDEN, config_without(GOLDEN, _naming(443)))
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
    intended = config_without(GOLDEN, rf"{_naming(111)}|^event manager applet SLA11-PACKETLOSSSD-")
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
    list_413 = (
        "track 413 list boolean and\n object 13\n object 113\n object 213\n object 313\n object 601\n delay down 2 up 30\n"
    )
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
    assert sent[defined + 1 : defined + 7] == [
        "object 13",
        "object 113",
        "object 213",
        "object 313",
        "object 601",
        "delay down 2 up 30",
    ]
    assert defined < sent.index("set ip next-hop verify-availability 100.64.0.4 1 track 413")
    assert defined < sent.index("ip route 198.18.255.1 255.255.255.255 Null0 track 413")
    assert not any("object 413" in line for line in sent)


def test_an_added_track_goes_before_the_lines_that_name_it() -> None:
    """The realtime class gains a path (the reverse of the removal above): track 443 is defined
    before the list, the route-map and the route name it; the rollback of the removal does the same."""
    running = config_without(GOLDEN, _naming(443))
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


def _probe(number: int) -> str:
    """Every line of IP SLA probe `number` (`sla_probes`): the operation, its reaction
    configuration and schedule, its state, stub and steering tracks, the stubs' EEM applets and
    the lines that name its tracks."""
    tracks = [number, *(100 * stub + number for stub in (1, 2, 3, 4))]
    return "|".join(
        [rf"^ip sla (?:reaction-configuration |schedule )?{number}\b", rf"^event manager applet SLA{number}-"]
        + [_naming(track) for track in tracks]
    )


# Probe 43 (realtime over the LTE link) with a higher rtt threshold: the operation's `threshold`
# and its rtt reaction both change.
PROBE_43 = (
    "ip sla 43\n udp-jitter 100.64.255.248 50503 source-ip 100.64.255.249 num-packets 100 interval 90\n"
    " tag realtime\n threshold 150\n"
)
RTT_43 = "ip sla reaction-configuration 43 react rtt threshold-value 150 150 "


def _threshold_raised() -> str:
    assert PROBE_43 in GOLDEN and RTT_43 in GOLDEN
    return GOLDEN.replace(PROBE_43, PROBE_43.replace("threshold 150", "threshold 200")).replace(
        RTT_43, RTT_43.replace("150 150", "200 200")
    )


def test_a_removed_probe_is_removed_by_no_ip_sla_alone_after_its_track() -> None:
    """`no ip sla 43` removes the operation's reaction configuration and schedule with it: their
    own negations are not sent (after it the device would refuse them), and it goes once the
    track that follows it is gone."""
    sent = _sent(GOLDEN, config_without(GOLDEN, _probe(43)))
    assert [line for line in sent if "ip sla" in line] == ["no track 43 ip sla 43 state", "no ip sla 43"]
    assert sent.index("no track 443 list boolean and") < sent.index("no track 43 ip sla 43 state")


def test_a_changed_probe_is_deleted_and_defined_again_with_its_reactions_and_schedule() -> None:
    """IOS refuses `ip sla 43` while the operation is scheduled: the remediation deletes it, sends
    the whole new block, then every reaction configuration line and the schedule (`no ip sla 43`
    removed the unchanged ones too). The track that follows it is not touched."""
    intended = _threshold_raised()
    sent = _sent(GOLDEN, intended)
    block = [line.strip() for line in intended.split("ip sla 43\n", 1)[1].split("ip sla reaction", 1)[0].splitlines()]
    parts = [line for line in intended.splitlines() if re.match(r"ip sla (reaction-configuration|schedule) 43 ", line)]
    assert len(block) == 6 and len(parts) == 5
    assert sent == ["no ip sla 43", "ip sla 43", *block, "exit", *parts]
    # A router that shows the operation's lines in another order holds the same operation.
    tos_first = PROBE_43.replace(" tag realtime\n", " tos 184\n tag realtime\n")
    shown = GOLDEN.replace(PROBE_43, tos_first).replace(" frequency 10\n tos 184\nip sla reaction-configuration 43", " frequency 10\nip sla reaction-configuration 43")
    assert shown != GOLDEN and _sent(shown, GOLDEN) == []
    # The rollback puts the old operation back the same way.
    rollback = [line.strip() for line in compute_diff(GOLDEN, intended, "cisco_xe").rollback]
    assert rollback[:2] == ["no ip sla 43", "ip sla 43"]
    assert rollback[-5:] == [line for line in GOLDEN.splitlines() if re.match(r"ip sla (reaction-configuration|schedule) 43 ", line)]


def test_a_probe_remediation_applied_leaves_nothing_to_send() -> None:
    """Applied on an IOS-XE that removes an operation's reaction configuration and schedule with
    it (the emulator), the remediation of a removed probe and of a changed one leaves the running
    config as intended: drift finds nothing more to send."""
    for intended in (config_without(GOLDEN, _probe(43)), _threshold_raised()):
        device = DeviceState(EmulatedDevice(name="store", platform="cisco_xe", running_config=GOLDEN))
        session = IosSession(device)
        session.handle("configure terminal")
        remediation = compute_diff(GOLDEN, intended, "cisco_xe").remediation
        refused = [(line, output) for line in remediation if (output := session.handle(line).output)]
        assert refused == []
        session.handle("end")
        assert compute_diff(device.running_text(), intended, "cisco_xe").in_sync
