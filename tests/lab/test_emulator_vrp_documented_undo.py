"""On the VRP emulator in immediate validation, the pushes and rollbacks that delete a
route-policy node or unbind an interface's traffic-filter send the deletion in the form Huawei
documents, which the emulator takes, and the AR then holds what was intended.

Huawei command reference "route-policy": `undo route-policy route-policy-name [ node node ]`; a
node's `permit`/`deny` is no part of it, so `undo route-policy NAME permit node N` (what negating
the node's header gives) is refused, and a store taken off a hub, or a node dropped from a
policy, failed its push. AR command reference EDOC1100064351, "traffic-filter (Interface view)":
`undo traffic-filter { inbound | outbound } [ ipv6 acl ]`, never the ACL bound after it; `undo
traffic-filter inbound acl name X` is refused likewise."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from testsupport.emulator_push import send_to_vrp, vrp_immediate_with
from testsupport.rendering import TEST_IPSEC_PSK_SEED, TEST_SECRETS, config_without, on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_hub
from storestack.inventory import Fleet, load_fleet, sample_chain_path

GOLDEN = Path(__file__).parents[1] / "devices" / "golden" / "huawei_vrp"
POLICY = "FROM-nw-0001-wan1"
_UNDOCUMENTED = re.compile(r"^\s*undo (?:route-policy \S+ (?:permit|deny)\b|traffic-filter (?:inbound|outbound) acl\b)")


def _policies(text: str) -> dict[str, list[str]]:
    """Each route-policy node (its header) and its clauses, as `text` holds them."""
    return {
        header: body.splitlines()
        for header, body in re.findall(r"^(route-policy \S+ (?:permit|deny) node \d+)\n((?: .*\n)*)", text, re.M)
    }


def _filters(text: str) -> dict[str, list[str]]:
    """Each interface's traffic-filter lines, as `text` holds them, for the interfaces that bind
    one; a filter rebuilt under its other name (`-B`, the swap's make before break) read as the
    intended one, whose content it holds."""
    bound = {
        name: [re.sub(r"-B$", "", line) for line in re.findall(r"^ (traffic-filter .*)$", body, re.M)]
        for name, body in re.findall(r"^interface (\S+)\n((?: .*\n)*)", text, re.M)
    }
    return {name: lines for name, lines in bound.items() if lines}


def _stray_undo(text: str) -> list[str]:
    """Deletions the AR kept as lines (nothing of that text to delete)."""
    return re.findall(r"^\s*undo (?:route-policy|traffic-filter)\b.*$", text, re.M)


def test_a_node_dropped_from_a_route_policy_is_deleted_by_its_number_and_the_rollback_restores_it() -> None:
    before = (GOLDEN / "hub.cfg").read_text()
    intended = config_without(before, rf"^route-policy {POLICY} permit node 5$")
    device, session = vrp_immediate_with(before, "hq-hub1")
    running = device.running_text()
    diff = compute_diff(running, intended, "huawei_vrp")
    assert f"undo route-policy {POLICY} node 5" in [line.strip() for line in diff.remediation]
    assert not [line for line in (*diff.remediation, *diff.rollback) if _UNDOCUMENTED.match(line)]
    send_to_vrp(session, diff.remediation)
    after = device.running_text()
    assert _policies(after) == _policies(intended) and not _stray_undo(after)
    send_to_vrp(session, diff.rollback)
    assert _policies(device.running_text()) == _policies(running) and not _stray_undo(device.running_text())


def test_a_store_taken_off_a_vrp_hub_has_its_policies_deleted_and_the_rollback_brings_them_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)
    fleet = on_platform(load_fleet(sample_chain_path()), None, "huawei_vrp")
    gone = next(iter(fleet)).id
    smaller = Fleet(fleet.spec, fleet.hubs, {store.id: store for store in fleet if store.id != gone}, fleet.root)
    before, after = render_hub(fleet, "hq-hub1").text, render_hub(smaller, "hq-hub1").text
    assert set(_policies(after)) < set(_policies(before))
    device, session = vrp_immediate_with(before, "hq-hub1")
    running = device.running_text()
    diff = compute_diff(running, after, "huawei_vrp")
    assert not [line for line in (*diff.remediation, *diff.rollback) if _UNDOCUMENTED.match(line)]
    send_to_vrp(session, diff.remediation)
    assert _policies(device.running_text()) == _policies(after) and not _stray_undo(device.running_text())
    assert _filters(device.running_text()) == _filters(after)
    send_to_vrp(session, diff.rollback)
    assert _policies(device.running_text()) == _policies(running) and not _stray_undo(device.running_text())
    assert _filters(device.running_text()) == _filters(running)


def test_a_filter_unbound_from_a_port_is_unbound_by_its_direction_and_the_rollback_binds_it_again() -> None:
    before = (GOLDEN / "dual-wan.cfg").read_text()
    # The office segment's filter taken off its sub-interface, which stays.
    intended = before.replace(" traffic-filter inbound acl name OFFICE-IN\n", "", 1)
    device, session = vrp_immediate_with(before)
    running = device.running_text()
    diff = compute_diff(running, intended, "huawei_vrp")
    assert "undo traffic-filter inbound" in [line.strip() for line in diff.remediation]
    assert not [line for line in (*diff.remediation, *diff.rollback) if _UNDOCUMENTED.match(line)]
    send_to_vrp(session, diff.remediation)
    held = _filters(device.running_text())
    assert "GigabitEthernet0/0/0.20" not in held and held == _filters(intended)
    assert not _stray_undo(device.running_text())
    send_to_vrp(session, diff.rollback)
    assert _filters(device.running_text()) == _filters(running) and not _stray_undo(device.running_text())


@pytest.mark.parametrize(
    ("line", "word"),
    [
        (f"undo route-policy {POLICY} permit node 5", "permit"),
        ("undo traffic-filter inbound acl name OFFICE-IN", "acl"),
    ],
)
def test_the_emulated_ar_refuses_a_deletion_in_an_undocumented_form(line: str, word: str) -> None:
    device, session = vrp_immediate_with((GOLDEN / "hub.cfg").read_text(), "hq-hub1")
    session.handle("system-view")
    if word == "acl":
        session.handle("interface GigabitEthernet0/0/1")
    held = device.running_text()
    prompt = session.prompt
    output = session.handle(line).output
    assert output.endswith("Error: Unrecognized command found at '^' position.\n")
    assert output.index("^") - len(prompt) == line.index(word)
    assert device.running_text() == held
