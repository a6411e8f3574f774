"""FortiOS traffic shapers and shaping policies named after long QoS classes and applications.

A FortiOS store names a traffic shaper after each QoS class (`QOS-<class>`) and a shaping policy
after each application a segment's traffic is picked out of by port (`QOS-<segment>-<application>`),
where the inventory takes class and application names of up to 32 characters. FortiOS takes at
most 35 for either name, and for the shaper a policy names (Fortinet's schema of `config firewall
shaper traffic-shaper` and `config firewall shaping-policy`, as its Terraform provider for FortiOS
7.x carries it: `name`, `traffic_shaper`, `StringLenBetween(0, 35)`): a 32-character class made a
36-character shaper, and a 32-character office application a 43-character policy name, which the
unit refuses, so the push stopped there and the store ran without its QoS. Such names are now
shortened (a readable head and a hash of the full name), the shaper and every policy naming it
alike, and the lint flags a longer one (`fortios-name-length`, `fortios-value-length`)."""

from __future__ import annotations

from pathlib import Path

from testsupport.rendering import edited_sample_chain, on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.lint import ConfigFile, run_platform_rules
from storestack.devices.lint.fortinet import parse
from storestack.devices.lint.services import services_check
from storestack.devices.render import render_store
from storestack.inventory import load_fleet
from storestack.inventory.paths import sample_chain_path
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.models import EmulatedDevice
from storestack.lab.emulator.profiles.fortinet import FortiSession
from storestack.network.build import NetworkIntent

STORE = "nw-0002"
LIMIT = 35
LONG_CLASS = "back-office-business-application"  # 32 characters, the longest the inventory takes
LONG_APPLICATION = "payment-terminal-settlement-upld"
QOS_CLASSES = f"""qos:
  classes:
    voice: {{dscp: ef, priority: true, bandwidth_percent: 10}}
    pos: {{dscp: af31, bandwidth_percent: 20, segments: [pos]}}
    {LONG_CLASS}: {{dscp: af21, bandwidth_percent: 25, segments: [office]}}
    iot: {{dscp: af11, bandwidth_percent: 10, segments: [iot]}}
    cctv: {{dscp: cs1, shape_percent: 20, segments: [cctv]}}
    best-effort: {{dscp: default, segments: [guest-wifi]}}
sites:
"""
# An office application marked EF (not its segment's class): a shaping policy of its own.
APPLICATION = f"""sla:
  applications:
    {LONG_APPLICATION}:
      sla: realtime
      segments: [office]
      protocol: udp
      ports: ["8443", "9443"]
      dscp: ef
"""


def _long_names_chain(tmp_path: Path) -> Path:
    root = edited_sample_chain(tmp_path, "sites:\n", QOS_CLASSES)
    store = root / "stores" / f"{STORE}.yaml"
    store.write_text(store.read_text() + APPLICATION)
    return root


def _config_file(text: str, hostname: str) -> ConfigFile:
    return ConfigFile(f"{hostname}.cfg", "fortinet", "edge", hostname, text, STORE, "", {"": text})


def _findings(config: ConfigFile, rules: tuple[str, ...]) -> list[str]:
    return [f.message for f in run_platform_rules([config]) if f.rule in rules]


def test_long_class_and_application_names_render_shapers_and_policies_fortios_takes(tmp_path: Path) -> None:
    fleet = on_platform(load_fleet(_long_names_chain(tmp_path)), "fortinet")
    (config,) = render_store(fleet, STORE)
    parsed = parse(config.text)
    shapers = [e.name for e in parsed["firewall shaper traffic-shaper"].entries]
    policies = parsed["firewall shaping-policy"].entries
    names = [name for e in policies for name in e.get("name")]
    named = [shaper for e in policies for shaper in e.get("traffic-shaper")]
    # the long class and the long application are there, each under a name FortiOS takes
    assert any(name.startswith(f"QOS-{LONG_CLASS.upper()}"[:20]) for name in shapers), shapers
    assert any(name.startswith(f"QOS-OFFICE-{LONG_APPLICATION.upper()}"[:20]) for name in names), names
    assert all(len(name) <= LIMIT for name in shapers + names + named), [
        n for n in shapers + names + named if len(n) > LIMIT
    ]
    # every policy names a shaper the config defines, the long class's included
    assert set(named) <= set(shapers), set(named) - set(shapers)
    assert any(shaper.startswith(f"QOS-{LONG_CLASS.upper()}"[:20]) for shaper in named), named
    assert len(set(names)) == len(names)
    checked = _config_file(config.text, config.name)
    assert _findings(checked, ("fortios-name-length", "fortios-value-length", "fortios-undefined-reference")) == []
    # the QoS lint still finds every class of the intent in its shaper
    assert list(services_check([checked], NetworkIntent(fleet))) == []
    # and a factory unit takes the whole config
    device = DeviceState(EmulatedDevice(name="fgt", platform="fortinet", running_config=None))
    session = FortiSession(device)
    refused = [
        (line, output)
        for line in compute_diff(device.running_text(), config.text, "fortinet").remediation
        if "Command fail" in (output := session.handle(line).output)
    ]
    assert refused == []


def test_the_lint_holds_shaper_policy_and_rule_names_to_35_characters() -> None:
    fleet = on_platform(load_fleet(sample_chain_path()), "fortinet")
    (config,) = render_store(fleet, STORE)
    text = config.text
    assert _findings(_config_file(text, config.name), ("fortios-name-length", "fortios-value-length")) == []
    for old, line in (
        ('    edit "QOS-POS"\n', '    edit "{name}"\n'),
        ('        set name "QOS-POS"\n', '        set name "{name}"\n'),
        ('        set traffic-shaper "QOS-POS"\n', '        set traffic-shaper "{name}"\n'),
        ('        set name "POS-TO-OVERLAY-1"\n', '        set name "{name}"\n'),
        ('            set name "back-office"\n', '            set name "{name}"\n'),
    ):
        assert old in text, old
        for length, expected in ((LIMIT, 0), (LIMIT + 1, 1)):
            broken = text.replace(old, line.format(name="Q" * length), 1)
            found = _findings(_config_file(broken, config.name), ("fortios-name-length", "fortios-value-length"))
            assert len(found) == expected, (old, length, found)
