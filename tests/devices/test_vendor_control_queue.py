"""The routers' own BGP, BFD and IKE keep a share of a saturated WAN link on the vendor platforms
that IOS-XE's NETWORK-CONTROL class does not cover.

Huawei VRP: an AR's class-based queuing puts every packet no classifier of the policy takes into
the default class's BE queue, fair-queued by flow (AR QoS configuration guide, "Configuring MQC to
Implement Congestion Management", EDOC1100112355), and a store's BGP and BFD leave inside the
tunnels' ESP, one flow with the bulk the tunnel carries. So each QUEUE-<link> takes the
network-control DSCPs into a classifier of their own, guaranteed the fleet's share of the link's
shaped rate, as IOS-XE's does; the `qos` lint finds a policy without it or with another share.

FortiOS: under a WAN port's `outbandwidth` without an egress shaping profile, priority level 0 is
"reserved for administrative and local out traffic", above every shaper's level (Administration
Guide, "Global traffic prioritization"), and a tunnel uses the queues of the port it is bound to:
the FortiGate's own traffic already goes first, so no class is rendered (`NO_CONTROL_CLASS`) and
the `qos` lint finds what would take it out of level 0 (an egress shaping profile on a WAN port,
whose default class takes "all local traffic"; a shaping policy on local-out traffic).

IOS-XE renders its NETWORK-CONTROL class (tests/devices/test_cisco_xe_control_queue.py); the same
`qos` lint finds a store's QUEUE-<link> without it, without its guarantee, with another share or
matching only one of the DSCPs."""

from __future__ import annotations

import dataclasses
import re

import pytest
from testsupport.rendering import SHAPES, TEST_IPSEC_PSK_SEED, TEST_SECRETS, named_blocks, on_platform

from storestack.common.platforms import NO_CONTROL_CLASS
from storestack.devices.lint import ConfigFile, Finding
from storestack.devices.lint.services import services_check
from storestack.devices.render import render_store
from storestack.inventory import Fleet
from storestack.inventory.models import NETWORK_CONTROL_PERCENT
from storestack.network.build import NetworkIntent
from storestack.network.model import NETWORK_CONTROL_DSCPS, share_kbps
from storestack.network.show import store_report

CONTROL = [name for name, _ in NETWORK_CONTROL_DSCPS]


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)


def _store(fleet: Fleet, platform: str, store_id: str) -> ConfigFile:
    (config,) = render_store(on_platform(fleet, platform), store_id)
    companions = {"": config.text, **dict(config.companions)}
    return ConfigFile(config.filename, platform, "edge", config.name, config.text, store_id, "", companions)


def _check(fleet: Fleet, config: ConfigFile) -> list[Finding]:
    return list(services_check([config], NetworkIntent(on_platform(fleet, config.platform))))


def _broken(config: ConfigFile, old: str, new: str) -> ConfigFile:
    assert old in config.text, f"{old!r} is not in the rendered {config.platform} config"
    return dataclasses.replace(config, text=config.text.replace(old, new, 1))


def _vrp_control_guarantees(text: str) -> dict[str, tuple[int | None, int]]:
    """Each QUEUE-<link> policy's guarantee (kbit/s) to a classifier matching every network-control
    DSCP (None: none does), and the sum of all its guarantees."""
    classifiers = {
        name
        for name, body in named_blocks(text, r"traffic classifier (\S+) operator or").items()
        if set(CONTROL) <= {dscp for line in body if line.startswith(" if-match dscp ") for dscp in line.split()[2:]}
    }
    behaviors = named_blocks(text, r"traffic behavior (\S+)")
    result: dict[str, tuple[int | None, int]] = {}
    for link, body in named_blocks(text, r"traffic policy QUEUE-(\S+)").items():
        share, total = None, 0
        for line in body:
            _, classifier, _, behavior = line.split()
            for inner in behaviors.get(behavior, []):
                if found := re.fullmatch(r" queue (?:ef|af) bandwidth (\d+)", inner):
                    total += int(found.group(1))
                    if classifier in classifiers:
                        share = int(found.group(1))
        result[link] = (share, total)
    return result


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_vrp_wan_queue_guarantees_the_routers_own_control_traffic(fleet: Fleet, shape: str) -> None:
    store_id = SHAPES[shape]
    config = _store(fleet, "huawei_vrp", store_id)
    transports = {t.name: t for t in NetworkIntent(on_platform(fleet, "huawei_vrp")).store(store_id).transports}
    queues = _vrp_control_guarantees(config.text)
    assert set(queues) == set(transports)
    for link, (share, total) in queues.items():
        assert share == share_kbps(transports[link].queue_kbps, NETWORK_CONTROL_PERCENT), (link, share)
        assert total <= transports[link].queue_kbps  # the shaper can keep every guarantee
    assert _check(fleet, config) == []


_VRP_CONTROL = re.compile(r" classifier NETWORK-CONTROL behavior (\S+)\n")


def test_vrp_lint_finds_a_queue_without_the_control_class(fleet: Fleet) -> None:
    config = _store(fleet, "huawei_vrp", SHAPES["dual-wan"])
    found = _VRP_CONTROL.search(config.text)
    assert found is not None
    findings = _check(fleet, _broken(config, found.group(0), ""))
    assert [f.rule for f in findings] == ["qos"], findings
    assert "no class for the routers' own network control (cs6 cs7)" in findings[0].message


