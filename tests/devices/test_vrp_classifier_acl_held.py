"""A VRP classifier's ACL whose rules move (an application's port put in front of the others)
keeps marking every packet that both the old and the new ACL mark, at every line of the push and
of its rollback, on an AR in immediate validation (each line live as typed): the push holds the
classifier with a twin of the new ACL while it edits the old one rule by rule."""

from __future__ import annotations

import ipaddress

import pytest
from testsupport.emulator_push import vrp_immediate_with
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.lint import Packet
from storestack.devices.lint.huawei_vrp import _acls, _classifier_takes
from storestack.devices.lint.linetree import parse, top
from storestack.devices.render import render_store
from storestack.devices.secret_ledger import HELD_AS_SENT
from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.models import EmulatedDevice
from storestack.lab.emulator.profiles.huawei_vrp import VrpSession

STORE = SHAPES["dual-wan"]
# A phone of the store's office segment (nw-0002: 10.64.2.64/26) to HQ's call manager.
PHONE = ipaddress.IPv4Address("10.64.2.70")
CALL_MANAGER = ipaddress.IPv4Address("10.0.5.10")
SIP = Packet("udp", PHONE, CALL_MANAGER, port=5060)
RTP = Packet("udp", PHONE, CALL_MANAGER, port=20000)
SIP_ALT = Packet("udp", PHONE, CALL_MANAGER, port=5062)


def _with_voice_ports(fleet: Fleet, ports: list[str]) -> Fleet:
    store = fleet.stores[STORE]
    applications = dict(store.sla.applications)
    applications["voice"] = applications["voice"].model_copy(update={"ports": ports})
    stores = {each.id: each for each in fleet}
    stores[STORE] = store.model_copy(update={"sla": store.sla.model_copy(update={"applications": applications})})
    return Fleet(fleet.spec, fleet.hubs, stores, fleet.root)


def _configs() -> tuple[str, str]:
    """The office segment's voice as rendered, then with SIP on a second port, 5062, put first
    (every rule of the classifier's ACL moves to the next number)."""
    fleet = on_platform(load_fleet(sample_chain_path()), "huawei_vrp")
    (before,) = render_store(fleet, STORE)
    (after,) = render_store(_with_voice_ports(fleet, ["5062", "5060", "16384-32767"]), STORE)
    return before.text, after.text


def _office_mark(running: str, packet: Packet) -> str | None:
    """The behavior LAN-IN-OFFICE gives `packet`: its first classifier that takes it."""
    root = parse(running, ("#",))
    acls = _acls(root)
    classifiers = {line.words[2]: line for line in top(root, "traffic", "classifier")}
    (policy,) = (line for line in top(root, "traffic", "policy") if line.words[2:] == ["LAN-IN-OFFICE"])
    for entry in policy.children:
        takes = _classifier_takes(classifiers.get(entry.words[1]), acls, packet)
        assert takes is not None, (entry.text, running)
        if takes:
            return entry.words[3]
    return None


def _voice_blocks(config: str) -> list[list[str]]:
    """The voice classifier and the ACLs the unit holds, each a list of its lines: the twin gone,
    the ACL as intended."""
    root = parse(config, ("#",))
    wanted = [*top(root, "acl"), *(line for line in top(root, "traffic", "classifier") if "QOS-OFFICE-VOICE" in line.words)]
    return [[line.text, *(child.text for child in line.children)] for line in wanted]


def _marks_at_every_line(device: DeviceState, session: VrpSession, lines: tuple[str, ...]) -> list[tuple[str, str]]:
    """(line just sent, the marks of SIP and RTP then) after each line sent in the system view."""
    seen = []
    session.handle("system-view")
    for line in lines:
        output = session.handle(line).output
        assert "Error:" not in output, (line, output)
        running = device.running_text()
        seen.append((line, f"{_office_mark(running, SIP)} {_office_mark(running, RTP)}"))
    session.handle("return")
    return seen


