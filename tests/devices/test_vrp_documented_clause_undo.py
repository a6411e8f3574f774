"""A push (and its rollback) that drops or changes a traffic behavior's DSCP re-mark or a
route-policy node's `apply` clause deletes it in the form Huawei documents, the keyword alone,
never the line negated whole with its value, nor (a re-mark) without the `dscp` it deletes.

AR V300R021 command reference (EDOC1100203224), "apply as-path": `undo apply as-path`. Huawei
campus V200R022C10 command reference (EDOC1100325914), "apply local-preference": `undo apply
local-preference`; "apply preferred-value": `undo apply preferred-value`; "remark dscp" (traffic
behavior view): `undo remark dscp`. An IKE peer's DPD mode likewise: AR500, AR510, and AR530
V200R007 Commands Reference (EDOC1000097293), "dpd type" (IKE peer view): `undo dpd type`; and
its DPD timers by their keyword alone: Huawei HiSecEngine USG command reference, "dpd" (IKE peer
view): `undo dpd { idle-time | retransmit-interval | retry-limit }`. A tunnel's MTU and TCP MSS,
and an IPsec profile's SA lifetime, by their keyword alone too: CloudEngine command reference,
"mtu (MTI view)": `undo mtu`; NetEngine 8000 F1A command reference, "tcp adjust-mss": `undo tcp
adjust-mss`; "sa duration" (IPsec profile view): `undo sa duration { time-based | traffic-based
}`. A segment's DHCP lease, a BGP session's prefix limit, BGP's preferences and an NQA test's
parameters likewise: AR command reference (EDOC1100064351), "dhcp server lease": `undo dhcp
server lease`; CloudEngine command reference, "peer route-limit": `undo peer { group-name |
ipv4-address } route-limit`, "preference (BGP)": `undo preference`, and NQA view "probe-count",
"frequency", "interval (NQA view)", "timeout", "fail-percent": `undo probe-count` and so on. An
IKE proposal's SA lifetime and the route-policy notification delay as well: NetEngine 8000 F1A
command reference, "sa duration (ike-proposal)": `undo sa duration`; CloudEngine command
reference, "route-policy-change notify-delay": `undo route-policy-change notify-delay`. The
emulated AR takes them and then holds what was intended."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from testsupport.emulator_push import send_to_vrp, vrp_immediate_with

from storestack.devices.configdiff import compute_diff
from storestack.devices.secret_ledger import HELD_AS_SENT

GOLDEN = Path(__file__).parent / "golden" / "huawei_vrp"
CLAUSE_UNDO = re.compile(
    r"^undo (?:remark|apply (?:as-path|local-preference|preferred-value)|dpd (?:type|idle-time|retransmit-interval|retry-limit)"
    r"|mtu|tcp adjust-mss|sa duration|dhcp server lease|peer \S+ route-limit|preference"
    r"|probe-count|interval|timeout|frequency|fail-percent|route-policy-change notify-delay)\b"
)


def _changed(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _clause_undos(lines: tuple[str, ...]) -> set[str]:
    return {text for line in lines if CLAUSE_UNDO.match(text := line.strip())}


def _stray_undo(text: str) -> list[str]:
    """Deletions the AR kept as lines (nothing of that text to delete)."""
    return re.findall(
        r"^\s*undo (?:mtu|tcp adjust-mss|sa duration|dhcp server lease|peer \S+ route-limit|preference|route-policy-change)\b.*$",
        text,
        re.M,
    )


def _section(text: str, header: str) -> str:
    found = re.search(rf"^{re.escape(header)}\n((?: .*\n)*)", text, re.M)
    assert found is not None, header
    return found.group(1)


@contextmanager
def _pushed(
    before: str, intended: str, undos: set[str], *appliance: str, rollback: set[str] | None = None
) -> Iterator[str]:
    """Push `before` -> `intended` to an emulated AR, its clause deletions exactly `undos` and the
    rollback's exactly `rollback` (by default the same); the body reads the configuration the push
    left, and then the push must be in sync with what was intended, and after the rollback the
    AR with what ran before."""
    device, session = vrp_immediate_with(before, *appliance)
    running = device.running_text()
    diff = compute_diff(running, intended, "huawei_vrp")
    assert _clause_undos(diff.remediation) == undos
    assert _clause_undos(diff.rollback) == (undos if rollback is None else rollback)
    send_to_vrp(session, diff.remediation)
    now = device.running_text()
    yield now
    assert compute_diff(now, intended, "huawei_vrp", held=HELD_AS_SENT).in_sync
    send_to_vrp(session, diff.rollback)
    assert compute_diff(device.running_text(), running, "huawei_vrp", held=HELD_AS_SENT).in_sync


def test_a_hubs_changed_apply_clauses_are_deleted_by_their_keyword_alone() -> None:
    before = (GOLDEN / "hub.cfg").read_text()
    intended = _changed(before, " apply preferred-value 32769\n", "")
    intended = _changed(intended, " if-match ip-prefix STORE-nw-0001\n apply local-preference 200\n", " if-match ip-prefix STORE-nw-0001\n")
    with _pushed(before, intended, {"undo apply preferred-value", "undo apply local-preference"}, "hq-hub1", rollback=set()):
        pass


def test_a_stores_changed_remark_and_as_path_are_deleted_in_their_documented_form() -> None:
    before = (GOLDEN / "mall-guest.cfg").read_text()
    intended = _changed(before, "traffic behavior MARK-POS\n remark dscp af31\n", "traffic behavior MARK-POS\n remark dscp cs3\n")
    intended = _changed(intended, " apply as-path 4200000002 4200000002 additive\n", " apply as-path 4200000002 additive\n")
    intended = _changed(intended, " if-match ip-prefix STORE-PREFIXES\n apply as-path 4200000002 additive\n", " if-match ip-prefix STORE-PREFIXES\n")
    with _pushed(before, intended, {"undo remark dscp", "undo apply as-path"}):
        pass


def test_an_ike_peers_changed_dpd_mode_is_deleted_by_its_keyword_alone() -> None:
    before = (GOLDEN / "mall-guest.cfg").read_text()
    peer = " remote-address 203.0.113.11\n dpd type periodic\n"
    intended = _changed(before, peer, peer.replace("periodic", "on-demand"))
    with _pushed(before, intended, {"undo dpd type"}) as now:
        held_peer = _section(now, "ike peer HUB-1")
        assert " dpd type on-demand\n" in held_peer and " dpd type periodic\n" not in held_peer


def test_an_ike_peers_changed_dpd_timers_are_deleted_by_their_keyword_alone() -> None:
    before = (GOLDEN / "mall-guest.cfg").read_text()
    timers = " dpd idle-time 10\n dpd retransmit-interval 10\n dpd retry-limit 3\n"
    intended = _changed(before, timers, " dpd idle-time 20\n dpd retransmit-interval 5\n dpd retry-limit 4\n")
    with _pushed(before, intended, {"undo dpd idle-time", "undo dpd retransmit-interval", "undo dpd retry-limit"}) as now:
        held_peer = _section(now, "ike peer HUB-1")
        assert " dpd idle-time 20\n dpd retransmit-interval 5\n dpd retry-limit 4\n" in held_peer
        assert " dpd idle-time 10\n" not in held_peer


def test_a_tunnels_changed_mtu_and_mss_are_deleted_by_their_keyword_alone() -> None:
    before = (GOLDEN / "dual-wan.cfg").read_text()
    # wan1's carrier MTU lowered: its tunnels' MTU and MSS with it (network/crypto.py tunnel_mtu).
    intended = before.replace(" mtu 1432\n", " mtu 1400\n").replace(" tcp adjust-mss 1392\n", " tcp adjust-mss 1360\n")
    assert intended.count(" mtu 1400\n") == 2
    with _pushed(before, intended, {"undo mtu", "undo tcp adjust-mss"}) as now:
        tunnel = _section(now, "interface Tunnel0/0/1")
        assert " mtu 1400\n" in tunnel and " tcp adjust-mss 1360\n" in tunnel
        assert " mtu 1432\n" not in tunnel and " tcp adjust-mss 1392\n" not in tunnel and not _stray_undo(now)


def test_an_ipsec_profiles_changed_sa_lifetime_is_deleted_by_its_keyword_alone() -> None:
    before = (GOLDEN / "dual-wan.cfg").read_text()
    intended = before.replace(" sa duration time-based 3600\n", " sa duration time-based 1800\n")
    with _pushed(before, intended, {"undo sa duration time-based"}) as now:
        assert _section(now, "ipsec profile HUB-1").endswith(" sa duration time-based 1800\n")
        assert " sa duration time-based 3600\n" not in now and not _stray_undo(now)


def test_a_guest_segments_changed_dhcp_lease_is_deleted_by_its_keyword_alone() -> None:
    before = (GOLDEN / "mall-guest.cfg").read_text()
    intended = _changed(before, " dhcp server lease day 0 hour 1 minute 0\n", " dhcp server lease day 0 hour 4 minute 0\n")
    with _pushed(before, intended, {"undo dhcp server lease"}) as now:
        guest = _section(now, "interface GigabitEthernet0/0/0.140")
        assert " dhcp server lease day 0 hour 4 minute 0\n" in guest and "hour 1 minute" not in guest and not _stray_undo(now)


def test_a_hubs_changed_prefix_limits_and_preferences_are_deleted_by_their_keyword_alone() -> None:
    before = (GOLDEN / "hub.cfg").read_text()
    # A store added to the fleet: the other hub may announce more (network/model.py PrefixLimit).
    intended = _changed(before, "  peer 10.0.0.4 route-limit 5206 idle-timeout 5\n", "  peer 10.0.0.4 route-limit 5240 idle-timeout 5\n")
    intended = _changed(intended, "  peer STORES-WIRED route-limit 20 idle-timeout 5\n", "  peer STORES-WIRED route-limit 24 idle-timeout 5\n")
    intended = _changed(intended, "  preference 20 200 200\n", "  preference 20 200 150\n")
    undos = {"undo peer 10.0.0.4 route-limit", "undo peer STORES-WIRED route-limit", "undo preference"}
    with _pushed(before, intended, undos, "hq-hub1") as now:
        assert "  peer 10.0.0.4 route-limit 5240 idle-timeout 5\n" in now and "route-limit 5206" not in now
        assert "  peer STORES-WIRED route-limit 24 idle-timeout 5\n" in now and not _stray_undo(now)


def test_a_guest_gateway_tests_changed_parameters_are_deleted_by_their_keyword_alone() -> None:
    before = (GOLDEN / "mall-guest.cfg").read_text()
    old = " probe-count 3\n interval seconds 2\n timeout 1\n frequency 10\n fail-percent 50\n"
    intended = _changed(before, old, " probe-count 4\n interval seconds 3\n timeout 2\n frequency 20\n fail-percent 75\n")
    undos = {"undo probe-count", "undo interval", "undo timeout", "undo frequency", "undo fail-percent"}
    with _pushed(before, intended, undos) as now:
        test = _section(now, "nqa test-instance storestack guest_gateway")
        assert " probe-count 4\n" in test and " interval seconds 3\n" in test and " fail-percent 75\n" in test
        assert test.endswith(" start now\n") and "undo" not in test


def test_an_ike_proposals_lifetime_and_the_policy_notify_delay_are_deleted_by_their_keyword_alone() -> None:
    before = (GOLDEN / "hub.cfg").read_text()
    intended = _changed(before, " sa duration 28800\n", " sa duration 14400\n")
    intended = _changed(intended, "route-policy-change notify-delay 180\n", "route-policy-change notify-delay 120\n")
    with _pushed(before, intended, {"undo sa duration", "undo route-policy-change notify-delay"}, "hq-hub1") as now:
        assert _section(now, "ike proposal 10").endswith(" sa duration 14400\n")
        assert "route-policy-change notify-delay 120\n" in now and "notify-delay 180" not in now and not _stray_undo(now)


@pytest.mark.parametrize(
    ("view", "line", "column"),
    [
        ("route-policy HUB-OUT-wan2-hq-hub2 permit node 10", "undo apply as-path 4200000002 4200000002 additive", 19),
        ("route-policy HUB-IN-wan1-hq-hub1 permit node 10", "undo apply local-preference 200", 28),
        ("traffic behavior MARK-POS", "undo remark", 11),
        ("ike peer HUB-1", "undo dpd type periodic", 14),
        ("ike peer HUB-1", "undo dpd idle-time 10", 19),
        ("ike peer HUB-1", "undo dpd retry-limit 3", 21),
        ("interface Tunnel0/0/1", "undo mtu 1432", 9),
        ("interface Tunnel0/0/1", "undo tcp adjust-mss 1392", 20),
        ("ipsec profile HUB-1", "undo sa duration time-based 3600", 28),
        ("interface GigabitEthernet0/0/0.140", "undo dhcp server lease day 0 hour 1 minute 0", 23),
        ("bgp 4200000002", "undo peer 100.64.0.8 route-limit 20 idle-timeout 5", 33),
        ("bgp 4200000002", "undo preference 20 200 200", 16),
        ("nqa test-instance storestack guest_gateway", "undo probe-count 3", 17),
        ("nqa test-instance storestack guest_gateway", "undo interval seconds 2", 14),
        ("nqa test-instance storestack guest_gateway", "undo frequency 10", 15),
        ("ike proposal 10", "undo sa duration 28800", 17),
        ("", "undo route-policy-change notify-delay 180", 38),
    ],
)
def test_the_emulated_ar_refuses_a_clause_deleted_with_its_value_or_without_its_field(view: str, line: str, column: int) -> None:
    device, session = vrp_immediate_with((GOLDEN / "mall-guest.cfg").read_text())
    session.handle("system-view")
    if view:
        session.handle(view)
    held = device.running_text()
    prompt = session.prompt
    output = session.handle(line).output
    assert output.endswith("Error: Unrecognized command found at '^' position.\n")
    assert output.index("^") - len(prompt) == column
    assert device.running_text() == held
