"""A FortiGate store's SD-WAN rules and health-check SLA entries keep their ids when an application
class or an SLA class is added or removed.

An application class's rules took the block its name hashed to, the next free one where two names
met, in name order: a class added whose name hashed to an existing class's block and sorted before
it took that block, and the existing class's rules moved to the next one, edited in place (the live
rule steering the new class's traffic by the old one's members meanwhile). An SLA class's entry in
each health check was its place among the store's classes: a class added before another edited
every later entry's thresholds in place, and the rules and neighbours naming them judged a class by
another's SLA. Now both are numbers pinned in the lock (`sla_classes`, `applications`); a lock
written before the pins gives every class the id its config held then."""

from __future__ import annotations

import shutil
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from testsupport.emulator_push import forti_entries
from testsupport.rendering import on_platform

from storestack.common.platforms import application_hash_blocks
from storestack.devices.render import render_store
from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.inventory.ipam import read_allocations
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.forticonfig import FortiConfig, unquote
from storestack.lab.emulator.models import EmulatedDevice
from storestack.lab.emulator.profiles.fortinet import FortiSession

STORE = "nw-0008"
# Hashes to voice's block and sorts before it: the old scheme gave it voice's rules' ids.
COLLIDING = "a793"
EXTRA_SLA = (
    "sla:\n"
    "  classes:\n"
    "    {name}:\n"
    "      loss_percent: 0.5\n      latency_ms: 80\n      jitter_ms: 10\n      detection_seconds: 10\n"
    "      probe_interval_ms: 200\n      hold_down_seconds: 2\n      recovery_seconds: 30\n"
    "  applications:\n"
    "    {app}: {{sla: {sla}, segments: [office], protocol: tcp, ports: ['8443'], dscp: af21}}\n"
)


def _chain(tmp_path: Path, store_text: str = "", strip_pins: bool = False) -> Path:
    root = tmp_path / "chain"
    shutil.copytree(sample_chain_path(), root)
    if store_text:
        path = root / "stores" / f"{STORE}.yaml"
        path.write_text(path.read_text() + store_text)
    if strip_pins:
        lock = root / "allocations.yaml"
        text = lock.read_text()
        head, rest = text.split("sla_classes:\n", 1)
        lock.write_text(head + rest[rest.index("stores:\n") :])
    return root


def _rendered(chain: Fleet) -> str:
    ((config,),) = [render_store(on_platform(chain, "fortinet", "frr"), STORE)]
    return config.text


def _rules(text: str) -> dict[str, str]:
    """Each SD-WAN rule's id: its name."""
    return {
        number: unquote(dict(entry).get("name") or "")
        for number, entry in forti_entries(FortiConfig(text), ("system sdwan", "service")).items()
    }


def _sla_entries(text: str) -> dict[tuple[str, str], tuple[str | None, ...]]:
    """Each (health check, SLA id): its thresholds."""
    config = FortiConfig(text)
    out: dict[tuple[str, str], tuple[str | None, ...]] = {}
    for check in forti_entries(config, ("system sdwan", "health-check")):
        for number, entry in forti_entries(config, ("system sdwan", "health-check", check, "sla")).items():
            settings = dict(entry)
            out[(check, number)] = tuple(settings.get(k) for k in ("latency-threshold", "jitter-threshold", "packetloss-threshold"))
    return out


def _kept_are_one(before: Mapping[Any, object], after: Mapping[Any, object], what: str) -> None:
    for key in sorted(before.keys() & after.keys(), key=str):
        assert before[key] == after[key], f"{what} {key}: {before[key]} before, {after[key]} after"


@pytest.fixture(scope="module")
def full(fleet: Fleet) -> str:
    return _rendered(fleet)


@pytest.fixture(scope="module")
def with_classes(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The store with an SLA class and an application class of its own; the application's name
    hashes to voice's block and sorts before voice."""
    text = EXTRA_SLA.format(name="critical", app=COLLIDING, sla="critical")
    return _rendered(load_fleet(_chain(tmp_path_factory.mktemp("classes"), text)))


def test_the_colliding_name_would_have_taken_voices_block() -> None:
    old = application_hash_blocks(["pos", "voice", "back-office", "guest", "bulk"])
    assert zlib.crc32(COLLIDING.encode()) % 280 == old["voice"]
    assert application_hash_blocks([*old, COLLIDING])[COLLIDING] == old["voice"]


def test_the_classes_add_rules_and_sla_entries(full: str, with_classes: str) -> None:
    assert COLLIDING in _rules(with_classes).values()
    assert len(_sla_entries(with_classes)) > len(_sla_entries(full))


def test_every_kept_id_is_one_rule_and_one_sla_entry_both_ways(full: str, with_classes: str) -> None:
    _kept_are_one(_rules(full), _rules(with_classes), "SD-WAN rule")
    _kept_are_one(_sla_entries(full), _sla_entries(with_classes), "health-check SLA entry")
    named = {name: number for number, name in _rules(full).items()}
    assert {name: number for number, name in _rules(with_classes).items() if name in named} == named


def test_the_classes_are_pinned_in_the_lock(tmp_path: Path) -> None:
    root = _chain(tmp_path, EXTRA_SLA.format(name="critical", app=COLLIDING, sla="critical"))
    load_fleet(root, write_lock=True)
    table = read_allocations(root / "allocations.yaml")
    kept = read_allocations(sample_chain_path() / "allocations.yaml")
    assert {name: table.sla_classes[name] for name in kept.sla_classes} == kept.sla_classes
    assert {name: table.applications[name] for name in kept.applications} == kept.applications
    assert table.sla_classes["critical"] not in kept.sla_classes.values()
    assert table.applications[COLLIDING] not in kept.applications.values()
    # Removed from the inventory, a class keeps its number until its line is deleted.
    path = root / "stores" / f"{STORE}.yaml"
    path.write_text(path.read_text().split("sla:\n", 1)[0])
    load_fleet(root, write_lock=True)
    again = read_allocations(root / "allocations.yaml")
    assert (again.sla_classes, again.applications) == (table.sla_classes, table.applications)


def test_a_lock_without_pins_keeps_the_ids_the_configs_held(tmp_path: Path, full: str) -> None:
    root = _chain(tmp_path, strip_pins=True)
    assert "applications:" not in (root / "allocations.yaml").read_text()
    assert _rendered(load_fleet(root)) == full
    load_fleet(root, write_lock=True)
    table = read_allocations(root / "allocations.yaml")
    assert table.sla_classes == {"best-effort": 1, "business": 2, "realtime": 3, "strict": 4}
    assert table.applications == application_hash_blocks(["pos", "voice", "back-office", "guest", "bulk"])


def test_the_emulator_takes_sla_ids_1_to_32_only() -> None:
    """FortiOS takes a health check's SLA id 1-32 (fortios_system_sdwan schema): so does the emulator."""
    session = FortiSession(DeviceState(EmulatedDevice(name="fgt", platform="fortinet")))
    for line in ("config system sdwan", "config health-check", 'edit "hc"', "config sla", "edit 32", "next"):
        assert "fail" not in session.handle(line).output
    assert "out of range 1-32" in session.handle("edit 33").output