@pytest.mark.parametrize("way", ["push", "rollback"])
def test_voice_stays_marked_voice_at_every_line(way: str) -> None:
    before, after = _configs()
    assert " rule 5 permit udp source 10.64.2.64 0.0.0.63 destination-port eq 5062" in after.splitlines()
    held, wanted = (before, after) if way == "push" else (after, before)
    diff = compute_diff(held, wanted, "huawei_vrp")
    device, session = vrp_immediate_with(held)
    assert _office_mark(device.running_text(), SIP) == "MARK-VOICE"
    lines = diff.remediation if way == "push" else compute_diff(after, before, "huawei_vrp").remediation
    seen = _marks_at_every_line(device, session, lines)
    assert [(line, marks) for line, marks in seen if marks != "MARK-VOICE MARK-VOICE"] == []
    assert _voice_blocks(device.running_text()) == _voice_blocks(wanted)
    if way == "push":
        assert _office_mark(device.running_text(), SIP_ALT) == "MARK-VOICE"


def test_the_rollback_holds_the_classifier_too() -> None:
    """The diff's own way back (what a failed push sends) keeps voice marked as well."""
    before, after = _configs()
    diff = compute_diff(before, after, "huawei_vrp")
    device, session = vrp_immediate_with(before)
    _marks_at_every_line(device, session, diff.remediation)
    seen = _marks_at_every_line(device, session, diff.rollback)
    assert [(line, marks) for line, marks in seen if marks != "MARK-VOICE MARK-VOICE"] == []
    assert _voice_blocks(device.running_text()) == _voice_blocks(before)


def test_an_unmoved_classifier_acl_is_edited_in_place() -> None:
    """Rules only added (a port put after the others) move nothing: no twin is built."""
    fleet = on_platform(load_fleet(sample_chain_path()), "huawei_vrp")
    (before,) = render_store(fleet, STORE)
    (after,) = render_store(_with_voice_ports(fleet, ["5060", "16384-32767", "5062"]), STORE)
    lines = compute_diff(before.text, after.text, "huawei_vrp").remediation
    assert not any(line.strip().startswith(("traffic classifier", "if-match acl")) for line in lines), lines


def test_a_two_phase_unit_takes_the_held_change_in_one_commit() -> None:
    """In two-phase validation (VRP8) the twin, defined and deleted before `commit`, never goes
    live: the unit commits the ACL as intended and no twin."""
    before, after = _configs()
    device = DeviceState(EmulatedDevice(name="ar", platform="huawei_vrp"))
    session = VrpSession(device)
    typed = [line for line in before.splitlines() if line.strip() and not line.startswith(("#", "return"))]
    for line in ["system-view", *typed, "commit", *compute_diff(before, after, "huawei_vrp").remediation, "commit"]:
        output = session.handle(line).output
        assert "Error:" not in output, (line, output)
    assert _voice_blocks(device.running_text()) == _voice_blocks(after)


def test_a_push_stopped_while_the_twin_holds_is_restored_with_voice_marked() -> None:
    """A push stopped after any of its lines (a refused line, a lost session) is restored by a
    diff from what the unit then holds to the backup: the ACL's rules come back and the
    classifier lets go of the twin before the twin is deleted, so voice stays marked throughout."""
    before, after = _configs()
    push = compute_diff(before, after, "huawei_vrp").remediation
    held = next(i for i, line in enumerate(push) if line.strip() == "if-match acl 3999") + 1
    emptied = max(i for i, line in enumerate(push) if line.strip().startswith("undo rule ")) + 1
    # Stopped with the twin just holding the classifier, and with the ACL's old rules all gone.
    for sent in (held, emptied):
        device, session = vrp_immediate_with(before)
        _marks_at_every_line(device, session, push[:sent])
        restore = compute_diff(device.running_text(), before, "huawei_vrp", held=HELD_AS_SENT).remediation
        seen = _marks_at_every_line(device, session, restore)
        assert [(line, marks) for line, marks in seen if marks != "MARK-VOICE MARK-VOICE"] == [], push[sent - 1]
        assert _voice_blocks(device.running_text()) == _voice_blocks(before)