def test_vrp_lint_finds_a_control_class_with_another_share(fleet: Fleet) -> None:
    config = _store(fleet, "huawei_vrp", SHAPES["dual-wan"])
    found = _VRP_CONTROL.search(config.text)
    assert found is not None
    behavior = f"traffic behavior {found.group(1)}\n queue af bandwidth "
    start = config.text.index(behavior) + len(behavior)
    kbit = config.text[start : config.text.index("\n", start)]
    findings = _check(fleet, _broken(config, behavior + kbit + "\n", behavior + "8\n"))
    assert [f.rule for f in findings] == ["qos"], findings
    assert "network control" in findings[0].message and f"the intent's {kbit} kbit/s" in findings[0].message
    # a classifier that matches only one of the DSCPs leaves the other to best effort
    narrowed = _broken(config, "traffic classifier NETWORK-CONTROL operator or\n if-match dscp cs6 cs7\n",
                       "traffic classifier NETWORK-CONTROL operator or\n if-match dscp cs6\n")
    findings = _check(fleet, narrowed)
    assert findings and all("cs7" in f.message for f in findings), findings


def test_fortios_protects_its_own_traffic_without_a_class(fleet: Fleet) -> None:
    assert "fortinet" in NO_CONTROL_CLASS and "huawei_vrp" not in NO_CONTROL_CLASS
    config = _store(fleet, "fortinet", SHAPES["dual-wan"])
    assert "traffic-type local-out" not in config.text and "egress-shaping-profile" not in config.text
    assert _check(fleet, config) == []


@pytest.mark.parametrize(
    ("anchor", "added", "why"),
    [
        ("        set outbandwidth ", '        set egress-shaping-profile "WAN"\n',
         "an egress shaping profile on the wan1 link's port"),
        ("config firewall shaping-policy\n",
         '    edit 99\n        set traffic-type local-out\n        set traffic-shaper "QOS-BUSINESS"\n    next\n',
         "a shaping policy on local-out traffic"),
    ],
)
def test_fortios_lint_finds_what_takes_its_own_traffic_out_of_priority_zero(
    fleet: Fleet, anchor: str, added: str, why: str
) -> None:
    config = _store(fleet, "fortinet", SHAPES["dual-wan"])
    at = config.text.index(anchor)
    broken = dataclasses.replace(config, text=config.text[:at] + (anchor + added if anchor.endswith("\n") else added) + config.text[at + (len(anchor) if anchor.endswith("\n") else 0):])
    findings = _check(fleet, broken)
    assert [f.rule for f in findings] == ["qos"], findings
    assert why in findings[0].message and "priority level 0" in findings[0].message
    assert findings[0].line > 0


def test_network_show_says_how_each_platform_keeps_the_control_traffic(fleet: Fleet) -> None:
    store_id = SHAPES["dual-wan"]
    vrp = store_report(NetworkIntent(on_platform(fleet, "huawei_vrp")), store_id)["control_queue"]
    assert vrp == {"dscps": CONTROL, "percent": NETWORK_CONTROL_PERCENT, "no_class_because": None}
    forti = store_report(NetworkIntent(on_platform(fleet, "fortinet")), store_id)["control_queue"]
    assert forti == {"dscps": CONTROL, "percent": None, "no_class_because": NO_CONTROL_CLASS["fortinet"]}


def test_ios_xe_store_queues_pass_the_control_lint(fleet: Fleet) -> None:
    config = _store(fleet, "cisco_xe", SHAPES["dual-wan"])
    assert " class NETWORK-CONTROL\n  bandwidth percent " in config.text
    assert _check(fleet, config) == []


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        # the class left out of a link's queues: CS6/CS7 go to class-default with the bulk
        (f" class NETWORK-CONTROL\n  bandwidth percent {NETWORK_CONTROL_PERCENT}\n", "",
         "no class for the routers' own network control (cs6 cs7)"),
        # the class kept without its guarantee queues as the rest
        (f" class NETWORK-CONTROL\n  bandwidth percent {NETWORK_CONTROL_PERCENT}\n", " class NETWORK-CONTROL\n",
         "no class for the routers' own network control (cs6 cs7)"),
        (f" class NETWORK-CONTROL\n  bandwidth percent {NETWORK_CONTROL_PERCENT}\n",
         " class NETWORK-CONTROL\n  bandwidth percent 9\n",
         f"guarantees the routers' own network control (NETWORK-CONTROL) 9%, not the intent's {NETWORK_CONTROL_PERCENT}%"),
        ("class-map match-any NETWORK-CONTROL\n match dscp cs6 cs7\n",
         "class-map match-any NETWORK-CONTROL\n match dscp cs6\n", "(cs7)"),
    ],
)
def test_ios_xe_lint_finds_a_queue_that_leaves_the_control_traffic_to_the_bulk(
    fleet: Fleet, old: str, new: str, why: str
) -> None:
    config = _store(fleet, "cisco_xe", SHAPES["dual-wan"])
    findings = _check(fleet, _broken(config, old, new))
    assert findings and {f.rule for f in findings} == {"qos"}, findings
    assert why in findings[0].message, findings
    assert findings[0].line > 0
