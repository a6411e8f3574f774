"""A FortiOS unit evaluates its firewall policies (and local-in, shaping, policy routes, SD-WAN
rules) top down, first match first, in the order it holds them, which no line of a policy
states: a store whose office "accept the internet" policy was moved above its "deny the
private ranges" one lets the office reach the payment service, HQ's tills and management, and
used to read as in sync. Drift now sees the order, and the push moves the entries back; an
entry the unit appended at the end goes where the config puts it."""

from __future__ import annotations

import re

import pytest
from testsupport.emulator_push import fortios_holding, send_to_fortios
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_hub, render_store
from storestack.devices.secret_ledger import HELD_AS_SENT
from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.models import EmulatedDevice
from storestack.lab.emulator.profiles.fortinet import FortiSession


@pytest.fixture(scope="module")
def fortios() -> Fleet:
    return on_platform(load_fleet(sample_chain_path()), "fortinet")




def _policy_ids(text: str, section: str = "firewall policy") -> list[str]:
    """The entries of `section` in the order the unit holds (and shows) them."""
    block = re.search(rf"^config {section}\n(.*?)^end$", text, re.S | re.M)
    assert block is not None
    return re.findall(r"^    edit (\S+)$", block.group(1), re.M)


def _policy_id(text: str, name: str) -> str:
    found = re.search(rf'^    edit (\d+)\n        set name "{name}"$', text, re.M)
    assert found is not None, name
    return found.group(1)


def test_an_office_policy_moved_above_its_deny_is_drift_and_the_push_moves_it_back(fortios: Fleet) -> None:
    (config,) = render_store(fortios, SHAPES["dual-wan"])
    intended = config.text
    deny, accept = _policy_id(intended, "OFFICE-TO-OVERLAY-3"), _policy_id(intended, "OFFICE-TO-OVERLAY-4")
    assert "set action accept" not in intended.split(f"    edit {deny}\n", 1)[1].split("    next", 1)[0]
    device, session = fortios_holding(intended)
    # By hand on the unit: the office's "accept anything" above its "deny the private ranges".
    send_to_fortios(session, ["config firewall policy", f"move {accept} before {deny}", "end"])
    moved = device.running_text()
    assert _policy_ids(moved).index(accept) < _policy_ids(moved).index(deny)

    diff = compute_diff(moved, intended, "fortinet", held=HELD_AS_SENT)
    assert not diff.in_sync, "the office reaches payment through its accept-all policy, and drift said in sync"
    before_deny = _policy_ids(intended)[_policy_ids(intended).index(deny) - 1]
    assert [line.strip() for line in diff.remediation] == ["config firewall policy", f"move {deny} after {before_deny}", "end"]
    send_to_fortios(session, diff.remediation)
    assert _policy_ids(device.running_text()) == _policy_ids(intended)
    assert compute_diff(device.running_text(), intended, "fortinet", held=HELD_AS_SENT).in_sync
    # The way back puts the unit's own order back.
    send_to_fortios(session, diff.rollback)
    assert _policy_ids(device.running_text()) == _policy_ids(moved)


def test_a_policy_the_unit_appends_goes_where_the_config_puts_it(fortios: Fleet) -> None:
    """The hub's STORES-PING-LOOPBACK (id 8) sits between IKE-TO-ENDPOINT (5) and DC-TO-CLOUD
    (6). On a hub that had no such policy, FortiOS appends the new one at the end of the list;
    the push then moves it into place, and so for a tunnel's local-in policies."""
    intended = render_hub(fortios, "hq-hub1").text
    ping = _policy_id(intended, "STORES-PING-LOOPBACK")
    without = re.sub(rf"^    edit {ping}\n(?:        .*\n)*?    next\n", "", intended, count=1, flags=re.M)
    assert ping not in _policy_ids(without)
    device, session = fortios_holding(without)

    diff = compute_diff(device.running_text(), intended, "fortinet", held=HELD_AS_SENT)
    send_to_fortios(session, diff.remediation)
    assert _policy_ids(device.running_text()) == _policy_ids(intended)
    assert _policy_ids(device.running_text()).index(ping) < len(_policy_ids(intended)) - 1
    assert compute_diff(device.running_text(), intended, "fortinet", held=HELD_AS_SENT).in_sync
    # A local-in policy reordered by hand (a tunnel's deny above its accepts) is put back too.
    local_in = _policy_ids(intended, "firewall local-in-policy")
    send_to_fortios(session, ["config firewall local-in-policy", f"move {local_in[-1]} before {local_in[0]}", "end"])
    again = compute_diff(device.running_text(), intended, "fortinet", held=HELD_AS_SENT)
    assert not again.in_sync
    send_to_fortios(session, again.remediation)
    assert _policy_ids(device.running_text(), "firewall local-in-policy") == local_in


def test_move_works_only_in_the_tables_fortios_evaluates_in_order() -> None:
    device = DeviceState(EmulatedDevice(name="fgt", platform="fortinet"))
    session = FortiSession(device)
    send_to_fortios(session, ["config firewall address", 'edit "A"', "set subnet 10.0.0.0 255.0.0.0", "next", 'edit "B"', "next", "end"])
    output = "".join(session.handle(line).output for line in ["config firewall address", 'move "B" before "A"', "end"])
    assert "Command fail" in output
