"""Anti-flap on the vendor appliances comes from the intent's SLA classes: a fleet that changes
a class's hold-down and recovery gets them in every vendor config, and lint (which reads the
same intent) finds the rendered configs clean."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.lint import RULES, ConfigFile, load_platform_rules
from storestack.devices.lint.steering import steering_check
from storestack.devices.render import render_store
from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.network.build import NetworkIntent

# Every default class is spelled (a fleet's `sla.classes` replaces the defaults): strict holds down
# 7 s and recovers after 45 s, realtime recovers at once (no `up` delay may be printed for it).
FLEET_SLA = """
sla:
  classes:
    strict: {loss_percent: 2, latency_ms: 150, jitter_ms: 30, detection_seconds: 10, probe_interval_ms: 200,
             hold_down_seconds: 7, recovery_seconds: 45}
    realtime: {loss_percent: 1, latency_ms: 150, jitter_ms: 30, detection_seconds: 10, probe_interval_ms: 200,
               hold_down_seconds: 3, recovery_seconds: 0}
    business: {loss_percent: 5, latency_ms: 300, jitter_ms: 100, detection_seconds: 15, probe_interval_ms: 200,
               hold_down_seconds: 6, recovery_seconds: 40}
    best-effort: {loss_percent: 15, latency_ms: 1000, jitter_ms: 500, detection_seconds: 30,
                  probe_interval_ms: 500, hold_down_seconds: 11, recovery_seconds: 70}
"""
STORE = SHAPES["dual-wan"]


@pytest.fixture(scope="module")
def tuned_fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    root = tmp_path_factory.mktemp("chain") / "chain"
    shutil.copytree(sample_chain_path(), root)
    fleet_yaml = Path(root / "fleet.yaml")
    fleet_yaml.write_text(fleet_yaml.read_text() + FLEET_SLA)
    return load_fleet(root)


def _render(fleet: Fleet, platform: str) -> ConfigFile:
    (config,) = render_store(on_platform(fleet, platform), STORE)
    return ConfigFile(config.filename, platform, "edge", config.name, config.text, STORE)


def _clean(fleet: Fleet, config: ConfigFile) -> None:
    load_platform_rules()
    findings = [finding for rule in RULES[config.platform] for finding in rule(config)]
    findings += steering_check([config], NetworkIntent(on_platform(fleet, config.platform)))
    assert findings == []


def test_ios_steering_lists_hold_down_and_recover_with_the_class(tuned_fleet: Fleet) -> None:
    config = _render(tuned_fleet, "cisco_xe")
    intent = NetworkIntent(on_platform(tuned_fleet, "cisco_xe")).store(STORE)
    strict = next(cls for cls in intent.sla.classes if cls.name == "strict")
    index = intent.sla.classes.index(strict) + 1
    # Every steering list of a strict probe (10 x tunnel + class index, list 400 + that).
    blocks = re.findall(rf"^track (4\d{index}) list boolean and\n((?: .*\n)+)", config.text, re.MULTILINE)
    assert blocks, "no steering list for the strict class"
    for track, body in blocks:
        assert body.splitlines()[-1] == " delay down 7 up 45", f"track {track}: {body!r}"
    # The route-maps follow those lists, and a class recovering at once prints no `up` at all.
    assert f"track {blocks[0][0]}\n" in config.text
    assert not re.search(r"\bup 0\b", config.text)
    _clean(tuned_fleet, config)


def test_fortios_rules_return_after_the_class_recovery(tuned_fleet: Fleet) -> None:
    config = _render(tuned_fleet, "fortinet")
    pos = re.search(r'set name "pos"\n(?:.*\n)*?\s+set hold-down-time (\d+)\n', config.text)
    assert pos is not None and pos.group(1) == "45"
    back_office = re.search(r'set name "back-office"\n(?:.*\n)*?\s+set hold-down-time (\d+)\n', config.text)
    assert back_office is not None and back_office.group(1) == "40"
    _clean(tuned_fleet, config)


def test_vrp_renders_and_lints_clean_with_tuned_classes(tuned_fleet: Fleet) -> None:
    _clean(tuned_fleet, _render(tuned_fleet, "huawei_vrp"))
