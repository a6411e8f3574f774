"""What a FortiOS store answers from the internet: every WAN port answers ping, at most the
intent's `icmp_requests_pps` a second (a DoS policy's `icmp_flood`, FortiOS's only rate on what
it answers), while the SD-WAN health checks, inside the tunnels, meet no DoS policy."""

from __future__ import annotations

import dataclasses

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.lint import ConfigFile
from storestack.devices.lint.fortinet import parse, wan_echo_limit
from storestack.devices.platforms.fortinet import DOS_ANOMALY_THRESHOLDS, dos_policies
from storestack.devices.render import render_store
from storestack.devices.views import ViewBuilder
from storestack.inventory import Fleet


def _config(fleet: Fleet, shape: str) -> ConfigFile:
    (config,) = render_store(on_platform(fleet, "fortinet"), SHAPES[shape])
    return ConfigFile(config.filename, "fortinet", "edge", config.name, config.text, SHAPES[shape])


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_wan_port_answers_at_most_the_intents_echo_rate(fleet: Fleet, shape: str) -> None:
    config = _config(fleet, shape)
    parsed = parse(config.text)
    interfaces = parsed["system interface"].entries
    wan = {e.name for e in interfaces if e.first("role") == "wan"}
    tunnels = {e.name for e in interfaces if e.first("type") == "tunnel"}
    assert wan and all("ping" in e.get("allowaccess") for e in interfaces if e.name in wan)
    limits: dict[str, int] = {}
    for policy in parsed["firewall DoS-policy"].entries:
        assert policy.get("srcaddr") == ["all"] and policy.get("dstaddr") == ["all"]
        assert policy.get("service") == ["PING"]
        anomalies = {anomaly.name: anomaly for anomaly in policy.blocks["anomaly"].entries}
        assert list(anomalies) == [name for name, _ in DOS_ANOMALY_THRESHOLDS]
        flood = anomalies["icmp_flood"]
        assert (flood.first("status"), flood.first("action")) == ("enable", "block")
        # Every other anomaly as FortiOS ships it: off, at its default threshold.
        assert all(
            anomaly.first("status") is None and anomaly.get("threshold") == [str(default)]
            for name, default in DOS_ANOMALY_THRESHOLDS
            if name != "icmp_flood" and (anomaly := anomalies[name])
        )
        (interface,) = policy.get("interface")
        limits[interface] = int(flood.first("threshold") or 0)
    assert limits == dict.fromkeys(wan, 10)
    # The health checks ping the hubs through the tunnels: no DoS policy counts them.
    assert not tunnels & set(limits)
    assert list(wan_echo_limit(config)) == []


def test_the_rate_is_the_intents(fleet: Fleet) -> None:
    fleet = on_platform(fleet, "fortinet")
    store = fleet.store(SHAPES["dual-wan"])
    view = ViewBuilder(fleet).store_view(store, store.appliances[0].hostname)
    management = dataclasses.replace(view.intent.management, icmp_requests_pps=3)
    view = dataclasses.replace(view, intent=dataclasses.replace(view.intent, management=management))
    thresholds = [line.strip() for line in dos_policies(view) if line.strip().startswith("set threshold")]
    assert thresholds.count("set threshold 3") == len(view.wan)


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        ('        set service "PING"\n', '        set service "SSH"\n', "fortios-wan-echo-unlimited"),
        (
            "                set action block\n",
            "                set action pass\n",
            "fortios-wan-echo-unlimited",
        ),
        (
            '            edit "icmp_sweep"\n                set threshold 100\n            next\n',
            "",
            "fortios-dos-anomalies",
        ),
    ],
)
def test_the_lint_flags_a_wan_port_left_unlimited(fleet: Fleet, old: str, new: str, rule: str) -> None:
    config = _config(fleet, "dual-wan")
    assert old in config.text
    broken = dataclasses.replace(config, text=config.text.replace(old, new, 1))
    assert rule in {finding.rule for finding in wan_echo_limit(broken)}
